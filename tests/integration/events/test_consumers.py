"""Consumers: one failing event is parked with its reason and the stream goes on; a
parked event is retried after its backoff; an event already handled is never handled
again. In the test's one transaction (a drain sees its own transaction's events)."""

import uuid
from datetime import timedelta

import pytest

from event_drain import SAMPLE_AT as AT
from event_drain import emit_sample as announce
from sfa.events import consumers


@pytest.fixture
def consumer():
    name = f"test-{uuid.uuid4().hex[:8]}"
    state = {"seen": [], "broken": set()}

    def handler(session, event):
        if not event.subject_id.startswith(name):
            return
        if event.subject_id in state["broken"]:
            raise RuntimeError(f"cannot handle {event.subject_id}")
        state["seen"].append(event.subject_id)

    consumers.register(name, handler, types=["announcement.due"])
    yield name, state
    consumers.unregister(name)


def test_a_failing_event_is_parked_and_the_stream_goes_on(db, consumer):
    name, state = consumer
    for n in range(3):
        announce(db, f"{name}-{n}")
    state["broken"].add(f"{name}-1")

    result = consumers.drain(db, name, now=AT)

    assert state["seen"] == [f"{name}-0", f"{name}-2"]
    assert (result.handled, result.failed) == (2, 1)
    (parked,) = consumers.failures(db, name)
    assert parked.reason == f"RuntimeError: cannot handle {name}-1"
    assert parked.attempts == 1
    assert parked.next_attempt_at == AT + consumers.retry_after(1)

    # Read again: nothing is handled twice, the parked one waits for its time.
    again = consumers.drain(db, name, now=AT + timedelta(seconds=1))
    assert (again.handled, again.failed, again.retried) == (0, 0, 0)
    assert state["seen"] == [f"{name}-0", f"{name}-2"]

    # Still broken at its first retry: parked again, later.
    late = AT + consumers.retry_after(1)
    assert consumers.drain(db, name, now=late).failed == 1
    db.expire_all()
    (parked,) = consumers.failures(db, name)
    assert parked.attempts == 2
    assert parked.next_attempt_at == late + consumers.retry_after(2)

    # Mended: the next retry handles it, and it is no longer parked.
    state["broken"].clear()
    mended = consumers.drain(db, name, now=late + consumers.retry_after(2))
    assert mended.retried == 1
    assert state["seen"] == [f"{name}-0", f"{name}-2", f"{name}-1"]
    assert consumers.failures(db, name) == []


def test_retries_stop_after_the_last_attempt(db, consumer):
    name, state = consumer
    announce(db, f"{name}-x")
    state["broken"].add(f"{name}-x")
    now = AT
    consumers.drain(db, name, now=now)
    for attempt in range(1, consumers.MAX_ATTEMPTS):
        now += consumers.retry_after(attempt)
        consumers.drain(db, name, now=now)
    db.expire_all()
    (parked,) = consumers.failures(db, name)
    assert parked.attempts == consumers.MAX_ATTEMPTS
    assert parked.next_attempt_at is None  # listed, no longer retried
    assert consumers.drain(db, name, now=now + timedelta(days=30)).failed == 0


def test_an_unknown_type_cannot_be_consumed():
    with pytest.raises(ValueError, match="unknown event type"):
        consumers.register("nobody", lambda s, e: None, types=["order.teleported"])
