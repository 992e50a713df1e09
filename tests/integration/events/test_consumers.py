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


def test_at_emit_a_consumer_handles_the_event_in_the_emitting_transaction(db):
    """emit_and_handle runs the consumers that take the type at emit, once: the drain
    skips the event afterwards; a failure is parked for the drain and the emit stands."""
    from event_drain import SAMPLE_AT
    from sfa.events import service as events
    from sfa.events.models import DomainEvent

    name = f"test-{uuid.uuid4().hex[:8]}"
    seen, broken = [], set()

    def handler(session, event):
        if event.subject_id.startswith(name):
            if event.subject_id in broken:
                raise RuntimeError("broken")
            seen.append(event.subject_id)

    consumers.register(name, handler, types=["announcement.due"], at_emit=["announcement.due"])

    def emit(subject):
        return events.emit_and_handle(
            db,
            "announcement.due",
            subject_kind="announcement",
            subject_id=subject,
            actor=events.SYSTEM,
            payload={
                "announcement_id": 1,
                "kind": "promotion",
                "title": subject,
                "team_ids": None,
                "effective_at": SAMPLE_AT,
            },
            event_id=subject,
        )

    try:
        assert emit(f"{name}-a") is True
        assert seen == [f"{name}-a"]  # before any drain
        assert emit(f"{name}-a") is False and seen == [f"{name}-a"]  # once
        broken.add(f"{name}-b")
        assert emit(f"{name}-b") is True  # the event stands, parked for the drain
        (parked,) = consumers.failures(db, name)
        assert parked.reason == "RuntimeError: broken"
        assert db.query(DomainEvent).filter(DomainEvent.subject_id == f"{name}-b").count() == 1
        result = consumers.drain(db, name, now=AT)
        assert (result.handled, result.failed) == (0, 0)
        assert seen == [f"{name}-a"]
    finally:
        consumers.unregister(name)
    with pytest.raises(ValueError, match="does not consume"):
        consumers.register(name, handler, types=["visit.checked_in"], at_emit=["order.submitted"])
