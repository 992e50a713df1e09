"""Consumers of the event stream: each has a name, a handler and the types it wants, and
reads the stream with its own cursor (docs/events.md, "Consumers").

`drain` delivers each event at least once and takes its effect once:

* the consumer's cursor row is locked (`FOR UPDATE SKIP LOCKED`): two schedulers never
  process the same consumer at once (the second leaves it to the first);
* each event runs in a SAVEPOINT with its (consumer, event) row in `event_processed`,
  written in that same savepoint: an event already there is skipped, and a crash rolls
  both back (the event is read again: at least once, effect once);
* a handler that raises has its savepoint rolled back and the event is parked in
  `event_failures` with the reason; the stream goes on, and a later drain retries the
  parked event after a backoff (`RETRY_AFTER`), `MAX_ATTEMPTS` times in all.

A handler is `handler(session, event) -> None`, runs in the drain's transaction and must
not commit; anything it writes commits with the cursor.

A consumer may also `prepare` each batch (`prepare(session, events) -> Plan`): look up
once what every event of the batch needs (the workflow engine: its active workflows, which
event types runs wait for) and say which events can have an effect at all. The others are
recorded processed together, in one statement, without a savepoint or the handler; the
wanted ones go through the handler as above, the plan's own handler if it gives one (one
that uses the batch's lookups). A `prepare` that raises fails nothing: the batch is
delivered event by event as without it.

A consumer may also take some types *at emit* (`at_emit`): `handle_at_emit` runs it on
such an event in the emitting transaction, right after the event is written
(`sfa.events.service.emit_and_handle`), through the same savepoint and `event_processed`
row as a drain, so the drain that reads the event later skips it. The workflow engine
takes `order.submitted` so: the discount decision is in the submit's response.
"""

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sfa.events import repository
from sfa.events import types as _catalogue  # noqa: F401 - registers the event types
from sfa.events.models import EventFailure
from sfa.events.registry import get
from sfa.events.repository import Event

log = logging.getLogger("sfa.events")

Handler = Callable[[Session, Event], None]
MAX_ATTEMPTS = 8
REASON_CHARS = 2000


def retry_after(attempts: int) -> timedelta:
    """The wait before retry number `attempts`: 30 s, doubling, at most 6 h."""
    return min(timedelta(seconds=30) * 2 ** (attempts - 1), timedelta(hours=6))


@dataclass(frozen=True)
class Plan:
    """What a consumer's `prepare` found for one batch."""

    wanted: Collection[uuid.UUID]  # the events that may take an effect: handled one by one
    handler: Handler | None = None  # for this batch's wanted events; None: the consumer's
    # All the wanted events in one go, in one savepoint (the workflow engine advances a
    # batch of runs with a few statements for all). When it raises, the savepoint takes
    # the lot back and each event is handled alone by `handler`, as without it.
    handle_all: Callable[[Session, list[Event]], None] | None = None


Prepare = Callable[[Session, list[Event]], Plan]


@dataclass(frozen=True)
class Consumer:
    name: str
    handler: Handler
    types: tuple[str, ...] | None = None
    prepare: Prepare | None = None
    # The types it handles in the emitting transaction (handle_at_emit), not only later.
    at_emit: tuple[str, ...] = ()


@dataclass
class DrainResult:
    handled: int = 0
    skipped: int = 0  # already processed (read again)
    failed: int = 0
    retried: int = 0
    busy: list[str] = field(default_factory=list)  # consumers another drain holds

    def __add__(self, other: "DrainResult") -> "DrainResult":
        return DrainResult(
            self.handled + other.handled,
            self.skipped + other.skipped,
            self.failed + other.failed,
            self.retried + other.retried,
            self.busy + other.busy,
        )


_CONSUMERS: dict[str, Consumer] = {}


def register(
    name: str,
    handler: Handler,
    types: list[str] | None = None,
    *,
    at_emit: list[str] | None = None,
    prepare: Prepare | None = None,
) -> Consumer:
    """Register (or replace) the consumer `name`; `types` None means every event type;
    `at_emit`: the types it also handles in the emitting transaction; `prepare`: its
    batch plan."""
    for event_type in [*(types or ()), *(at_emit or ())]:
        get(event_type)  # an unknown type is a bug: fail at start-up, not at drain time
    if types is not None and not set(at_emit or ()) <= set(types):
        raise ValueError(f"consumer {name!r} takes at emit types it does not consume")
    consumer = Consumer(
        name,
        handler,
        tuple(types) if types is not None else None,
        prepare,
        tuple(at_emit or ()),
    )
    _CONSUMERS[name] = consumer
    return consumer


def registered() -> list[Consumer]:
    return sorted(_CONSUMERS.values(), key=lambda c: c.name)


def unregister(name: str) -> None:
    _CONSUMERS.pop(name, None)


def _reason(consumer: Consumer, event: Event, exc: Exception) -> str:
    log.exception("consumer %s failed on event %s (%s)", consumer.name, event.id, event.type)
    return f"{type(exc).__name__}: {exc}"[:REASON_CHARS]


def _run(
    session: Session, consumer: Consumer, event: Event, handler: Handler | None = None
) -> str | None:
    """Run the handler in a savepoint; the failure's reason, or None."""
    try:
        with session.begin_nested():
            (handler or consumer.handler)(session, event)
    except Exception as exc:
        return _reason(consumer, event, exc)
    return None


