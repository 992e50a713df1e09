"""Webhook subscriptions, their deliveries (one per event and endpoint) and each
delivery's attempts (the delivery log). In each company's database, like every table.

A delivery keeps the exact body it sends: every attempt signs the same bytes under the
same `message_id` (the `webhook-id` header), so a receiver recognises a repeat."""

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, TimestampMixin


class DeliveryState(enum.StrEnum):
    pending = "pending"  # waiting for next_attempt_at (and for earlier ones of its subject)
    sending = "sending"  # claimed by a dispatcher (claimed_at)
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # given up: retries exhausted, 410, or the endpoint was disabled


class WebhookEndpoint(TimestampMixin, Base):
    """A subscription: where to POST which event types, signed with `secret`.

    The secret is kept as given to the receiver (an HMAC key must be known to sign);
    after a rotation `previous_secret` signs too until `previous_secret_expires_at`."""

    __tablename__ = "webhook_endpoints"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # What a workflow's webhook step names (`endpoint`); unique in the company.
    name: Mapped[str] = mapped_column(String(80), unique=True)
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(ARRAY(String(60)))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    secret: Mapped[str] = mapped_column(String(100))
    previous_secret: Mapped[str | None] = mapped_column(String(100))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who is told when the endpoint is disabled: its creator (an API key's creator).
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by: Mapped[str] = mapped_column(String(40))  # "user:5", "api_key:2"
    # Since when every attempt has failed (None: the last one succeeded).
    failing_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """One message to one endpoint: an event of the stream, or a workflow step's call."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # Enqueueing twice (an event read again, a step retried) writes once.
        UniqueConstraint("endpoint_id", "message_id"),
        # The dispatcher's claim: due pending rows.
        Index(
            "ix_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=text("state = 'pending'"),
        ),
        # Order per subject: the earlier open deliveries of an endpoint and subject.
        Index(
            "ix_webhook_deliveries_open_subject",
            "endpoint_id",
            "subject_key",
            "id",
            postgresql_where=text("state IN ('pending', 'sending')"),
        ),
        # The delivery log, newest first.
        Index("ix_webhook_deliveries_endpoint_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    # The `webhook-id` header: the same for every attempt of this event to this endpoint.
    message_id: Mapped[str] = mapped_column(String(60))
    event_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(60))
    # "<subject kind>:<subject id>": deliveries of one subject go out in order.
    subject_key: Mapped[str] = mapped_column(String(130))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[DeliveryState] = mapped_column(
        Enum(DeliveryState, name="webhook_delivery_state"), default=DeliveryState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    # When the event happened (its latency is measured from here).
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    # Retries go on until window_started_at + the retry window (redelivery restarts it).
    window_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status: Mapped[int | None] = mapped_column(SmallInteger)
    last_error: Mapped[str | None] = mapped_column(Text)


class WebhookAttempt(Base):
    """One POST of a delivery: what the receiver answered and how fast."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(SmallInteger)
    error: Mapped[str | None] = mapped_column(Text)
    # The first RESPONSE_BODY_CHARS characters of the answer.
    response_body: Mapped[str | None] = mapped_column(Text)
