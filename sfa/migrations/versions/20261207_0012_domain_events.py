"""domain events: the stream (transactional outbox) and its consumers' cursors

domain_events: one row per domain change, written in the change's transaction; `txid`
(the writing transaction) lets readers skip nothing although ids commit out of order
(docs/events.md). event_consumers: one cursor per consumer; event_processed: the
(consumer, event) pairs handled; event_failures: events a handler failed on, parked.

Revision ID: 0012
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0017"
branch_labels = None
depends_on = None


class _Xid8(sa.types.UserDefinedType):
    cache_ok = True

    def get_col_spec(self, **kw) -> str:
        return "xid8"


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "domain_events",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("type", sa.String(length=60), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.String(length=80), nullable=False),
        sa.Column("actor_kind", sa.String(length=10), nullable=False),
        sa.Column("actor_id", sa.String(length=80), nullable=True),
        sa.Column("payload", postgresql.JSONB(), nullable=False),
        sa.Column("txid", _Xid8(), server_default=sa.text("pg_current_xact_id()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_domain_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_domain_events_event_id")),
    )
    op.create_index("ix_domain_events_txid_id", "domain_events", ["txid", "id"])
    op.create_index("ix_domain_events_subject", "domain_events", ["subject_kind", "subject_id"])
    op.create_table(
        "event_consumers",
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("cursor_txid", _Xid8(), server_default=sa.text("'0'::xid8"), nullable=False),
        sa.Column("cursor_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_event_consumers")),
    )
    op.create_table(
        "event_processed",
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_event_processed")),
    )
    op.create_table(
        "event_failures",
        sa.Column("consumer", sa.String(length=80), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("stream_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=60), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "first_failed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column(
            "last_failed_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False
        ),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("consumer", "event_id", name=op.f("pk_event_failures")),
    )
    op.create_index("ix_event_failures_next_attempt_at", "event_failures", ["next_attempt_at"])


def downgrade() -> None:
    op.drop_table("event_failures")
    op.drop_table("event_processed")
    op.drop_table("event_consumers")
    op.drop_table("domain_events")
