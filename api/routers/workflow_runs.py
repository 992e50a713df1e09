"""Workflow runs, the tasks and approvals their steps open, and a workflow's weekly
numbers. The authoring routes (/v1/workflows) are api/routers/workflows.py."""

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, Instant, PageOut, Text
from api.schemas.workflow_runs import (
    ApprovalDecisionIn,
    TaskOut,
    WorkflowApprovalOut,
    WorkflowRunDetailOut,
    WorkflowRunOut,
    WorkflowStatsOut,
)
from sfa.limits import INT64_MAX
from sfa.pagination import paginate
from sfa.weeks import parse_week
from sfa.workflows import runs_service, stats, tasks
from sfa.workflows.runtime_models import ApprovalDecision, RunStatus, TaskStatus

router = APIRouter(prefix="/v1", tags=["workflow runs"])

Limit = Query(50, ge=1, le=1000)
Offset = Query(0, ge=0, le=INT64_MAX)


@router.get(
    "/workflow-runs",
    response_model=PageOut[WorkflowRunOut],
    summary="Workflow runs visible to you, newest first (admin: all; manager: their teams')",
)
def list_workflow_runs(
    session: SessionDep,
    principal: PrincipalDep,
    workflow_id: Id | None = None,
    status: RunStatus | None = None,
    subject_kind: Text | None = Query(None, max_length=40, examples=["order"]),
    subject_id: Id | None = None,
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = runs_service.runs_query(
        principal=principal,
        workflow_id=workflow_id,
        status=status,
        subject_kind=subject_kind,
        subject_id=subject_id,
    )
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), WorkflowRunOut.of)


@router.get(
    "/workflow-runs/{run_id}",
    response_model=WorkflowRunDetailOut,
    summary="A run with every attempt of every step: input, output, timing, error",
)
def get_run(session: SessionDep, principal: PrincipalDep, run_id: Id):
    details = runs_service.run_details(session, principal=principal, run_id=run_id)
    return WorkflowRunDetailOut.of_details(details)


@router.post(
    "/workflow-runs/{run_id}/retry",
    response_model=WorkflowRunDetailOut,
    summary="Retry a failed run from its failed step (admin)",
    description="The failed step is tried again as a new attempt, with the run's context "
    "read afresh, and the run goes on from there. A run that is not failed: 409.",
)
def retry_run(session: SessionDep, principal: PrincipalDep, run_id: Id):
    details = runs_service.retry_run(session, principal=principal, run_id=run_id)
    return WorkflowRunDetailOut.of_details(details)


@router.post(
    "/workflow-runs/{run_id}/cancel",
    response_model=WorkflowRunDetailOut,
    summary="Cancel a run (admin)",
    description="Its timers and event waits are dropped, its pending approvals and open "
    "tasks cancelled. A completed or cancelled run: 409.",
)
def cancel_run(session: SessionDep, principal: PrincipalDep, run_id: Id):
    details = runs_service.cancel_run(session, principal=principal, run_id=run_id)
    return WorkflowRunDetailOut.of_details(details)


@router.get(
    "/tasks",
    response_model=PageOut[TaskOut],
    summary="Tasks visible to you, soonest due first (rep: own; manager: their teams'; admin: all)",
)
def list_tasks(
    session: SessionDep,
    principal: PrincipalDep,
    status: TaskStatus | None = None,
    assignee_user_id: Id | None = None,
    due_before: Instant | None = None,
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = tasks.tasks_query(
        principal=principal, status=status, assignee_user_id=assignee_user_id, due_before=due_before
    )
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), TaskOut.of)


@router.post(
    "/tasks/{task_id}/complete",
    response_model=TaskOut,
    summary="Complete a task (its assignee or an admin; repeatable by whoever completed it)",
)
def complete_task(session: SessionDep, principal: PrincipalDep, task_id: Id):
    return TaskOut.of(tasks.complete_task(session, principal=principal, task_id=task_id))


@router.get(
    "/workflow-approvals",
    response_model=PageOut[WorkflowApprovalOut],
    summary="Workflow approvals you may decide, oldest first (pending ones by default)",
    description="Those for you, for anyone holding your role, and for an administrator "
    "every one. `state` picks another state; `every_state=true` every state.",
)
def list_workflow_approvals(
    session: SessionDep,
    principal: PrincipalDep,
    state: ApprovalDecision = ApprovalDecision.pending,
    every_state: bool = Query(False, description="every state (ignores `state`)"),
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = runs_service.approvals_query(principal=principal, state=None if every_state else state)
    page = paginate(session, stmt, limit=limit, offset=offset)
    return PageOut.of(page, WorkflowApprovalOut.of_pair)


def _decide(session, principal, approval_id: int, body: ApprovalDecisionIn | None, approve: bool):
    pair = runs_service.decide(
        session,
        principal=principal,
        approval_id=approval_id,
        approve=approve,
        note=body.note if body else None,
    )
    return WorkflowApprovalOut.of_pair(pair)


_DECISION = (
    "Another person's approval (on a run you can see): 403; one already decided, or "
    "whose run no longer waits for it: 409. The run goes on at once."
)


@router.post(
    "/workflow-approvals/{approval_id}/approve",
    response_model=WorkflowApprovalOut,
    summary="Approve a workflow approval (its approver, anyone with its role, or an admin)",
    description="A level with a next one opens the next; the last level moves the run to "
    "`on_approved`. " + _DECISION,
)
def approve(
    session: SessionDep,
    principal: PrincipalDep,
    approval_id: Id,
    body: ApprovalDecisionIn | None = None,
):
    return _decide(session, principal, approval_id, body, approve=True)


@router.post(
    "/workflow-approvals/{approval_id}/reject",
    response_model=WorkflowApprovalOut,
    summary="Reject a workflow approval (its approver, anyone with its role, or an admin)",
    description="The run moves to `on_rejected`. " + _DECISION,
)
def reject(
    session: SessionDep,
    principal: PrincipalDep,
    approval_id: Id,
    body: ApprovalDecisionIn | None = None,
):
    return _decide(session, principal, approval_id, body, approve=False)


@router.get(
    "/workflows/{workflow_id}/stats",
    response_model=WorkflowStatsOut,
    summary="A workflow's runs by ISO week (company time): counts, times, approval waits",
    description="Runs started; runs completed and failed (in the week they finished), "
    "median and p90 seconds from start to completion; per approval step, the median "
    "seconds from opened to decided (in the week decided). Admin: every run; manager: "
    "their teams' runs.",
)
def workflow_stats(
    session: SessionDep,
    principal: PrincipalDep,
    workflow_id: Id,
    weeks: int = Query(8, ge=1, le=stats.MAX_WEEKS),
    until: Text | None = Query(
        None, max_length=10, description="the last week (default: this week)", examples=["2026-W47"]
    ),
):
    last = parse_week(until, name="until") if until else None
    result = stats.workflow_stats(
        session, principal=principal, workflow_id=workflow_id, weeks=weeks, last_week=last
    )
    return WorkflowStatsOut.of(result)