def _deliver(
    session: Session, consumer: Consumer, event: Event, now: datetime, handler: Handler
) -> str:
    """One event from the stream: "handled", "skipped" (processed before) or "failed"."""
    try:
        with session.begin_nested():
            if not repository.mark_processed(session, consumer.name, event.event_id):
                return "skipped"
            handler(session, event)
    except Exception as exc:
        reason = _reason(consumer, event, exc)
        # Delivered, but parked: processed (the stream never hands it over again) and
        # failed (the retries take it from `event_failures`).
        repository.mark_processed(session, consumer.name, event.event_id)
        repository.park(session, consumer.name, event, reason, now + retry_after(1))
        return "failed"
    return "handled"


def handle_at_emit(session: Session, event: Event, *, now: datetime | None = None) -> int:
    """Run the consumers that take `event`'s type at emit, each as a drain would (its
    savepoint, its `event_processed` row, parked on failure); how many handled it."""
    now = now or datetime.now(UTC)
    handled = 0
    for consumer in registered():
        if event.type in consumer.at_emit:
            handled += _deliver(session, consumer, event, now, consumer.handler) == "handled"
    return handled


def _retry(session: Session, consumer: Consumer, now: datetime, limit: int) -> DrainResult:
    result = DrainResult()
    for event, attempts in repository.due_failures(session, consumer.name, now, limit):
        reason = _run(session, consumer, event)
        if reason is None:
            repository.resolve(session, consumer.name, event.event_id)
            result.retried += 1
            continue
        attempts += 1
        later = now + retry_after(attempts) if attempts < MAX_ATTEMPTS else None
        repository.park(session, consumer.name, event, reason, later)
        result.failed += 1
    return result


def _plan(session: Session, consumer: Consumer, events: list[Event]) -> Plan | None:
    if consumer.prepare is None or not events:
        return None
    try:
        with session.begin_nested():
            plan = consumer.prepare(session, events)
    except Exception:
        log.exception("consumer %s: preparing a batch failed; one event at a time", consumer.name)
        return None
    return Plan(set(plan.wanted), plan.handler, plan.handle_all)


def _deliver_together(
    session: Session, consumer: Consumer, events: list[Event], now: datetime, plan: Plan
) -> DrainResult:
    """The plan's wanted events through `handle_all`; one at a time when that fails."""
    assert plan.handle_all is not None
    new = repository.mark_processed_many(session, consumer.name, [e.event_id for e in events])
    fresh = [e for e in events if e.event_id in new]
    result = DrainResult(skipped=len(events) - len(fresh))
    if not fresh:
        return result
    try:
        with session.begin_nested():
            plan.handle_all(session, fresh)
    except Exception:
        log.warning(
            "consumer %s: a batch of %d events failed together; handling them one at a time",
            consumer.name,
            len(fresh),
            exc_info=True,
        )
    else:
        result.handled = len(fresh)
        return result
    for event in fresh:
        reason = _run(session, consumer, event, plan.handler)
        if reason is None:
            result.handled += 1
            continue
        # Processed already (marked above): parked for the retries, as _deliver does.
        repository.park(session, consumer.name, event, reason, now + retry_after(1))
        result.failed += 1
    return result


def drain_one(
    session: Session, consumer: Consumer, *, batch: int = 500, now: datetime | None = None
) -> DrainResult:
    """One batch of `consumer`, plus its parked events due for a retry."""
    now = now or datetime.now(UTC)
    cursor = repository.lock_cursor(session, consumer.name)
    if cursor is None:
        return DrainResult(busy=[consumer.name])
    types = list(consumer.types) if consumer.types is not None else None
    read = repository.read_batch(session, after=cursor, types=types, limit=batch)
    result, events, handler = DrainResult(), read.events, consumer.handler
    plan = _plan(session, consumer, events)
    if plan is not None:
        quiet = [e.event_id for e in events if e.event_id not in plan.wanted]
        new = repository.mark_processed_many(session, consumer.name, quiet)
        result.handled, result.skipped = len(new), len(quiet) - len(new)
        events = [e for e in events if e.event_id in plan.wanted]
        handler = plan.handler or handler
        if plan.handle_all is not None:
            result += _deliver_together(session, consumer, events, now, plan)
            events = []
    for event in events:
        outcome = _deliver(session, consumer, event, now, handler)
        setattr(result, outcome, getattr(result, outcome) + 1)
    if read.advance_to is not None:
        repository.move_cursor(session, consumer.name, read.advance_to)
    session.flush()
    return result + _retry(session, consumer, now, batch)


def drain(
    session: Session, name: str | None = None, *, batch: int = 500, now: datetime | None = None
) -> DrainResult:
    """Drain the consumer `name` (every registered consumer when None) by one batch each,
    in the caller's transaction."""
    if name is not None and name not in _CONSUMERS:
        raise KeyError(f"no consumer named {name!r} is registered")
    chosen = [_CONSUMERS[name]] if name is not None else registered()
    result = DrainResult()
    for consumer in chosen:
        result += drain_one(session, consumer, batch=batch, now=now)
    return result


def failures(session: Session, consumer: str | None = None) -> list[EventFailure]:
    """The parked events (of one consumer, or all), oldest first."""
    return repository.failures(session, consumer)
