"""An order's discount approval, as the orders API and the console see it: the approval
levels of the workflow runs about the order (the built-in "Discount approval", or a
company's edit of it), decided through `sfa.workflows.approvals.decide`.

`POST /v1/orders/{id}/approve|reject` keep their rules: the caller needs
`orders:approve` and must see the order (else 404); the order must be submitted with a
level pending (else 409); that level must be the caller's — its user, its role, or any
admin (else 403). Each decision is also audited on the order (`approve` / `reject`), so
the order's history says who decided. Finance, which sees no team's orders, decides its
levels at `/v1/workflow-approvals`.
"""

from collections.abc import Iterable
from datetime import UTC, datetime
from functools import partial

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.errors import Conflict, Forbidden
from sfa.orders import decisions
from sfa.orders import repository as order_repository
from sfa.orders.models import Order, OrderState
from sfa.users import repository as user_repository
from sfa.workflows import approvals, engine
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    WorkflowApproval,
    WorkflowRun,
)

SUBJECT = "order"


def _of_orders() -> Select:
    """(approval, order) rows of the runs about orders."""
    return (
        select(WorkflowApproval, Order)
        .join(WorkflowRun, WorkflowRun.id == WorkflowApproval.run_id)
        .join(Order, and_(WorkflowRun.subject_kind == SUBJECT, WorkflowRun.subject_id == Order.id))
    )


def approvals_for(session: Session, order_ids: Iterable[int]) -> dict[int, list[WorkflowApproval]]:
    """Each order's approval levels, in the order they were opened."""
    ids = list(order_ids)
    result: dict[int, list[WorkflowApproval]] = {i: [] for i in ids}
    if ids:
        rows = session.execute(
            _of_orders().where(Order.id.in_(ids)).order_by(Order.id, WorkflowApproval.id)
        )
        for approval, order in rows:
            result[order.id].append(approval)
    return result


def pending_for(session: Session, order_id: int) -> WorkflowApproval | None:
    """The level the order waits for (one at a time: a run waits on one level)."""
    return session.scalar(
        _of_orders()
        .with_only_columns(WorkflowApproval)
        .where(
            Order.id == order_id,
            WorkflowApproval.state == ApprovalDecision.pending,
            WorkflowRun.status == RunStatus.waiting,
        )
        .order_by(WorkflowApproval.id)
        .limit(1)
    )


def _may_decide(principal: Principal, approval: WorkflowApproval) -> bool:
    if principal.is_admin:
        return True
    if approval.approver_user_id is not None:
        return approval.approver_user_id == principal.user_id
    return principal.role is not None and approval.approver_role == principal.role.value


def _whose(approval: WorkflowApproval) -> str:
    if approval.approver_user_id is not None:
        return f"user {approval.approver_user_id}"
    if approval.approver_role in (None, "admin"):
        return "an administrator"
    return f"the {approval.approver_role} role"


def _decide(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    approve: bool,
    note: str | None,
    now: datetime | None,
) -> Order:
    principal.require("orders:approve")
    now = now or datetime.now(UTC)
    order = get_visible_or_raise(
        partial(order_repository.get_visible, for_update=True),
        session,
        principal,
        order_id,
        what="order",
    )
    pending = pending_for(session, order.id) if order.state is OrderState.submitted else None
    if pending is None:
        raise Conflict(
            f"order {order_id} is {order.state}, not waiting for an approval",
            hint="only submitted orders with a pending approval can be decided",
        )
    if not _may_decide(principal, pending):
        raise Forbidden(
            f"approval level {pending.level} of order {order_id} is for {_whose(pending)}",
            hint="only the approver of the pending level, or an admin, decides",
        )
    before = decisions.snapshot(order, approval_id=pending.id, level=pending.level)
    approvals.decide(
        session, principal=principal, approval_id=pending.id, approve=approve, note=note, now=now
    )
    nxt = pending_for(session, order.id)
    extra = {"next_approval_id": nxt.id, "next_level": nxt.level} if nxt else {}
    audit_service.record(
        session,
        actor=principal.actor,
        entity="order",
        entity_id=order.id,
        action="approve" if approve else "reject",
        old=before,
        new=decisions.snapshot(
            order, approval_id=pending.id, level=pending.level, note=note, **extra
        ),
    )
    return order


def approve_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    note: str | None = None,
    now: datetime | None = None,
) -> Order:
    return _decide(
        session, principal=principal, order_id=order_id, approve=True, note=note, now=now
    )


def reject_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    note: str | None = None,
    now: datetime | None = None,
) -> Order:
    return _decide(
        session, principal=principal, order_id=order_id, approve=False, note=note, now=now
    )


def approvals_query(
    *, principal: Principal, state: ApprovalDecision | None = ApprovalDecision.pending
) -> Select:
    """(approval, order) rows the caller may decide or decided (admin: all; a manager:
    theirs, of the teams they see), the oldest due first. Pending levels of orders that no
    longer wait (cancelled by the rep) are left out."""
    principal.require("orders:approve")
    stmt = _of_orders()
    if state is not None:
        stmt = stmt.where(WorkflowApproval.state == state)
        if state is ApprovalDecision.pending:
            stmt = stmt.where(
                Order.state == OrderState.submitted, WorkflowRun.status == RunStatus.waiting
            )
    if not principal.is_admin:
        role = principal.role.value if principal.role else None
        stmt = stmt.where(
            or_(
                WorkflowApproval.approver_user_id == principal.id,
                and_(
                    WorkflowApproval.approver_user_id.is_(None),
                    WorkflowApproval.approver_role == role,
                ),
                WorkflowApproval.decided_by == principal.id,
            )
        )
        stmt = user_repository.only_visible_reps(stmt, principal, Order.rep_id)
    return stmt.order_by(
        WorkflowApproval.due_at.nulls_last(), WorkflowApproval.opened_at, WorkflowApproval.id
    )


def cancel_waiting_runs(session: Session, order_id: int, *, now: datetime) -> int:
    """The order was cancelled: runs about it waiting on an approval have nothing left to
    decide and are cancelled (their levels `cancelled`, their escalation timers gone)."""
    runs = session.scalars(
        select(WorkflowRun)
        .join(WorkflowApproval, WorkflowApproval.run_id == WorkflowRun.id)
        .where(
            WorkflowRun.subject_kind == SUBJECT,
            WorkflowRun.subject_id == order_id,
            WorkflowRun.status == RunStatus.waiting,
            WorkflowApproval.state == ApprovalDecision.pending,
            WorkflowApproval.step_id == WorkflowRun.current_step,
        )
        .distinct()
    ).all()
    for run in runs:
        locked = engine.lock_run(session, run.id)
        if locked is not None and locked.status is RunStatus.waiting:
            engine.cancel_run(session, locked, now=now)
    return len(runs)
