"""The stream's guarantees against real transactions: an event lives and dies with its
transaction, a retried emission writes nothing, and a reader skips no event whose
transaction commits late (ids commit out of order), however the two interleave.

The interleaving tests commit for real on connections of their own (the order of commits
is the point) and delete their rows afterwards."""

import threading
import time
import uuid

import pytest
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from event_drain import emit_sample as announce
from sfa.events import consumers
from sfa.events import service as events
from sfa.events.models import DomainEvent, EventConsumer, EventFailure, ProcessedEvent
from sfa.events.types import ANNOUNCEMENT_DUE


def count(session: Session, subject: str) -> int:
    return session.scalar(
        select(func.count()).select_from(DomainEvent).where(DomainEvent.subject_id == subject)
    )


def test_an_event_is_rolled_back_with_its_transaction(db):
    subject = f"rollback-{uuid.uuid4()}"
    change = db.begin_nested()
    assert announce(db, subject)
    assert count(db, subject) == 1
    change.rollback()
    assert count(db, subject) == 0


def test_emitting_again_with_the_same_natural_key_writes_nothing(db):
    subject = f"again-{uuid.uuid4()}"
    assert announce(db, subject, key=subject) is True
    assert announce(db, subject, key=subject) is False
    assert count(db, subject) == 1
    event = db.scalar(select(DomainEvent).where(DomainEvent.subject_id == subject))
    assert event.event_id == events.event_key(ANNOUNCEMENT_DUE, subject)
    assert event.actor_kind == "system" and event.actor_id is None


def test_a_payload_its_model_refuses_is_never_written(db):
    with pytest.raises(ValueError, match="not valid"):
        events.emit(
            db,
            ANNOUNCEMENT_DUE,
            subject_kind="announcement",
            subject_id="x",
            actor=events.SYSTEM,
            payload={"announcement_id": "not a number"},
        )
    with pytest.raises(ValueError, match="about a announcement, not a order"):
        events.emit(
            db,
            ANNOUNCEMENT_DUE,
            subject_kind="order",
            subject_id="x",
            actor=events.SYSTEM,
            payload={},
        )


# --- interleaved transactions ----------------------------------------------------------


@pytest.fixture
def committed(engine):
    """Real connections, and a consumer that records the events of this test's subjects;
    every row they leave is deleted afterwards."""
    tag = f"stream-{uuid.uuid4().hex[:8]}"
    seen: list[str] = []

    def handler(session, event):
        if event.subject_id.startswith(tag):
            seen.append(event.subject_id)

    consumers.register(tag, handler, types=[ANNOUNCEMENT_DUE])
    try:
        yield tag, seen
    finally:
        consumers.unregister(tag)
        with Session(engine) as session, session.begin():
            session.execute(delete(DomainEvent).where(DomainEvent.subject_id.startswith(tag)))
            session.execute(delete(ProcessedEvent).where(ProcessedEvent.consumer == tag))
            session.execute(delete(EventFailure).where(EventFailure.consumer == tag))
            session.execute(delete(EventConsumer).where(EventConsumer.name == tag))


def drain(engine, name: str) -> consumers.DrainResult:
    with Session(engine) as session, session.begin():
        return consumers.drain(session, name)


def test_the_lower_id_committing_last_is_still_read_once(engine, committed):
    tag, seen = committed
    with Session(engine) as first, Session(engine) as second:
        first.begin()
        announce(first, f"{tag}-first")  # the lower id
        with second.begin():
            announce(second, f"{tag}-second")  # the higher id, committed first
        low, high = (
            first.scalar(select(DomainEvent.id).where(DomainEvent.subject_id == f"{tag}-first")),
            drain_id(engine, f"{tag}-second"),
        )
        assert low < high
        drain(engine, tag)
        assert seen == []  # the second waits behind the first, still running
        first.commit()
    drain(engine, tag)
    drain(engine, tag)
    assert sorted(seen) == [f"{tag}-first", f"{tag}-second"]


def test_an_older_transaction_with_a_higher_id_does_not_hide_a_younger_one(engine, committed):
    """The case a cursor on `id` alone gets wrong even below the horizon: the older
    transaction takes the higher id and commits first; the younger one, with the lower
    id, commits later. Followed in (txid, id) order, both are read, once each."""
    tag, seen = committed
    with Session(engine) as older, Session(engine) as younger:
        older.begin()
        older.execute(text("SELECT pg_current_xact_id()"))  # its transaction id first
        younger.begin()
        announce(younger, f"{tag}-younger")  # the lower id
        announce(older, f"{tag}-older")  # the higher id
        older.commit()
        drain(engine, tag)
        assert seen == [f"{tag}-older"]
        younger.commit()
    drain(engine, tag)
    drain(engine, tag)
    assert seen == [f"{tag}-older", f"{tag}-younger"]


def drain_id(engine, subject: str) -> int:
    with Session(engine) as session:
        return session.scalar(select(DomainEvent.id).where(DomainEvent.subject_id == subject))


def test_two_drains_at_once_handle_each_event_once(engine, committed):
    tag, seen = committed
    drain(engine, tag)  # the consumer's cursor row exists
    with Session(engine) as session, session.begin():
        for n in range(20):
            announce(session, f"{tag}-{n:02}")
    slow_started = threading.Event()

    def slow(session, event):
        if event.subject_id.startswith(tag):
            slow_started.set()
            time.sleep(0.02)
            seen.append(event.subject_id)

    consumers.register(tag, slow, types=[ANNOUNCEMENT_DUE])
    results: dict[str, consumers.DrainResult] = {}
    first = threading.Thread(target=lambda: results.update(first=drain(engine, tag)))
    first.start()
    assert slow_started.wait(10)
    results["second"] = drain(engine, tag)  # while the first holds the cursor
    first.join()
    results["third"] = drain(engine, tag)  # after it: nothing new
    assert sorted(seen) == [f"{tag}-{n:02}" for n in range(20)]
    assert len(seen) == 20
    assert results["second"].busy == [tag] and results["second"].handled == 0
    assert results["first"].handled >= 20
    with Session(engine) as session:
        processed = session.scalar(
            select(func.count()).select_from(ProcessedEvent).where(ProcessedEvent.consumer == tag)
        )
    assert processed >= 20
