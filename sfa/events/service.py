"""Emitting events: `emit` writes one event row in the caller's transaction (the
transactional outbox), so the event exists exactly when the change it records does.

An event with a natural key (a visit's check-in, an invoice overdue on its due date) gets
a deterministic `event_id` — `event_key(type, key)` — so emitting it again (a retried
request, a job run twice) writes nothing.

`emit_and_handle` also runs, in the same transaction, the consumers that take the type
at emit (sfa/events/consumers.py): what they decide is there when the caller's
transaction commits (an order's discount approval in the submit's response)."""

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sfa.events import consumers, repository, types
from sfa.events.registry import EventType, InvalidEvent, Payload, all_types, get

# The namespace of deterministic event ids (uuid5 of "<type>:<key>").
EVENT_NAMESPACE = uuid.UUID("6f1d3c2e-8a4b-5c6d-9e0f-1a2b3c4d5e6f")
ACTOR_KINDS = ("user", "system", "erp", "api_key")


@dataclass(frozen=True)
class Actor:
    kind: str  # one of ACTOR_KINDS
    id: str | None = None

    @classmethod
    def of(cls, who: object) -> "Actor":
        """The actor of a `Principal` (kind "user" or "api_key", and its id), or of an
        audit actor string ("user:5", "api_key:2", "system", "erp")."""
        if isinstance(who, str):
            kind, _, ident = who.partition(":")
            return cls(kind, ident or None)
        return cls(str(getattr(who, "kind")), str(getattr(who, "id")))  # noqa: B009


SYSTEM = Actor("system")
ERP = Actor("erp")


def event_types() -> list[EventType]:
    """Every event type (the catalogue, `types`, is loaded with this module)."""
    assert types.ORDER_APPROVED  # the catalogue is imported for its registrations
    return all_types()


def event_key(event_type: str, key: str | int) -> uuid.UUID:
    """The deterministic id of the `event_type` event of natural key `key`."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{event_type}:{key}")


def emitted(session: Session, event_type: str, keys: Iterable[str | int]) -> set[str | int]:
    """The natural keys among `keys` whose `event_type` event exists already: a job that
    looks back over days it saw before skips them in one query, not one INSERT each."""
    by_id = {event_key(event_type, key): key for key in keys}
    return {by_id[found] for found in repository.existing(session, list(by_id))}


def _identity(event_type: str, event_id: uuid.UUID | str | int | None) -> uuid.UUID:
    if event_id is None:
        return uuid.uuid4()
    if isinstance(event_id, uuid.UUID):
        return event_id
    return event_key(event_type, event_id)


def emit(
    session: Session,
    event_type: str,
    *,
    subject_kind: str,
    subject_id: str | int,
    actor: Actor,
    payload: Payload | dict,
    event_id: uuid.UUID | str | int | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """Validate and write one event in the caller's transaction; returns whether it was
    written (False: an event of this id exists already). `event_id` is a uuid, or a
    natural key turned into one by `event_key`; None makes a random one."""
    kind = get(event_type)
    if subject_kind != kind.subject_kind:
        raise InvalidEvent(f"{event_type} is about a {kind.subject_kind}, not a {subject_kind}")
    if actor.kind not in ACTOR_KINDS:
        raise InvalidEvent(f"actor kind {actor.kind!r} is not one of {', '.join(ACTOR_KINDS)}")
    return repository.insert(
        session,
        event_id=_identity(event_type, event_id),
        type=event_type,
        occurred_at=occurred_at or datetime.now(UTC),
        subject_kind=subject_kind,
        subject_id=str(subject_id),
        actor_kind=actor.kind,
        actor_id=actor.id,
        payload=kind.validate(payload),
    )


def emit_and_handle(
    session: Session,
    event_type: str,
    *,
    subject_kind: str,
    subject_id: str | int,
    actor: Actor,
    payload: Payload | dict,
    event_id: uuid.UUID | str | int | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """`emit`, then run the consumers that take `event_type` at emit on the new event, in
    this transaction (each marks it processed, so the drain does not run it again; one
    that fails is parked for the drain's retries, and the caller's change stands).
    Returns whether the event was written; an event that existed is not handled again."""
    ident = _identity(event_type, event_id)
    written = emit(
        session,
        event_type,
        subject_kind=subject_kind,
        subject_id=subject_id,
        actor=actor,
        payload=payload,
        event_id=ident,
        occurred_at=occurred_at,
    )
    event = repository.get(session, ident) if written else None
    if event is not None:
        consumers.handle_at_emit(session, event)
    return written
