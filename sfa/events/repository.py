"""The SQL of the event stream.

Reading rule (docs/events.md, "Reading the stream"): ids come from a sequence when the
row is inserted, not when its transaction commits, so a reader that follows `id` alone
skips an event whose transaction commits after one with a higher id. A reader therefore
reads only events whose transaction is older than every transaction still running —
`txid < pg_snapshot_xmin(pg_current_snapshot())`, the *horizon* — and follows them in
(txid, id) order: no event below the horizon can appear later (no transaction older
than the horizon is still running, and new ones get higher txids), so a cursor on
(txid, id) below the horizon has seen every event before it, exactly once.

A drain also sees the events of its own transaction (a handler's, or a test's single
transaction); those may be above the horizon, so they are handled but never move the
cursor: they are read again later and skipped as processed.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from sfa.db import execute_dml
from sfa.events.models import DomainEvent, EventFailure


@dataclass(frozen=True)
class Event:
    """An event as a consumer receives it."""

    id: int
    event_id: uuid.UUID
    type: str
    occurred_at: datetime
    recorded_at: datetime
    subject_kind: str
    subject_id: str
    actor_kind: str
    actor_id: str | None
    payload: dict
    txid: int


@dataclass(frozen=True)
class Batch:
    events: list[Event]
    # Where the cursor may move: past every event below the horizon that was read (or,
    # when the batch was not full, past the horizon's last event); None: stays.
    advance_to: tuple[int, int] | None


def insert(session: Session, **values) -> bool:
    stmt = (
        pg_insert(DomainEvent)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(DomainEvent.id)
    )
    return session.execute(stmt).first() is not None


def get(session: Session, event_id: uuid.UUID) -> Event | None:
    """One event by its id, as a consumer receives it."""
    row = (
        session.execute(
            text(f"SELECT {_COLUMNS} FROM domain_events WHERE event_id = :e"), {"e": event_id}
        )
        .mappings()
        .first()
    )
    return Event(**row) if row is not None else None


def existing(session: Session, event_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """The ids among `event_ids` of events in the stream."""
    if not event_ids:
        return set()
    found = session.scalars(select(DomainEvent.event_id).where(DomainEvent.event_id.in_(event_ids)))
    return set(found)


_COLUMNS = (
    "id, event_id, type, occurred_at, recorded_at, subject_kind, subject_id, actor_kind, "
    "actor_id, payload, txid::text::bigint AS txid"
)
_HORIZON = text(
    "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint, "
    "pg_current_xact_id_if_assigned()::text::bigint"
)
_BATCH = (
    f"SELECT {_COLUMNS} FROM domain_events "
    "WHERE (txid, id) > (CAST(CAST(:txid AS text) AS xid8), :id) "
    "AND (txid < CAST(CAST(:horizon AS text) AS xid8) "
    "     OR txid = CAST(CAST(:own AS text) AS xid8)) {types} "
    "ORDER BY txid, id LIMIT :limit"
)
_LAST_BELOW = text(
    "SELECT txid::text::bigint, id FROM domain_events "
    "WHERE txid < CAST(CAST(:horizon AS text) AS xid8) ORDER BY txid DESC, id DESC LIMIT 1"
)


def read_batch(
    session: Session, *, after: tuple[int, int], types: list[str] | None, limit: int
) -> Batch:
    """The next events after the cursor `after` = (txid, id), by the reading rule."""
    horizon, own = session.execute(_HORIZON).one()
    sql = _BATCH.format(types="AND type = ANY(:types)" if types is not None else "")
    params = {"txid": after[0], "id": after[1], "horizon": horizon, "own": own or 0}
    rows = session.execute(text(sql), params | {"types": types, "limit": limit}).mappings()
    events = [Event(**row) for row in rows]
    below = [(e.txid, e.id) for e in events if e.txid < horizon]
    if len(events) < limit:
        # Every matching event below the horizon was read: move past the horizon's last
        # event, so that a consumer of rare types does not rescan the others next time.
        last = session.execute(_LAST_BELOW, {"horizon": horizon}).first()
        below.append((last[0], last[1]) if last else (0, 0))
    best = max(below, default=None)
    return Batch(events, best if best is not None and best > after else None)


def lock_cursor(session: Session, consumer: str) -> tuple[int, int] | None:
    """The consumer's cursor, locked for this transaction; None when another drain holds
    it (that drain is processing the same events: this one leaves them to it). A new
    consumer's cursor starts at the beginning of the stream."""
    row = session.execute(
        text(
            "SELECT cursor_txid::text::bigint, cursor_id FROM event_consumers "
            "WHERE name = :n FOR UPDATE SKIP LOCKED"
        ),
        {"n": consumer},
    ).first()
    if row is not None:
        return (row[0], row[1])
    # Missing, or locked. Only a drain making the row at this moment makes this wait.
    made = session.execute(
        text(
            "INSERT INTO event_consumers (name) VALUES (:n) ON CONFLICT (name) DO NOTHING "
            "RETURNING cursor_txid::text::bigint, cursor_id"
        ),
        {"n": consumer},
    ).first()
    return (made[0], made[1]) if made else None


