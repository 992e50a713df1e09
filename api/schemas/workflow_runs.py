from datetime import date, datetime

from pydantic import BaseModel, Field

from api.schemas.common import Strict, Text
from sfa.weeks import iso_week_label
from sfa.workflows.runs_service import RunDetails
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    StepStatus,
    Task,
    TaskStatus,
    WorkflowApproval,
    WorkflowRun,
    WorkflowRunStep,
)
from sfa.workflows.stats import WeekStats, WorkflowStats


class WorkflowRunOut(BaseModel):
    id: int
    workflow_id: int
    version_id: int
    trigger_type: str
    trigger_event_id: str | None
    subject_kind: str | None
    subject_id: int | None
    team_id: int | None = Field(description="the team the run is about: who may see it")
    status: RunStatus
    current_step: str | None
    error: str | None = Field(description="why a failed run stopped")
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def of(cls, run: WorkflowRun) -> "WorkflowRunOut":
        return cls(
            id=run.id,
            workflow_id=run.workflow_id,
            version_id=run.version_id,
            trigger_type=run.trigger_type,
            trigger_event_id=run.trigger_event_id,
            subject_kind=run.subject_kind,
            subject_id=run.subject_id,
            team_id=run.team_id,
            status=run.status,
            current_step=run.current_step,
            error=run.error,
            started_at=run.started_at,
            finished_at=run.finished_at,
        )


class RunStepOut(BaseModel):
    """One attempt of one step."""

    id: int
    step_id: str
    step_type: str
    attempt: int
    status: StepStatus
    input: dict = Field(description="the step's definition and the run's variables then")
    output: dict | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None
    duration_s: float | None = Field(description="null while the step waits")

    @classmethod
    def of(cls, row: WorkflowRunStep) -> "RunStepOut":
        duration = (row.finished_at - row.started_at).total_seconds() if row.finished_at else None
        return cls(
            id=row.id,
            step_id=row.step_id,
            step_type=row.step_type,
            attempt=row.attempt,
            status=row.status,
            input=row.input,
            output=row.output,
            error=row.error,
            started_at=row.started_at,
            finished_at=row.finished_at,
            duration_s=duration,
        )


class WorkflowRunDetailOut(WorkflowRunOut):
    failures: int = Field(description="failed attempts of the current step in a row")
    variables: dict
    context: dict = Field(description="the data the run's conditions read")
    steps: list[RunStepOut]

    @classmethod
    def of_details(cls, details: RunDetails) -> "WorkflowRunDetailOut":
        run = details.run
        return cls(
            **WorkflowRunOut.of(run).model_dump(),
            failures=run.failures,
            variables=run.variables,
            context=run.context,
            steps=[RunStepOut.of(row) for row in details.steps],
        )


class TaskOut(BaseModel):
    id: int
    run_id: int | None
    step_id: str | None
    title: str
    assignee_user_id: int
    team_id: int | None
    due_at: datetime | None
    status: TaskStatus
    created_at: datetime
    closed_at: datetime | None
    closed_by: int | None

    @classmethod
    def of(cls, task: Task) -> "TaskOut":
        return cls(
            id=task.id,
            run_id=task.run_id,
            step_id=task.step_id,
            title=task.title,
            assignee_user_id=task.assignee_user_id,
            team_id=task.team_id,
            due_at=task.due_at,
            status=task.status,
            created_at=task.created_at,
            closed_at=task.closed_at,
            closed_by=task.closed_by,
        )


class WorkflowApprovalOut(BaseModel):
    id: int
    run_id: int
    workflow_id: int
    subject_kind: str | None
    subject_id: int | None
    step_id: str
    level: int
    approver_user_id: int | None = Field(description="null: anyone holding approver_role")
    approver_role: str | None
    state: ApprovalDecision
    note: str | None
    opened_at: datetime
    decided_by: int | None
    decided_at: datetime | None

    @classmethod
    def of_pair(cls, pair: tuple[WorkflowApproval, WorkflowRun]) -> "WorkflowApprovalOut":
        approval, run = pair
        return cls(
            id=approval.id,
            run_id=approval.run_id,
            workflow_id=run.workflow_id,
            subject_kind=run.subject_kind,
            subject_id=run.subject_id,
            step_id=approval.step_id,
            level=approval.level,
            approver_user_id=approval.approver_user_id,
            approver_role=approval.approver_role,
            state=approval.state,
            note=approval.note,
            opened_at=approval.opened_at,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
        )


class ApprovalDecisionIn(Strict):
    note: Text | None = Field(None, max_length=1000)


class ApprovalWaitOut(BaseModel):
    step_id: str
    decided: int = Field(description="approvals of the step decided in the week")
    median_wait_s: float = Field(description="opened → decided")


class WeekStatsOut(BaseModel):
    week: str = Field(examples=["2026-W47"])
    week_start: date
    started: int
    completed: int
    failed: int
    median_time_to_complete_s: float | None
    p90_time_to_complete_s: float | None
    approval_waits: list[ApprovalWaitOut]

    @classmethod
    def of(cls, week: WeekStats) -> "WeekStatsOut":
        return cls(
            week=iso_week_label(week.week_start),
            week_start=week.week_start,
            started=week.started,
            completed=week.completed,
            failed=week.failed,
            median_time_to_complete_s=week.median_time_to_complete_s,
            p90_time_to_complete_s=week.p90_time_to_complete_s,
            approval_waits=[
                ApprovalWaitOut(step_id=w.step_id, decided=w.decided, median_wait_s=w.median_wait_s)
                for w in week.approval_waits
            ],
        )


class WorkflowStatsOut(BaseModel):
    workflow_id: int
    timezone: str
    weeks: list[WeekStatsOut]

    @classmethod
    def of(cls, stats: WorkflowStats) -> "WorkflowStatsOut":
        return cls(
            workflow_id=stats.workflow_id,
            timezone=stats.timezone,
            weeks=[WeekStatsOut.of(week) for week in stats.weeks],
        )
