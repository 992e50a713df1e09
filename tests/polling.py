"""Waiting for something another thread or process does (a notification, a reconnect)."""

import time


def wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached within {seconds:g} s")
        time.sleep(0.02)