def move_cursor(session: Session, consumer: str, to: tuple[int, int]) -> None:
    session.execute(
        text(
            "UPDATE event_consumers SET cursor_txid = CAST(CAST(:t AS text) AS xid8), "
            "cursor_id = :i, updated_at = now() WHERE name = :n"
        ),
        {"t": to[0], "i": to[1], "n": consumer},
    )


def mark_processed(session: Session, consumer: str, event_id: uuid.UUID) -> bool:
    """Record (consumer, event) as handled; False when it was already."""
    return (
        execute_dml(
            session,
            text(
                "INSERT INTO event_processed (consumer, event_id) VALUES (:c, :e) "
                "ON CONFLICT DO NOTHING"
            ),
            {"c": consumer, "e": event_id},
        )
        == 1
    )


def mark_processed_many(
    session: Session, consumer: str, event_ids: list[uuid.UUID]
) -> set[uuid.UUID]:
    """Record many (consumer, event) pairs in one statement; the events that were new."""
    if not event_ids:
        return set()
    rows = session.scalars(
        text(
            "INSERT INTO event_processed (consumer, event_id) "
            "SELECT :c, unnest(CAST(:ids AS uuid[])) ON CONFLICT DO NOTHING RETURNING event_id"
        ),
        {"c": consumer, "ids": event_ids},
    )
    return set(rows)


def park(
    session: Session, consumer: str, event: Event, reason: str, next_attempt_at: datetime | None
) -> None:
    stmt = pg_insert(EventFailure).values(
        consumer=consumer,
        event_id=event.event_id,
        stream_id=event.id,
        event_type=event.type,
        reason=reason,
        next_attempt_at=next_attempt_at,
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["consumer", "event_id"],
        set_={
            "attempts": EventFailure.attempts + 1,
            "reason": reason,
            "last_failed_at": text("now()"),
            "next_attempt_at": stmt.excluded.next_attempt_at,
        },
    )
    session.execute(stmt)


def due_failures(
    session: Session, consumer: str, now: datetime, limit: int
) -> list[tuple[Event, int]]:
    """Parked events of `consumer` whose retry time has come, oldest first, with the
    attempts made so far (locked, so that two drains never retry the same one)."""
    columns = ", ".join("e." + c for c in _COLUMNS.split(", ")[:-1])
    rows = session.execute(
        text(
            f"SELECT {columns}, e.txid::text::bigint AS txid, f.attempts "
            "FROM event_failures f JOIN domain_events e ON e.event_id = f.event_id "
            "WHERE f.consumer = :c AND f.next_attempt_at <= :now "
            "ORDER BY f.next_attempt_at LIMIT :limit FOR UPDATE OF f SKIP LOCKED"
        ),
        {"c": consumer, "now": now, "limit": limit},
    ).mappings()
    return [
        (Event(**{k: v for k, v in row.items() if k != "attempts"}), row["attempts"])
        for row in rows
    ]


def resolve(session: Session, consumer: str, event_id: uuid.UUID) -> None:
    session.execute(
        text("DELETE FROM event_failures WHERE consumer = :c AND event_id = :e"),
        {"c": consumer, "e": event_id},
    )


def failures(session: Session, consumer: str | None) -> list[EventFailure]:
    stmt = select(EventFailure).order_by(EventFailure.first_failed_at, EventFailure.stream_id)
    if consumer is not None:
        stmt = stmt.where(EventFailure.consumer == consumer)
    return list(session.scalars(stmt))
