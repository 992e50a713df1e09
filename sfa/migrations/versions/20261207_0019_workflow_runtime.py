"""workflow runtime: runs, run steps, timers, event waits, tasks, approvals; the finance role

The runs name their workflow and version by plain ids for now (workflow_id, version_id):
the foreign keys come with the authoring tables (workflows, workflow_versions).

Revision ID: 0019
Revises: 0017
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

workflow_run_status = postgresql.ENUM(
    "running",
    "waiting",
    "completed",
    "failed",
    "cancelled",
    name="workflow_run_status",
    create_type=False,
)
workflow_step_status = postgresql.ENUM(
    "done", "waiting", "failed", name="workflow_step_status", create_type=False
)
workflow_timer_kind = postgresql.ENUM(
    "wake", "timeout", "escalation", "retry", name="workflow_timer_kind", create_type=False
)
task_status = postgresql.ENUM("open", "done", "cancelled", name="task_status", create_type=False)
workflow_approval_state = postgresql.ENUM(
    "pending",
    "approved",
    "rejected",
    "escalated",
    "cancelled",
    name="workflow_approval_state",
    create_type=False,
)
_ENUMS = (
    workflow_run_status,
    workflow_step_status,
    workflow_timer_kind,
    task_status,
    workflow_approval_state,
)


def upgrade() -> None:
    # Decides large discounts in the default "Discount approval" workflow. A new enum
    # value cannot be used in the transaction that adds it; nothing here uses it.
    op.execute("ALTER TYPE user_role ADD VALUE IF NOT EXISTS 'finance'")
    for enum in _ENUMS:
        enum.create(op.get_bind(), checkfirst=True)
    op.create_table(
        "workflow_runs",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("workflow_id", sa.BigInteger(), nullable=False),
        sa.Column("version_id", sa.BigInteger(), nullable=False),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("trigger_event_id", sa.String(length=64), nullable=True),
        sa.Column("trigger_type", sa.String(length=80), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("status", workflow_run_status, nullable=False),
        sa.Column(
            "variables",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "context", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("current_step", sa.String(length=80), nullable=True),
        sa.Column("failures", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_runs")),
    )
    op.create_index("ix_workflow_runs_status", "workflow_runs", ["status"], unique=False)
    op.create_index(
        "uq_workflow_runs_workflow_id_trigger_event_id",
        "workflow_runs",
        ["workflow_id", "trigger_event_id"],
        unique=True,
        postgresql_where=sa.text("trigger_event_id IS NOT NULL"),
    )
    op.create_index(
        "ix_workflow_runs_subject", "workflow_runs", ["subject_kind", "subject_id"], unique=False
    )
    op.create_index(op.f("ix_workflow_runs_team_id"), "workflow_runs", ["team_id"], unique=False)
    op.create_index(
        "ix_workflow_runs_workflow_id_started_at",
        "workflow_runs",
        ["workflow_id", "started_at"],
        unique=False,
    )
    op.create_table(
        "workflow_run_steps",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=False),
        sa.Column("step_type", sa.String(length=40), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("status", workflow_step_status, nullable=False),
        sa.Column(
            "input", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.Column("output", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("error", sa.String(length=1000), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_workflow_run_steps_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_run_steps")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_workflow_run_steps_idempotency_key")),
    )
    op.create_index(
        op.f("ix_workflow_run_steps_run_id"), "workflow_run_steps", ["run_id"], unique=False
    )
    op.create_table(
        "workflow_timers",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=False),
        sa.Column("kind", workflow_timer_kind, nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("approval_id", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_workflow_timers_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_timers")),
    )
    op.create_index("ix_workflow_timers_due_at", "workflow_timers", ["due_at"], unique=False)
    op.create_index(op.f("ix_workflow_timers_run_id"), "workflow_timers", ["run_id"], unique=False)
    op.create_table(
        "workflow_waits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=False),
        sa.Column("event_type", sa.String(length=80), nullable=False),
        sa.Column("subject_kind", sa.String(length=40), nullable=True),
        sa.Column("subject_id", sa.BigInteger(), nullable=True),
        sa.Column("match", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_workflow_waits_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_waits")),
    )
    op.create_index(
        "ix_workflow_waits_event",
        "workflow_waits",
        ["event_type", "subject_kind", "subject_id"],
        unique=False,
    )
    op.create_index(op.f("ix_workflow_waits_run_id"), "workflow_waits", ["run_id"], unique=False)
    op.create_table(
        "tasks",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=True),
        sa.Column("step_id", sa.String(length=80), nullable=True),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("assignee_user_id", sa.BigInteger(), nullable=False),
        sa.Column("team_id", sa.BigInteger(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", task_status, nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assignee_user_id"],
            ["users.id"],
            name=op.f("fk_tasks_assignee_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["closed_by"], ["users.id"], name=op.f("fk_tasks_closed_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_tasks_run_id_workflow_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["team_id"], ["teams.id"], name=op.f("fk_tasks_team_id_teams"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "ix_tasks_assignee_status", "tasks", ["assignee_user_id", "status"], unique=False
    )
    op.create_index(op.f("ix_tasks_run_id"), "tasks", ["run_id"], unique=False)
    op.create_index("ix_tasks_team_id_status", "tasks", ["team_id", "status"], unique=False)
    op.create_table(
        "workflow_approvals",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("run_id", sa.BigInteger(), nullable=False),
        sa.Column("step_id", sa.String(length=80), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("approver_user_id", sa.BigInteger(), nullable=True),
        sa.Column("approver_role", sa.String(length=40), nullable=True),
        sa.Column("state", workflow_approval_state, nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.BigInteger(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["approver_user_id"],
            ["users.id"],
            name=op.f("fk_workflow_approvals_approver_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_workflow_approvals_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["workflow_runs.id"],
            name=op.f("fk_workflow_approvals_run_id_workflow_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_approvals")),
    )
    op.create_index(
        "ix_workflow_approvals_pending",
        "workflow_approvals",
        ["approver_user_id", "approver_role"],
        unique=False,
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.create_index(
        op.f("ix_workflow_approvals_run_id"), "workflow_approvals", ["run_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_workflow_approvals_run_id"), table_name="workflow_approvals")
    op.drop_index(
        "ix_workflow_approvals_pending",
        table_name="workflow_approvals",
        postgresql_where=sa.text("state = 'pending'"),
    )
    op.drop_table("workflow_approvals")
    op.drop_index("ix_tasks_team_id_status", table_name="tasks")
    op.drop_index(op.f("ix_tasks_run_id"), table_name="tasks")
    op.drop_index("ix_tasks_assignee_status", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index(op.f("ix_workflow_waits_run_id"), table_name="workflow_waits")
    op.drop_index("ix_workflow_waits_event", table_name="workflow_waits")
    op.drop_table("workflow_waits")
    op.drop_index(op.f("ix_workflow_timers_run_id"), table_name="workflow_timers")
    op.drop_index("ix_workflow_timers_due_at", table_name="workflow_timers")
    op.drop_table("workflow_timers")
    op.drop_index(op.f("ix_workflow_run_steps_run_id"), table_name="workflow_run_steps")
    op.drop_table("workflow_run_steps")
    op.drop_index("ix_workflow_runs_workflow_id_started_at", table_name="workflow_runs")
    op.drop_index(op.f("ix_workflow_runs_team_id"), table_name="workflow_runs")
    op.drop_index("ix_workflow_runs_subject", table_name="workflow_runs")
    op.drop_index("ix_workflow_runs_status", table_name="workflow_runs")
    op.drop_index("uq_workflow_runs_workflow_id_trigger_event_id", table_name="workflow_runs")
    op.drop_table("workflow_runs")
    for enum in _ENUMS:
        enum.drop(op.get_bind(), checkfirst=True)
    # An enum value cannot be dropped: the type is made again without it. Finance users
    # become reps without a team (they see nothing) rather than blocking the downgrade.
    op.execute("UPDATE users SET role = 'rep', team_id = NULL WHERE role = 'finance'")
    op.execute("ALTER TYPE user_role RENAME TO user_role_old")
    op.execute("CREATE TYPE user_role AS ENUM ('rep', 'manager', 'admin')")
    op.execute("ALTER TABLE users ALTER COLUMN role TYPE user_role USING role::text::user_role")
    op.execute("DROP TYPE user_role_old")
