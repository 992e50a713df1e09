"""The workflow runtime's tables: runs, their steps, durable timers and event waits, and
the tasks and approvals that steps open (docs/workflows-runtime.md).

A run names its workflow and version by plain ids (`workflow_id`, `version_id`) and keeps
a snapshot of the definition it started on, so an in-flight run finishes on its version
whatever is published meanwhile.
"""

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class RunStatus(enum.StrEnum):
    running = "running"
    waiting = "waiting"  # on a timer, an event or an approval
    completed = "completed"
    failed = "failed"  # parked with `error`; an admin retries or cancels it
    cancelled = "cancelled"


class StepStatus(enum.StrEnum):
    done = "done"
    waiting = "waiting"  # a wait or an approval not resolved yet
    failed = "failed"


class TimerKind(enum.StrEnum):
    wake = "wake"  # a wait for a duration or until a date is over
    timeout = "timeout"  # a wait for an event gave up
    escalation = "escalation"  # an approval still pending
    retry = "retry"  # a failed step is tried again


class TaskStatus(enum.StrEnum):
    open = "open"
    done = "done"
    cancelled = "cancelled"


class ApprovalDecision(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    escalated = "escalated"  # waited too long; a replacement was opened for the admins
    cancelled = "cancelled"  # its run was cancelled


class WorkflowRun(Base):
    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_workflow_id_started_at", "workflow_id", "started_at"),
        Index("ix_workflow_runs_subject", "subject_kind", "subject_id"),
        Index("ix_workflow_runs_status", "status"),
        # An event delivered twice (at-least-once) starts a workflow's run once.
        Index(
            "uq_workflow_runs_workflow_id_trigger_event_id",
            "workflow_id",
            "trigger_event_id",
            unique=True,
            postgresql_where=text("trigger_event_id IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Plain ids: the foreign keys to workflows / workflow_versions come with their tables.
    workflow_id: Mapped[int] = mapped_column(BigInteger)
    version_id: Mapped[int] = mapped_column(BigInteger)
    definition: Mapped[dict] = mapped_column(JSONB)
    trigger_event_id: Mapped[str | None] = mapped_column(String(64))
    trigger_type: Mapped[str] = mapped_column(String(80))
    subject_kind: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    # The team the subject belongs to (the order's rep's, the customer's): who may see it.
    team_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    status: Mapped[RunStatus] = mapped_column(Enum(RunStatus, name="workflow_run_status"))
    variables: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    context: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    current_step: Mapped[str | None] = mapped_column(String(80))
    # Consecutive failed attempts of the current step (its on_error retries).
    failures: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    error: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowRunStep(Base):
    """One attempt of one step: what it got, what it did, when, and how it ended."""

    __tablename__ = "workflow_run_steps"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(80))
    step_type: Mapped[str] = mapped_column(String(40))
    attempt: Mapped[int] = mapped_column(Integer)
    # f"{run_id}:{step_id}:{attempt}": written in the transaction of the step's effect.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[StepStatus] = mapped_column(Enum(StepStatus, name="workflow_step_status"))
    input: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    output: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(String(1000))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowTimer(Base):
    """A run's appointment with the clock; deleted when it fires or is no longer needed."""

    __tablename__ = "workflow_timers"
    __table_args__ = (Index("ix_workflow_timers_due_at", "due_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(80))
    kind: Mapped[TimerKind] = mapped_column(Enum(TimerKind, name="workflow_timer_kind"))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # escalation: the approval it escalates
    approval_id: Mapped[int | None] = mapped_column(BigInteger)


class WorkflowWait(Base):
    """A run waiting for an event of a type about a subject (and matching `match`)."""

    __tablename__ = "workflow_waits"
    __table_args__ = (Index("ix_workflow_waits_event", "event_type", "subject_kind", "subject_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(80))
    event_type: Mapped[str] = mapped_column(String(80))
    subject_kind: Mapped[str | None] = mapped_column(String(40))
    subject_id: Mapped[int | None] = mapped_column(BigInteger)
    match: Mapped[dict | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Task(Base):
    """A to-do a workflow gave a person (`assign_task`), at /v1/tasks."""

    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_assignee_status", "assignee_user_id", "status"),
        Index("ix_tasks_team_id_status", "team_id", "status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="SET NULL"), index=True
    )
    step_id: Mapped[str | None] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(300))
    assignee_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[TaskStatus] = mapped_column(Enum(TaskStatus, name="task_status"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class WorkflowApproval(Base):
    """One level of a `require_approval` step: for a user or anyone holding a role."""

    __tablename__ = "workflow_approvals"
    __table_args__ = (
        Index(
            "ix_workflow_approvals_pending",
            "approver_user_id",
            "approver_role",
            postgresql_where=text("state = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("workflow_runs.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[str] = mapped_column(String(80))
    level: Mapped[int] = mapped_column(SmallInteger)  # 1-based index into the step's levels
    approver_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    approver_role: Mapped[str | None] = mapped_column(String(40))
    state: Mapped[ApprovalDecision] = mapped_column(
        Enum(ApprovalDecision, name="workflow_approval_state")
    )
    note: Mapped[str | None] = mapped_column(String(1000))
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # opened_at + the step's escalate_after_hours (None without one); the admins' levels
    # have a due time too but never escalate.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
