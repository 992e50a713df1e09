"""`require_approval`: one level after the other, each for a person or a role.

Levels: `{"user": id}`, `{"role": "finance"}` (anyone active holding the role; the admins
when nobody active holds it, so that a company without a finance user still gets its
large discounts decided), `{"manager_of": "rep"}` (the manager of the team of the run's
rep; the admins when the team has none). An admin may always decide. With
`escalate_after_hours` (hours, or JsonLogic such as
`{"var": "settings.discount_escalation_hours"}`) a level still pending that long (its
`due_at`) is marked `escalated` and re-opened, same level, for the admins (who do not
escalate further). The last level approved → `on_approved`; any level rejected →
`on_rejected`.

Crash handling: the approval rows and their escalation timer are written in the
transaction that records the run-step: a crash leaves neither, and the retry opens the
level once.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.users.models import Role, User
from sfa.workflows.actions.base import Outcome, StepCall, StepError, add_timer, hours, lookup
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    TimerKind,
    WorkflowApproval,
)

ADMINS = Role.admin.value


def _anyone_holds(session: Session, role: str) -> bool:
    return (
        session.scalar(
            select(User.id).where(User.role == Role(role), User.is_active.is_(True)).limit(1)
        )
        is not None
    )


def approver_of(session: Session, call_data: dict, level: dict) -> tuple[int | None, str | None]:
    """(user id, role) the level is for; exactly one of them is set."""
    if "user" in level:
        return int(level["user"]), None
    if "role" in level:
        if level["role"] not in {role.value for role in Role}:
            raise StepError(f"unknown role {level['role']!r}")
        # Nobody to decide would leave the run waiting for ever: the admins decide.
        return None, level["role"] if _anyone_holds(session, level["role"]) else ADMINS
    if "manager_of" in level:
        manager_id = lookup(call_data, f"{level['manager_of']}.team.manager_id")
        return (int(manager_id), None) if manager_id else (None, ADMINS)
    raise StepError(f"an approval level names a user, a role or manager_of, not {level!r}")


def open_level(
    call: StepCall, level_no: int, *, approver: tuple[int | None, str | None] | None = None
) -> WorkflowApproval:
    """Open level `level_no` (1-based), or a replacement for `approver` (escalation)."""
    levels = call.require("levels")
    user_id, role = approver or approver_of(call.session, call.data, levels[level_no - 1])
    after = hours(call, "escalate_after_hours")
    approval = WorkflowApproval(
        run_id=call.run.id,
        step_id=call.step_id,
        level=level_no,
        approver_user_id=user_id,
        approver_role=role,
        state=ApprovalDecision.pending,
        opened_at=call.now,
        due_at=call.now + after if after is not None else None,
    )
    call.session.add(approval)
    call.session.flush()
    if after is not None and role != ADMINS:
        add_timer(
            call.session,
            call.run,
            call.step_id,
            TimerKind.escalation,
            call.now + after,
            approval_id=approval.id,
        )
    return approval


def require_approval(call: StepCall) -> Outcome:
    if not call.require("levels"):
        raise StepError(f"step {call.step_id!r} has no approval levels")
    approval = open_level(call, 1)
    return Outcome(
        {
            "approval_id": approval.id,
            "level": 1,
            "approver_user_id": approval.approver_user_id,
            "approver_role": approval.approver_role,
        },
        wait=True,
    )


def escalate(call: StepCall, approval: WorkflowApproval) -> WorkflowApproval | None:
    """Pass a pending level to the admins; None when it is no longer pending."""
    if approval.state is not ApprovalDecision.pending or approval.approver_role == ADMINS:
        return None
    approval.state = ApprovalDecision.escalated
    approval.decided_at = call.now
    return open_level(call, approval.level, approver=(None, ADMINS))
