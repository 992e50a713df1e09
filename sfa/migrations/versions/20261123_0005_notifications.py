"""notifications: outbox, rule switches, announcements, targets, order delivery date

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_rules",
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "params", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("updated_by", sa.String(length=80), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("rule", name=op.f("pk_notification_rules")),
    )
    op.create_table(
        "announcements",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column(
            "kind", sa.Enum("price_change", "promotion", name="announcement_kind"), nullable=False
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("team_ids", postgresql.ARRAY(sa.BigInteger()), nullable=True),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_announcements_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcements")),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.String(length=40), nullable=False),
        sa.Column(
            "channel",
            sa.Enum("email", "sms", "in_app", "push", name="notification_channel"),
            nullable=False,
        ),
        sa.Column("template", sa.String(length=60), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column(
            "payload", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("recipient_user_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_customer_id", sa.BigInteger(), nullable=True),
        sa.Column("recipient_key", sa.String(length=60), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=True),
        sa.Column("entity", sa.String(length=40), nullable=True),
        sa.Column("entity_id", sa.BigInteger(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "sending",
                "sent",
                "parked",
                "uncertain",
                "cancelled",
                name="notification_state",
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=1000), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("provider_ref", sa.String(length=200), nullable=True),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resend_of_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_notifications_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["recipient_customer_id"],
            ["customers.id"],
            name=op.f("fk_notifications_recipient_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recipient_user_id"],
            ["users.id"],
            name=op.f("fk_notifications_recipient_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resend_of_id"],
            ["notifications.id"],
            name=op.f("fk_notifications_resend_of_id_notifications"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index(
        "ix_notifications_due",
        "notifications",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        "ix_notifications_entity", "notifications", ["entity", "entity_id"], unique=False
    )
    op.create_index(
        op.f("ix_notifications_recipient_customer_id"),
        "notifications",
        ["recipient_customer_id"],
        unique=False,
    )
    op.create_index(
        "ix_notifications_recipient_key_sent_at",
        "notifications",
        ["recipient_key", "sent_at"],
        unique=False,
    )
    op.create_index(op.f("ix_notifications_rule"), "notifications", ["rule"], unique=False)
    op.create_index(
        "ix_notifications_sending",
        "notifications",
        ["claimed_at"],
        unique=False,
        postgresql_where=sa.text("state = 'sending'"),
    )
    op.create_index(
        "ix_notifications_user_channel",
        "notifications",
        ["recipient_user_id", "channel", "id"],
        unique=False,
    )
    op.create_table(
        "targets",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("visits_target", sa.Integer(), nullable=False),
        sa.Column("sales_target", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("period_end >= period_start", name=op.f("ck_targets_period_order")),
        sa.CheckConstraint(
            "visits_target >= 0 AND sales_target >= 0", name=op.f("ck_targets_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_targets_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_targets_rep_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint(
            "rep_id",
            "period_start",
            "period_end",
            name=op.f("uq_targets_rep_id_period_start_period_end"),
        ),
    )
    op.create_index(op.f("ix_targets_rep_id"), "targets", ["rep_id"], unique=False)
    op.add_column("orders", sa.Column("delivery_date", sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column("orders", "delivery_date")
    op.drop_index(op.f("ix_targets_rep_id"), table_name="targets")
    op.drop_table("targets")
    op.drop_index("ix_notifications_user_channel", table_name="notifications")
    op.drop_index(
        "ix_notifications_sending",
        table_name="notifications",
        postgresql_where=sa.text("state = 'sending'"),
    )
    op.drop_index(op.f("ix_notifications_rule"), table_name="notifications")
    op.drop_index("ix_notifications_recipient_key_sent_at", table_name="notifications")
    op.drop_index(op.f("ix_notifications_recipient_customer_id"), table_name="notifications")
    op.drop_index("ix_notifications_entity", table_name="notifications")
    op.drop_index(
        "ix_notifications_due",
        table_name="notifications",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_table("notifications")
    op.drop_table("announcements")
    op.drop_table("notification_rules")
    for enum_name in ("notification_state", "notification_channel", "announcement_kind"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
