"""workflows and their versions; published versions immutable in the database too

A trigger refuses every change to a published or archived version except archiving a
published one (state published -> archived, nothing else touched), and deleting either:
what a run pinned stays as it ran, whatever the code above does.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None

version_state = postgresql.ENUM(
    "draft", "published", "archived", name="workflow_version_state", create_type=False
)

_IMMUTABLE = """
CREATE FUNCTION sfa_workflow_version_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.state <> 'draft' THEN
            RAISE EXCEPTION 'workflow version % is published and cannot be deleted', OLD.id
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.state = 'draft' THEN
        RETURN NEW;
    END IF;
    IF OLD.state = 'published' AND NEW.state = 'archived'
       AND NEW.definition = OLD.definition AND NEW.number = OLD.number
       AND NEW.workflow_id = OLD.workflow_id
       AND NEW.published_at = OLD.published_at AND NEW.published_by = OLD.published_by
       AND NEW.created_by = OLD.created_by AND NEW.created_at = OLD.created_at
       AND NEW.copied_from IS NOT DISTINCT FROM OLD.copied_from THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'workflow version % is % and cannot be changed', OLD.id, OLD.state
        USING ERRCODE = 'integrity_constraint_violation';
END $$;
"""


def upgrade() -> None:
    version_state.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "workflows",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("active_version_id", sa.BigInteger(), nullable=True),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
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
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflows")),
        sa.UniqueConstraint("key", name=op.f("uq_workflows_key")),
    )
    op.create_table(
        "workflow_versions",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("state", version_state, nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("copied_from", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(length=80), nullable=False),
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
        sa.Column("published_by", sa.String(length=80), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "state = 'draft' OR (published_at IS NOT NULL AND published_by IS NOT NULL)",
            name=op.f("ck_workflow_versions_published_has_who_and_when"),
        ),
        sa.ForeignKeyConstraint(
            ["workflow_id"],
            ["workflows.id"],
            name=op.f("fk_workflow_versions_workflow_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_versions")),
        sa.UniqueConstraint(
            "workflow_id", "number", name=op.f("uq_workflow_versions_workflow_id_number")
        ),
    )
    op.create_index(
        "uq_workflow_versions_one_draft",
        "workflow_versions",
        ["workflow_id"],
        unique=True,
        postgresql_where=sa.text("state = 'draft'"),
    )
    op.create_index(
        "uq_workflow_versions_one_published",
        "workflow_versions",
        ["workflow_id"],
        unique=True,
        postgresql_where=sa.text("state = 'published'"),
    )
    op.create_foreign_key(
        op.f("fk_workflows_active_version_id_workflow_versions"),
        "workflows",
        "workflow_versions",
        ["active_version_id"],
        ["id"],
        ondelete="RESTRICT",
    )
    op.execute(_IMMUTABLE)
    op.execute(
        "CREATE TRIGGER workflow_versions_immutable BEFORE UPDATE OR DELETE "
        "ON workflow_versions FOR EACH ROW EXECUTE FUNCTION sfa_workflow_version_immutable()"
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_workflows_active_version_id_workflow_versions"), "workflows", type_="foreignkey"
    )
    op.drop_table("workflow_versions")
    op.execute("DROP FUNCTION sfa_workflow_version_immutable()")
    op.drop_table("workflows")
    version_state.drop(op.get_bind(), checkfirst=True)
