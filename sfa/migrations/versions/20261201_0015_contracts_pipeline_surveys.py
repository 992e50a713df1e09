"""contracts and renewal routing (CURE), pipelines with stage history, pulse surveys

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# Created once up front: several tables share them.
stage_outcome = postgresql.ENUM("open", "won", "lost", name="stage_outcome", create_type=False)
renewal_role = postgresql.ENUM(
    "account_manager",
    "renewal_manager",
    "customer_success",
    "sales_rep",
    name="renewal_role",
    create_type=False,
)
contract_status = postgresql.ENUM(
    "draft",
    "active",
    "renewal_due",
    "renewed",
    "churned",
    "cancelled",
    name="contract_status",
    create_type=False,
)
survey_cadence = postgresql.ENUM(
    "weekly", "monthly", "quarterly", name="survey_cadence", create_type=False
)
opportunity_kind = postgresql.ENUM(
    "lead", "opportunity", name="opportunity_kind", create_type=False
)
_ENUMS = (stage_outcome, renewal_role, contract_status, survey_cadence, opportunity_kind)


def upgrade() -> None:
    for enum in _ENUMS:
        enum.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "pipelines",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default="false", nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipelines")),
        sa.UniqueConstraint("name", name=op.f("uq_pipelines_name")),
    )
    op.create_table(
        "pipeline_stages",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("position", sa.SmallInteger(), nullable=False),
        sa.Column("probability", sa.Numeric(precision=5, scale=2), nullable=False),
        sa.Column("outcome", stage_outcome, nullable=False),
        sa.CheckConstraint(
            "probability BETWEEN 0 AND 100", name=op.f("ck_pipeline_stages_probability_range")
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_pipeline_stages_pipeline_id_pipelines"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pipeline_stages")),
        sa.UniqueConstraint(
            "pipeline_id", "name", name=op.f("uq_pipeline_stages_pipeline_id_name")
        ),
        sa.UniqueConstraint(
            "pipeline_id", "position", name=op.f("uq_pipeline_stages_pipeline_id_position")
        ),
    )
    op.create_table(
        "contract_staff",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("role", renewal_role, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contract_staff_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "role", name=op.f("pk_contract_staff")),
    )
    op.create_table(
        "contracts",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("acv", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("notice_days", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", contract_status, nullable=False),
        sa.Column("upsell_score", sa.SmallInteger(), nullable=True),
        sa.Column("enterprise", sa.Boolean(), nullable=True),
        sa.Column("stakeholders", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=2000), nullable=True),
        sa.Column("renewal_of_id", sa.BigInteger(), nullable=True),
        sa.Column("renewal_owner_id", sa.BigInteger(), nullable=True),
        sa.Column("renewal_mode", sa.String(length=20), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=True),
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
        sa.CheckConstraint("acv >= 0", name=op.f("ck_contracts_acv_non_negative")),
        sa.CheckConstraint("end_date >= start_date", name=op.f("ck_contracts_dates_ordered")),
        sa.CheckConstraint("notice_days >= 0", name=op.f("ck_contracts_notice_non_negative")),
        sa.CheckConstraint("renewal_of_id <> id", name=op.f("ck_contracts_not_own_renewal")),
        sa.CheckConstraint(
            "stakeholders >= 0", name=op.f("ck_contracts_stakeholders_non_negative")
        ),
        sa.CheckConstraint(
            "upsell_score BETWEEN 0 AND 100", name=op.f("ck_contracts_upsell_score_range")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contracts_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["renewal_of_id"],
            ["contracts.id"],
            name=op.f("fk_contracts_renewal_of_id_contracts"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["renewal_owner_id"],
            ["users.id"],
            name=op.f("fk_contracts_renewal_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contracts")),
        sa.UniqueConstraint("renewal_of_id", name=op.f("uq_contracts_renewal_of_id")),
    )
    op.create_index(op.f("ix_contracts_customer_id"), "contracts", ["customer_id"], unique=False)
    op.create_index("ix_contracts_end_date", "contracts", ["end_date"], unique=False)
    op.create_index(
        "ix_contracts_renewal_owner_id_status",
        "contracts",
        ["renewal_owner_id", "status"],
        unique=False,
    )
    op.create_table(
        "surveys",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("cadence", survey_cadence, nullable=False),
        sa.Column("questions", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("enps_key", sa.String(length=40), nullable=True),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
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
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_surveys_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_surveys_team_id_teams"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
    )
    op.create_index(op.f("ix_surveys_team_id"), "surveys", ["team_id"], unique=False)
    op.create_table(
        "contract_roles",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("role", renewal_role, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_roles_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_contract_roles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contract_id", "role", name=op.f("pk_contract_roles")),
    )
    op.create_index(op.f("ix_contract_roles_user_id"), "contract_roles", ["user_id"], unique=False)
    op.create_table(
        "contract_status_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("status", contract_status, nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_status_history_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract_status_history")),
    )
    op.create_index(
        "ix_contract_status_history_contract_id",
        "contract_status_history",
        ["contract_id", "entered_at"],
        unique=False,
    )
    op.create_table(
        "contract_upsell_products",
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column("product_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_contract_upsell_products_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
            name=op.f("fk_contract_upsell_products_product_id_products"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint(
            "contract_id", "product_id", name=op.f("pk_contract_upsell_products")
        ),
    )
    op.create_table(
        "opportunities",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column("request_hash", sa.String(length=64), nullable=True),
        sa.Column("created_by_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", opportunity_kind, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("pipeline_id", sa.BigInteger(), nullable=False),
        sa.Column("stage_id", sa.BigInteger(), nullable=False),
        sa.Column("customer_id", sa.BigInteger(), nullable=True),
        sa.Column("prospect_name", sa.String(length=200), nullable=True),
        sa.Column("prospect_phone", sa.String(length=40), nullable=True),
        sa.Column("prospect_email", sa.String(length=254), nullable=True),
        sa.Column(
            "location",
            Geography(geometry_type="POINT", srid=4326, spatial_index=False),
            nullable=True,
        ),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("expected_close", sa.Date(), nullable=True),
        sa.Column("probability", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=True),
        sa.Column("lost_reason", sa.String(length=200), nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("reached_position", sa.SmallInteger(), nullable=True),
        sa.Column("contract_id", sa.BigInteger(), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stage_entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
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
        sa.CheckConstraint("amount >= 0", name=op.f("ck_opportunities_amount_non_negative")),
        sa.CheckConstraint(
            "customer_id IS NOT NULL OR prospect_name IS NOT NULL",
            name=op.f("ck_opportunities_customer_or_prospect"),
        ),
        sa.CheckConstraint(
            "probability BETWEEN 0 AND 100", name=op.f("ck_opportunities_probability_range")
        ),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_opportunities_contract_id_contracts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_opportunities_created_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_opportunities_customer_id_customers"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_opportunities_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name=op.f("fk_opportunities_pipeline_id_pipelines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["pipeline_stages.id"],
            name=op.f("fk_opportunities_stage_id_pipeline_stages"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_opportunities_team_id_teams"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunities")),
        sa.UniqueConstraint(
            "created_by_id", "client_id", name=op.f("uq_opportunities_created_by_id_client_id")
        ),
    )
    op.create_index(
        op.f("ix_opportunities_contract_id"), "opportunities", ["contract_id"], unique=False
    )
    op.create_index(
        op.f("ix_opportunities_customer_id"), "opportunities", ["customer_id"], unique=False
    )
    op.create_index(
        "ix_opportunities_location",
        "opportunities",
        ["location"],
        unique=False,
        postgresql_using="gist",
    )
    op.create_index(
        "ix_opportunities_owner_id_opened_at",
        "opportunities",
        ["owner_id", "opened_at"],
        unique=False,
    )
    op.create_index(
        "ix_opportunities_pipeline_id_closed_at",
        "opportunities",
        ["pipeline_id", "closed_at"],
        unique=False,
    )
    op.create_index(op.f("ix_opportunities_stage_id"), "opportunities", ["stage_id"], unique=False)
    op.create_index(
        "ix_opportunities_team_id_opened_at",
        "opportunities",
        ["team_id", "opened_at"],
        unique=False,
    )
    op.create_table(
        "renewal_decisions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("contract_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "decided_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("actor", sa.String(length=80), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.BigInteger(), nullable=True),
        sa.Column("owner_name", sa.String(length=200), nullable=True),
        sa.Column("owner_role", sa.String(length=40), nullable=True),
        sa.Column("enterprise", sa.Boolean(), nullable=False),
        sa.Column("upsell", sa.Boolean(), nullable=False),
        sa.Column("create_opportunity", sa.Boolean(), nullable=False),
        sa.Column("auto_renew", sa.Boolean(), nullable=False),
        sa.Column("reminder_days", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("summary_en", sa.String(length=2000), nullable=False),
        sa.Column("summary_id", sa.String(length=2000), nullable=False),
        sa.Column("facts", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("policy", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["contract_id"],
            ["contracts.id"],
            name=op.f("fk_renewal_decisions_contract_id_contracts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_renewal_decisions_owner_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_decisions")),
    )
    op.create_index(
        "ix_renewal_decisions_contract_id_id",
        "renewal_decisions",
        ["contract_id", "id"],
        unique=False,
    )
    op.create_table(
        "survey_participation",
        sa.Column("survey_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_participation_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_survey_participation_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "survey_id", "period", "user_id", name=op.f("pk_survey_participation")
        ),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.UUID(), nullable=False),
        sa.Column("survey_id", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=False),
        sa.Column("answers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_responses_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"],
            ["teams.id"],
            name=op.f("fk_survey_responses_team_id_teams"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
    )
    op.create_index(
        "ix_survey_responses_survey_id_period",
        "survey_responses",
        ["survey_id", "period"],
        unique=False,
    )
    op.create_table(
        "opportunity_stage_history",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("opportunity_id", sa.BigInteger(), nullable=False),
        sa.Column("stage_id", sa.BigInteger(), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_by", sa.BigInteger(), nullable=True),
        sa.Column("left_by", sa.BigInteger(), nullable=True),
        sa.Column(
            "seconds",
            sa.Float(),
            sa.Computed("date_part('epoch', left_at - entered_at)", persisted=True),
            nullable=True,
        ),
        sa.Column("client_id", sa.UUID(), nullable=True),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "left_at IS NULL OR left_at >= entered_at",
            name=op.f("ck_opportunity_stage_history_span_ordered"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"],
            ["users.id"],
            name=op.f("fk_opportunity_stage_history_entered_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["left_by"],
            ["users.id"],
            name=op.f("fk_opportunity_stage_history_left_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["opportunity_id"],
            ["opportunities.id"],
            name=op.f("fk_opportunity_stage_history_opportunity_id_opportunities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["stage_id"],
            ["pipeline_stages.id"],
            name=op.f("fk_opportunity_stage_history_stage_id_pipeline_stages"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opportunity_stage_history")),
        sa.UniqueConstraint(
            "opportunity_id",
            "client_id",
            name=op.f("uq_opportunity_stage_history_opportunity_id_client_id"),
        ),
    )
    op.create_index(
        "ix_opportunity_stage_history_opportunity_id",
        "opportunity_stage_history",
        ["opportunity_id", "entered_at"],
        unique=False,
        postgresql_include=["stage_id", "left_at"],
    )
    op.create_index(
        "ix_opportunity_stage_history_seconds",
        "opportunity_stage_history",
        ["stage_id", "seconds"],
        unique=False,
        postgresql_where=sa.text("left_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_stage_history_seconds", table_name="opportunity_stage_history")
    op.drop_index(
        "ix_opportunity_stage_history_opportunity_id", table_name="opportunity_stage_history"
    )
    op.drop_table("opportunity_stage_history")
    op.drop_index("ix_survey_responses_survey_id_period", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_table("survey_participation")
    op.drop_index("ix_renewal_decisions_contract_id_id", table_name="renewal_decisions")
    op.drop_table("renewal_decisions")
    op.drop_index("ix_opportunities_team_id_opened_at", table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_stage_id"), table_name="opportunities")
    op.drop_index("ix_opportunities_pipeline_id_closed_at", table_name="opportunities")
    op.drop_index("ix_opportunities_owner_id_opened_at", table_name="opportunities")
    op.drop_index("ix_opportunities_location", table_name="opportunities", postgresql_using="gist")
    op.drop_index(op.f("ix_opportunities_customer_id"), table_name="opportunities")
    op.drop_index(op.f("ix_opportunities_contract_id"), table_name="opportunities")
    op.drop_table("opportunities")
    op.drop_table("contract_upsell_products")
    op.drop_index("ix_contract_status_history_contract_id", table_name="contract_status_history")
    op.drop_table("contract_status_history")
    op.drop_index(op.f("ix_contract_roles_user_id"), table_name="contract_roles")
    op.drop_table("contract_roles")
    op.drop_index(op.f("ix_surveys_team_id"), table_name="surveys")
    op.drop_table("surveys")
    op.drop_index("ix_contracts_renewal_owner_id_status", table_name="contracts")
    op.drop_index("ix_contracts_end_date", table_name="contracts")
    op.drop_index(op.f("ix_contracts_customer_id"), table_name="contracts")
    op.drop_table("contracts")
    op.drop_table("contract_staff")
    op.drop_table("pipeline_stages")
    op.drop_table("pipelines")
    for enum in _ENUMS:
        enum.drop(op.get_bind(), checkfirst=True)
