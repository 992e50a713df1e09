"""The event stream and what its consumers keep: a cursor each, the events each has
handled, and the events a handler failed on (parked, retried with backoff)."""

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, Text, func, text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.dialects.postgresql.base import ischema_names
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import UserDefinedType

from sfa.db import Base


class Xid8(UserDefinedType):
    """PostgreSQL's 64-bit transaction id (`xid8`); read and written as text."""

    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "xid8"


# Reflection (Alembic's model-vs-migration comparison) then knows the type.
ischema_names.setdefault("xid8", Xid8)


class DomainEvent(Base):
    """One domain change, written in the transaction of the change. `id` is the stream
    position; `txid` the writing transaction, which the readers need because ids are
    taken before commit and so commit out of order (sfa/events/repository.py)."""

    __tablename__ = "domain_events"
    __table_args__ = (
        # The readers' order (repository.py) and the look-up of a subject's events.
        Index("ix_domain_events_txid_id", "txid", "id"),
        Index("ix_domain_events_subject", "subject_kind", "subject_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    type: Mapped[str] = mapped_column(String(60))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    subject_kind: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(80))
    actor_kind: Mapped[str] = mapped_column(String(10))  # user | system | erp | api_key
    actor_id: Mapped[str | None] = mapped_column(String(80))
    payload: Mapped[dict] = mapped_column(JSONB)
    txid: Mapped[str] = mapped_column(Xid8(), server_default=text("pg_current_xact_id()"))


class EventConsumer(Base):
    """A consumer's cursor: the last (txid, id) it has read past. Locked by a drain."""

    __tablename__ = "event_consumers"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    cursor_txid: Mapped[str] = mapped_column(Xid8(), server_default=text("'0'::xid8"))
    cursor_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ProcessedEvent(Base):
    """(consumer, event) handled: the effect is done once however often it is read."""

    __tablename__ = "event_processed"

    consumer: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class EventFailure(Base):
    """An event a consumer's handler failed on, parked with the reason; a later drain
    retries it when `next_attempt_at` is reached (None: retries exhausted)."""

    __tablename__ = "event_failures"
    __table_args__ = (Index("ix_event_failures_next_attempt_at", "next_attempt_at"),)

    consumer: Mapped[str] = mapped_column(String(80), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    stream_id: Mapped[int] = mapped_column(BigInteger)
    event_type: Mapped[str] = mapped_column(String(60))
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    reason: Mapped[str] = mapped_column(Text)
    first_failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_failed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
