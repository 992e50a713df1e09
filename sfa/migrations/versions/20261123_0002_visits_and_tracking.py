"""visits and tracking: devices, visits, flags, location proposals, pings, days, stops

`pings` is partitioned by month on `at`; partitions are created on demand by the
ingest path (sfa/tracking/partitions.py), so there is no default partition to block
them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _point() -> Geography:
    return Geography(geometry_type="POINT", srid=4326, spatial_index=False)


def upgrade() -> None:
    op.create_table(
        "pings",
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", _point(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("speed_mps", sa.Float(), nullable=True),
        sa.Column("bearing", sa.Float(), nullable=True),
        sa.Column("altitude_m", sa.Float(), nullable=True),
        sa.Column("battery_pct", sa.Float(), nullable=True),
        sa.Column("mock", sa.Boolean(), nullable=False),
        sa.Column("device_id", sa.String(length=120), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("rep_id", "at", name=op.f("pk_pings")),
        postgresql_partition_by="RANGE (at)",
    )
    op.create_table(
        "devices",
        sa.Column("id", sa.String(length=120), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_devices_rep_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
    )
    op.create_index(op.f("ix_devices_rep_id"), "devices", ["rep_id"], unique=False)
    op.create_table(
        "rep_days",
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("coverage", sa.Float(), nullable=False),
        sa.Column("ping_count", sa.Integer(), nullable=False),
        sa.Column("accepted_count", sa.Integer(), nullable=False),
        sa.Column("rejected", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("gaps", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("trips", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_rep_days_rep_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("rep_id", "day", name=op.f("pk_rep_days")),
    )
    op.create_index(
        "ix_rep_days_dirty", "rep_days", ["dirty"], unique=False, postgresql_where="dirty"
    )
    op.create_table(
        "visits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("planned_visit_id", sa.BigInteger(), nullable=True),
        sa.Column("device_id", sa.String(length=120), nullable=True),
        sa.Column("check_in_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "received_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("check_in_position", _point(), nullable=True),
        sa.Column("check_in_accuracy_m", sa.Float(), nullable=True),
        sa.Column("check_in_mock", sa.Boolean(), nullable=False),
        sa.Column(
            "verification_status",
            sa.Enum(
                "verified",
                "too_far",
                "customer_location_unknown",
                "no_position",
                "mock_location",
                name="verification_status",
            ),
            nullable=False,
        ),
        sa.Column("distance_to_customer_m", sa.Float(), nullable=True),
        sa.Column("radius_m", sa.Float(), nullable=True),
        sa.Column("check_out_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("check_out_position", _point(), nullable=True),
        sa.Column("check_out_accuracy_m", sa.Float(), nullable=True),
        sa.Column("check_out_mock", sa.Boolean(), nullable=True),
        sa.Column("check_out_hash", sa.String(length=64), nullable=True),
        sa.Column("dwell_seconds", sa.Integer(), nullable=True),
        sa.Column(
            "dwell_source",
            sa.Enum("check_out", "pings", "not_checked_out", name="dwell_source"),
            nullable=True,
        ),
        sa.Column("local_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_visits_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_visits_rep_id_users"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("rep_id", "client_id", name=op.f("uq_visits_rep_id_client_id")),
    )
    op.create_index(op.f("ix_visits_customer_id"), "visits", ["customer_id"], unique=False)
    op.create_index(
        "ix_visits_rep_id_check_in_at", "visits", ["rep_id", "check_in_at"], unique=False
    )
    op.create_index("ix_visits_rep_id_local_day", "visits", ["rep_id", "local_day"], unique=False)
    op.create_table(
        "customer_location_proposals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("proposed_by", sa.BigInteger(), nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=True),
        sa.Column("position", _point(), nullable=False),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("previous_position", _point(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column(
            "status",
            sa.Enum("pending", "approved", "rejected", name="proposal_status"),
            nullable=False,
        ),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_location_proposals_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_customer_location_proposals_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by"],
            ["users.id"],
            name=op.f("fk_customer_location_proposals_proposed_by_users"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_customer_location_proposals_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_location_proposals")),
    )
    op.create_index(
        op.f("ix_customer_location_proposals_customer_id"),
        "customer_location_proposals",
        ["customer_id"],
        unique=False,
    )
    op.create_table(
        "rep_stops",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("position", _point(), nullable=False),
        sa.Column("n_pings", sa.Integer(), nullable=False),
        sa.Column("spans_gap", sa.Boolean(), nullable=False),
        sa.Column("gap_minutes", sa.Float(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("distance_to_customer_m", sa.Float(), nullable=True),
        sa.Column("visit_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_rep_stops_customer_id_customers"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["rep_id"], ["users.id"], name=op.f("fk_rep_stops_rep_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_rep_stops_visit_id_visits"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rep_stops")),
    )
    op.create_index("ix_rep_stops_rep_id_day", "rep_stops", ["rep_id", "day"], unique=False)
    op.create_table(
        "visit_flags",
        sa.Column("visit_id", sa.BigInteger(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("rep_id", sa.BigInteger(), nullable=False),
        sa.Column("numbers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reason_en", sa.String(length=300), nullable=False),
        sa.Column("reason_id", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["visit_id"],
            ["visits.id"],
            name=op.f("fk_visit_flags_visit_id_visits"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("visit_id", "code", name=op.f("pk_visit_flags")),
    )
    op.create_index(op.f("ix_visit_flags_rep_id"), "visit_flags", ["rep_id"], unique=False)
    op.create_index("ix_rep_stops_position", "rep_stops", ["position"], postgresql_using="gist")


def downgrade() -> None:
    op.drop_index(op.f("ix_visit_flags_rep_id"), table_name="visit_flags")
    op.drop_table("visit_flags")
    op.drop_index("ix_rep_stops_rep_id_day", table_name="rep_stops")
    op.drop_table("rep_stops")
    op.drop_index(
        op.f("ix_customer_location_proposals_customer_id"), table_name="customer_location_proposals"
    )
    op.drop_table("customer_location_proposals")
    op.drop_index("ix_visits_rep_id_local_day", table_name="visits")
    op.drop_index("ix_visits_rep_id_check_in_at", table_name="visits")
    op.drop_index(op.f("ix_visits_customer_id"), table_name="visits")
    op.drop_table("visits")
    op.drop_index("ix_rep_days_dirty", table_name="rep_days", postgresql_where="dirty")
    op.drop_table("rep_days")
    op.drop_index(op.f("ix_devices_rep_id"), table_name="devices")
    op.drop_table("devices")
    op.drop_table("pings")
    for enum_name in ("proposal_status", "dwell_source", "verification_status"):
        sa.Enum(name=enum_name).drop(op.get_bind(), checkfirst=True)
