"""A real headless Chromium (Debian's package, driven by Playwright) against a real
server: the console's end-to-end tests use it.

Playwright cannot download its own browser here, so it drives /usr/bin/chromium
(installed by scripts/packages.sh for `make test`). The flags keep Chromium from calling
Google's hosts on its own (updates, sync, field trials) and let it run as root."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-quic",
    "--metrics-recording-only",
]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(playwright):
    if not shutil.which(CHROMIUM):
        raise RuntimeError(f"{CHROMIUM} is missing: scripts/packages.sh test installs it")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


class Server:
    """The API as a real uvicorn process on a free loopback port, stopped by its pid."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database_url = database_url
        self.env = env or {}
        self.proc: subprocess.Popen | None = None
        self.log = ARTIFACTS / f"server-{self.port}.log"

    def __enter__(self) -> "Server":
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        env = os.environ | {"SFA_DATABASE_URL": self.database_url, "SFA_ENV": "test"} | self.env
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "api.main:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the server did not answer within 30 s")

    def __exit__(self, *exc) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class RequestLog:
    """Every request the browser makes, to prove it calls no other host."""

    def __init__(self, context):
        self.urls: list[str] = []
        context.on("request", lambda request: self.urls.append(request.url))

    def foreign(self, own: str) -> list[str]:
        host = urlsplit(own).netloc
        return [u for u in self.urls if urlsplit(u).netloc != host and not u.startswith("data:")]
