"""Reading and steering workflow runs, and deciding their approvals (/v1/workflow-runs,
/v1/workflow-approvals).

Who sees a run: administrators every run; managers the runs of their teams, where a run's
team is `WorkflowRun.team_id` (set at start from the run's context: its rep's team, else
its customer's team); reps and API keys none (403). A run outside a manager's teams is
answered like a missing id (404). Retrying and cancelling are the administrators'.

Approvals are decided through sfa.workflows.approvals.decide, which answers 404 to
anyone who may not decide one. Here that is refined: a caller who may see the approval's
run but is not its approver gets 403 (the run is no secret to them); others still 404.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Conflict, Forbidden, NotFound
from sfa.users.models import Role
from sfa.workflows import approvals, engine
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    WorkflowApproval,
    WorkflowRun,
    WorkflowRunStep,
)

# A run in one of these may still be cancelled; completed and cancelled ones are over.
CANCELLABLE = frozenset({RunStatus.running, RunStatus.waiting, RunStatus.failed})


@dataclass(frozen=True)
class RunDetails:
    run: WorkflowRun
    steps: list[WorkflowRunStep]


def require_reader(principal: Principal) -> None:
    """Runs and their statistics: administrators and managers."""
    if principal.role not in (Role.admin, Role.manager):
        raise Forbidden(
            "only administrators and managers can see workflow runs",
            hint="a manager sees the runs about their teams' reps and customers",
        )


def visible_runs(principal: Principal) -> Select:
    require_reader(principal)
    stmt = select(WorkflowRun)
    if principal.team_ids is not None:
        stmt = stmt.where(WorkflowRun.team_id.in_(sorted(principal.team_ids)))
    return stmt


def runs_query(
    *,
    principal: Principal,
    workflow_id: int | None = None,
    status: RunStatus | None = None,
    subject_kind: str | None = None,
    subject_id: int | None = None,
) -> Select:
    """The runs the principal sees, newest first."""
    stmt = visible_runs(principal)
    if workflow_id is not None:
        stmt = stmt.where(WorkflowRun.workflow_id == workflow_id)
    if status is not None:
        stmt = stmt.where(WorkflowRun.status == status)
    if subject_kind is not None:
        stmt = stmt.where(WorkflowRun.subject_kind == subject_kind)
    if subject_id is not None:
        stmt = stmt.where(WorkflowRun.subject_id == subject_id)
    return stmt.order_by(WorkflowRun.started_at.desc(), WorkflowRun.id.desc())


def _not_found(run_id: int) -> NotFound:
    return NotFound(f"workflow run {run_id} does not exist or is not visible to you")


def get_run(session: Session, *, principal: Principal, run_id: int) -> WorkflowRun:
    run = session.scalar(visible_runs(principal).where(WorkflowRun.id == run_id))
    if run is None:
        raise _not_found(run_id)
    return run


def steps_of(session: Session, run_id: int) -> list[WorkflowRunStep]:
    """Every attempt of every step, in the order they were taken."""
    return list(
        session.scalars(
            select(WorkflowRunStep)
            .where(WorkflowRunStep.run_id == run_id)
            .order_by(WorkflowRunStep.started_at, WorkflowRunStep.id)
        )
    )


def run_details(session: Session, *, principal: Principal, run_id: int) -> RunDetails:
    run = get_run(session, principal=principal, run_id=run_id)
    return RunDetails(run, steps_of(session, run.id))


def _locked_for_admin(session: Session, principal: Principal, run_id: int) -> WorkflowRun:
    principal.require_admin()
    # The lock makes the admin's action take turns with timers, events and decisions.
    run = engine.lock_run(session, run_id)
    if run is None:
        raise _not_found(run_id)
    return run


def _audit(session: Session, principal: Principal, run: WorkflowRun, action: str, old) -> None:
    audit_service.record(
        session,
        actor=principal.actor,
        entity="workflow_run",
        entity_id=run.id,
        action=action,
        old={"status": str(old), "step": run.current_step},
        new={"status": str(run.status), "step": run.current_step, "error": run.error},
    )


def retry_run(
    session: Session, *, principal: Principal, run_id: int, now: datetime | None = None
) -> RunDetails:
    """A failed run tries its failed step again (a new attempt) and goes on from there."""
    run = _locked_for_admin(session, principal, run_id)
    if run.status is not RunStatus.failed:
        raise Conflict(
            f"workflow run {run_id} is {run.status}, not failed",
            hint="only a failed run can be retried",
        )
    old = run.status
    engine.retry_run(session, run, now=now or datetime.now(UTC))
    _audit(session, principal, run, "retry", old)
    return RunDetails(run, steps_of(session, run.id))


def cancel_run(
    session: Session, *, principal: Principal, run_id: int, now: datetime | None = None
) -> RunDetails:
    """Stop a run for good: its timers and waits go, its pending approvals and open
    tasks are cancelled."""
    run = _locked_for_admin(session, principal, run_id)
    if run.status not in CANCELLABLE:
        raise Conflict(
            f"workflow run {run_id} is {run.status} already",
            hint="only a running, waiting or failed run can be cancelled",
        )
    old = run.status
    engine.cancel_run(session, run, now=now or datetime.now(UTC))
    _audit(session, principal, run, "cancel", old)
    return RunDetails(run, steps_of(session, run.id))


def approvals_query(*, principal: Principal, state: ApprovalDecision | None) -> Select:
    """(approval, run) pairs the principal may decide, oldest first; `state` None: all."""
    stmt = approvals.approvals_query(principal=principal, state=state)
    return stmt.add_columns(WorkflowRun).join(
        WorkflowRun, WorkflowRun.id == WorkflowApproval.run_id
    )


def decide(
    session: Session,
    *,
    principal: Principal,
    approval_id: int,
    approve: bool,
    note: str | None,
    now: datetime | None = None,
) -> tuple[WorkflowApproval, WorkflowRun]:
    try:
        approval = approvals.decide(
            session,
            principal=principal,
            approval_id=approval_id,
            approve=approve,
            note=note,
            now=now,
        )
    except NotFound:
        if _sees_run_of(session, principal, approval_id):
            raise Forbidden(
                f"workflow approval {approval_id} is not yours to decide",
                hint="its approver (a user or anyone holding its role) or an administrator "
                "decides it",
            ) from None
        raise
    return approval, session.get_one(WorkflowRun, approval.run_id)


def _sees_run_of(session: Session, principal: Principal, approval_id: int) -> bool:
    if principal.role not in (Role.admin, Role.manager):
        return False
    run_ids = select(WorkflowApproval.run_id).where(WorkflowApproval.id == approval_id)
    return session.scalar(visible_runs(principal).where(WorkflowRun.id.in_(run_ids))) is not None
