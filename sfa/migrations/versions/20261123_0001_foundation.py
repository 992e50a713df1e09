"""foundation: users, teams, customers, settings, audit, api keys

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

user_role = postgresql.ENUM("rep", "manager", "admin", name="user_role", create_type=False)
location_status = postgresql.ENUM(
    "unknown", "imported", "captured", "approved", name="location_status", create_type=False
)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
    ]


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    user_role.create(op.get_bind(), checkfirst=True)
    location_status.create(op.get_bind(), checkfirst=True)

    op.create_table(
        "teams",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("manager_id", sa.BigInteger(), nullable=True),
        *_timestamps(),
        sa.UniqueConstraint("name", name=op.f("uq_teams_name")),
    )
    op.create_index(op.f("ix_teams_manager_id"), "teams", ["manager_id"])
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254)),
        sa.Column("phone", sa.String(40)),
        sa.Column("role", user_role, nullable=False),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", name=op.f("fk_users_team_id_teams"), ondelete="RESTRICT"),
        ),
        sa.Column("language", sa.String(8)),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        *_timestamps(),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_index(op.f("ix_users_team_id"), "users", ["team_id"])
    op.create_foreign_key(
        op.f("fk_teams_manager_id_users"),
        "teams",
        "users",
        ["manager_id"],
        ["id"],
        ondelete="SET NULL",
    )

    op.create_table(
        "customers",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("code", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("address", sa.String(500)),
        sa.Column("customer_class", sa.String(40), nullable=False),
        sa.Column("phone", sa.String(40)),
        sa.Column("email", sa.String(254)),
        sa.Column("language", sa.String(8)),
        sa.Column("location", Geography(geometry_type="POINT", srid=4326, spatial_index=False)),
        sa.Column("location_status", location_status, nullable=False),
        sa.Column("verify_radius_m", sa.Float()),
        sa.Column("is_distributor", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "distributor_id",
            sa.BigInteger(),
            sa.ForeignKey(
                "customers.id",
                name=op.f("fk_customers_distributor_id_customers"),
                ondelete="RESTRICT",
            ),
        ),
        sa.Column(
            "team_id",
            sa.BigInteger(),
            sa.ForeignKey("teams.id", name=op.f("fk_customers_team_id_teams"), ondelete="RESTRICT"),
        ),
        sa.Column("external_id", sa.String(80)),
        *_timestamps(),
        sa.UniqueConstraint("code", name=op.f("uq_customers_code")),
        sa.UniqueConstraint("external_id", name=op.f("uq_customers_external_id")),
        sa.CheckConstraint(
            "verify_radius_m IS NULL OR verify_radius_m > 0",
            name=op.f("ck_customers_radius_positive"),
        ),
        sa.CheckConstraint(
            "distributor_id IS NULL OR distributor_id <> id",
            name=op.f("ck_customers_not_own_distributor"),
        ),
    )
    op.create_index(op.f("ix_customers_team_id"), "customers", ["team_id"])
    op.create_index(op.f("ix_customers_distributor_id"), "customers", ["distributor_id"])
    # Radius search runs on geography (metres); viewport search on the geometry cast.
    op.create_index("ix_customers_location", "customers", ["location"], postgresql_using="gist")
    op.execute(
        "CREATE INDEX ix_customers_location_geom ON customers USING gist ((location::geometry))"
    )

    op.create_table(
        "company_settings",
        sa.Column("key", sa.String(80), primary_key=True),
        sa.Column("value", postgresql.JSONB(), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("updated_by", sa.String(80)),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("entity", sa.String(60), nullable=False),
        sa.Column("entity_id", sa.String(80), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("old", postgresql.JSONB()),
        sa.Column("new", postgresql.JSONB()),
    )
    op.create_index(op.f("ix_audit_log_entity"), "audit_log", ["entity"])
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("name", sa.String(120), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("secret_hash", sa.String(128), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String(60)), nullable=False),
        sa.Column(
            "created_by",
            sa.BigInteger(),
            sa.ForeignKey(
                "users.id", name=op.f("fk_api_keys_created_by_users"), ondelete="SET NULL"
            ),
        ),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(80), primary_key=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
    )


def downgrade() -> None:
    op.drop_table("login_throttle")
    op.drop_table("api_keys")
    op.drop_table("audit_log")
    op.drop_table("company_settings")
    op.drop_table("customers")
    op.drop_constraint(op.f("fk_teams_manager_id_users"), "teams", type_="foreignkey")
    op.drop_table("users")
    op.drop_table("teams")
    location_status.drop(op.get_bind(), checkfirst=True)
    user_role.drop(op.get_bind(), checkfirst=True)
    # The postgis extension stays: other databases objects may depend on it.
