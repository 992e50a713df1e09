"""The notification outbox, rule switches, announcements and sales targets."""

import enum
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, Money


class Channel(enum.StrEnum):
    email = "email"
    sms = "sms"
    in_app = "in_app"
    push = "push"


class NotificationState(enum.StrEnum):
    pending = "pending"  # waiting for next_attempt_at
    sending = "sending"  # claimed by a sender (claimed_at); being delivered
    sent = "sent"  # the provider accepted it (in-app: visible to the recipient)
    parked = "parked"  # permanent failure or attempts exhausted; last_error says why
    # A sender died between handing an email to the server and marking it: it may or may
    # not have arrived. Never resent automatically; an admin decides (resend).
    uncertain = "uncertain"
    cancelled = "cancelled"  # no longer relevant (invoice paid, rule switched off)


class Notification(Base):
    """One notification to one recipient on one channel: the outbox row.

    Written in the transaction of the event that caused it; `dedupe_key` is unique, so a
    rule that fires twice for the same event enqueues once.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint("attempts >= 0", name="attempts_non_negative"),
        # The sender's claim query: due pending rows, oldest first.
        Index(
            "ix_notifications_due", "next_attempt_at", postgresql_where=text("state = 'pending'")
        ),
        # Lease recovery: rows left 'sending'.
        Index("ix_notifications_sending", "claimed_at", postgresql_where=text("state = 'sending'")),
        # In-app inbox of a user, newest first.
        Index("ix_notifications_user_channel", "recipient_user_id", "channel", "id"),
        # Per-recipient rate limit: sends of one recipient in the last hour.
        Index("ix_notifications_recipient_key_sent_at", "recipient_key", "sent_at"),
        Index("ix_notifications_entity", "entity", "entity_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    rule: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[Channel] = mapped_column(Enum(Channel, name="notification_channel"))
    template: Mapped[str] = mapped_column(String(60))
    language: Mapped[str] = mapped_column(String(8))
    payload: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    recipient_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    recipient_customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    # "user:5" / "customer:7": who the rate limit counts for.
    recipient_key: Mapped[str] = mapped_column(String(60))
    # Email address, phone number or push topic; None for in-app.
    address: Mapped[str | None] = mapped_column(String(254))
    # What the notification is about, for filters and send-time checks ("invoice", 12).
    entity: Mapped[str | None] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[NotificationState] = mapped_column(
        Enum(NotificationState, name="notification_state"), default=NotificationState.pending
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(1000))
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resend_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("notifications.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class NotificationRule(Base):
    """A switch (and parameters) per rule; a rule without a row is on with defaults."""

    __tablename__ = "notification_rules"

    rule: Mapped[str] = mapped_column(String(40), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    params: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_by: Mapped[str | None] = mapped_column(String(80))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class AnnouncementKind(enum.StrEnum):
    price_change = "price_change"
    promotion = "promotion"


class Announcement(Base):
    """A price change or promotion; reps are notified at `effective_at`."""

    __tablename__ = "announcements"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    kind: Mapped[AnnouncementKind] = mapped_column(Enum(AnnouncementKind, name="announcement_kind"))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    effective_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # None: every team the author may address (an admin: all).
    team_ids: Mapped[list[int] | None] = mapped_column(ARRAY(BigInteger))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Target(Base):
    """Visits and sales a manager expects of a rep over a period (inclusive dates)."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("rep_id", "period_start", "period_end"),
        CheckConstraint("period_end >= period_start", name="period_order"),
        CheckConstraint("visits_target >= 0 AND sales_target >= 0", name="non_negative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    visits_target: Mapped[int] = mapped_column(Integer)
    sales_target: Mapped[Decimal] = mapped_column(Money)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
