"""Deciding the approvals of workflow steps (`require_approval`), and their escalation.

Who decides: the level's user, anyone active holding its role, or an admin; anyone else
gets 404, as for an approval that does not exist (ids never leak). A decision locks the
run, so two approvers of one level cannot both win: the second gets 409. Approving a
level that has a next one opens it; the last level approved, or any level rejected,
moves the run on (`on_approved` / `on_rejected`). Every decision is audited.
"""

from datetime import UTC, datetime

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Conflict, Forbidden, NotFound
from sfa.workflows import engine
from sfa.workflows.actions.approval import escalate as escalate_level
from sfa.workflows.actions.approval import open_level
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    WorkflowApproval,
    WorkflowRun,
    WorkflowTimer,
)


def decidable_by(principal: Principal) -> Select:
    """Approvals the principal may see and decide, oldest first."""
    stmt = select(WorkflowApproval).order_by(WorkflowApproval.opened_at, WorkflowApproval.id)
    if principal.is_admin:
        return stmt
    if principal.user_id is None:
        raise Forbidden("workflow approvals are decided by people, not API keys")
    return stmt.where(
        or_(
            WorkflowApproval.approver_user_id == principal.user_id,
            WorkflowApproval.approver_role == (principal.role.value if principal.role else None),
        )
    )


def approvals_query(
    *, principal: Principal, state: ApprovalDecision | None = ApprovalDecision.pending
) -> Select:
    stmt = decidable_by(principal)
    return stmt if state is None else stmt.where(WorkflowApproval.state == state)


def _append_output(session: Session, run: WorkflowRun, step_id: str, entry: dict) -> None:
    row = engine.waiting_row(session, run, step_id)
    if row is not None:
        history = [*(row.output or {}).get("history", []), entry]
        row.output = {**(row.output or {}), "history": history}


def decide(
    session: Session,
    *,
    principal: Principal,
    approval_id: int,
    approve: bool,
    note: str | None = None,
    now: datetime | None = None,
) -> WorkflowApproval:
    now = now or datetime.now(UTC)
    visible = session.scalar(decidable_by(principal).where(WorkflowApproval.id == approval_id))
    if visible is None:
        raise NotFound(f"workflow approval {approval_id} does not exist or is not visible to you")
    run = engine.lock_run(session, visible.run_id)
    approval = session.get_one(WorkflowApproval, approval_id, populate_existing=True)
    if (
        run is None
        or approval.state is not ApprovalDecision.pending
        or run.status is not RunStatus.waiting
        or run.current_step != approval.step_id
    ):
        raise Conflict(
            f"workflow approval {approval_id} is {approval.state}, not waiting for a decision",
            hint="only pending approvals of a waiting run can be decided",
        )
    return record_decision(
        session,
        run,
        approval,
        approve=approve,
        user_id=principal.user_id,
        actor=principal.actor,
        note=note,
        now=now,
    )


def record_decision(
    session: Session,
    run: WorkflowRun,
    approval: WorkflowApproval,
    *,
    approve: bool,
    user_id: int | None,
    actor: str,
    note: str | None,
    now: datetime,
) -> WorkflowApproval:
    """Decide a pending level of a waiting run (locked by the caller, who checked who
    may): the next level opens, or the run moves on."""
    approval.state = ApprovalDecision.approved if approve else ApprovalDecision.rejected
    approval.decided_by, approval.decided_at, approval.note = user_id, now, note
    session.execute(delete(WorkflowTimer).where(WorkflowTimer.approval_id == approval.id))
    entry = {"approval_id": approval.id, "level": approval.level, "state": str(approval.state)}
    _append_output(session, run, approval.step_id, entry | {"decided_by": user_id})
    step = run.definition["steps"][approval.step_id]
    audit_service.record(
        session,
        actor=actor,
        entity="workflow_run",
        entity_id=run.id,
        action="approve" if approve else "reject",
        new=entry | {"step": approval.step_id, "note": note},
    )
    if approve and approval.level < len(step.get("levels", [])):
        call = engine.step_call(session, run, approval.step_id, now)
        nxt = open_level(call, approval.level + 1)
        _append_output(session, run, approval.step_id, {"opened": nxt.id, "level": nxt.level})
        session.flush()
        return approval
    next_step = step.get("on_approved") if approve else step.get("on_rejected")
    output = {"decision": str(approval.state), "level": approval.level}
    engine.resume(session, run, approval.step_id, next_step=next_step, output=output, now=now)
    return approval


def escalate(
    session: Session, run: WorkflowRun, approval_id: int, *, now: datetime
) -> WorkflowApproval | None:
    """An escalation timer is due: pass the level to the admins (run locked by caller)."""
    approval = session.get(WorkflowApproval, approval_id, populate_existing=True)
    if approval is None:
        return None
    call = engine.step_call(session, run, approval.step_id, now)
    replacement = escalate_level(call, approval)
    if replacement is not None:
        _append_output(
            session,
            run,
            approval.step_id,
            {"escalated": approval.id, "replacement": replacement.id, "level": approval.level},
        )
        audit_service.record(
            session,
            actor="system",
            entity="workflow_run",
            entity_id=run.id,
            action="escalate",
            old={"approval_id": approval.id, "approver_user_id": approval.approver_user_id},
            new={"approval_id": replacement.id, "approver_role": replacement.approver_role},
        )
    session.flush()
    return replacement
