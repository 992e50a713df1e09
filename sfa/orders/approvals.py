"""Discount approval by risk tier (docs/rules.md, "Orders and discounts").

The risk measure is the order's discount: discount_amount ÷ gross_amount × 100, compared
exactly (before the 3-decimal rounding shown on the order) with the company settings:

* ≤ ``discount_auto_max_pct`` (5)   → tier ``auto``: approved at submit.
* ≤ ``discount_single_max_pct`` (15) → tier ``single``: level 1, the manager of the rep's
  team (``Team.manager_id``).
* above                              → tier ``double``: level 1 (the manager), then level 2.

Level 2 has no named approver (``approver_id`` NULL) and means "any admin": there is no
sales-director / finance role yet. A level-1 step also goes to "any admin" when the rep's
team has no manager. Only the approver of the pending step, or an admin, may decide it.

A step of a named approver still pending ``discount_escalation_hours`` after it was
opened is escalated by ``escalate_overdue`` (scheduled): it is marked ``escalated`` and a
replacement step of the same level is opened for any admin. Steps already with the
admins have nobody above them and do not escalate again.

ERP contract: the moment an order becomes ``approved`` (auto, or its last level), one
``erp_outbox`` row (state ``pending``) is inserted in the same transaction; the ERP sync
reads those rows. The ``order.approved`` event emitted at that same moment, and not
before, makes the built-in workflow "order-placed" tell the distributor and the rep: an
order still waiting for its discount approval may yet be rejected. Every decision
(submit, approve, reject, escalate) is in the audit log under entity "order".
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.errors import Conflict, Forbidden
from sfa.events.service import Actor
from sfa.orders import events as order_events
from sfa.orders import repository
from sfa.orders.models import (
    ApprovalState,
    ApprovalTier,
    ErpOutbox,
    Order,
    OrderApproval,
    OrderState,
    OutboxState,
)

SYSTEM_ACTOR = "system"
LAST_LEVEL = {ApprovalTier.single: 1, ApprovalTier.double: 2}


def risk_pct(order: Order) -> Decimal:
    """Exact discount share of the gross amount, in percent (0 for an empty gross)."""
    if not order.gross_amount:
        return Decimal(0)
    return order.discount_amount * 100 / order.gross_amount


def tier_for(settings: CompanySettings, pct: Decimal) -> ApprovalTier:
    if pct <= Decimal(str(settings.discount_auto_max_pct)):
        return ApprovalTier.auto
    if pct <= Decimal(str(settings.discount_single_max_pct)):
        return ApprovalTier.single
    return ApprovalTier.double


def _snapshot(order: Order, **extra) -> dict:
    return {
        "state": str(order.state),
        "approval_tier": str(order.approval_tier) if order.approval_tier else None,
        "discount_pct": str(order.discount_pct),
        "net_amount": str(order.net_amount),
        "currency": order.currency,
    } | extra


def _approved(
    session: Session, order: Order, now: datetime, *, actor: str, level: int | None, note=None
) -> None:
    """The order is approved: hand it to the ERP sync and emit `order.approved`, in this
    same transaction (the event exists exactly when the approved order does)."""
    session.add(ErpOutbox(order_id=order.id, state=OutboxState.pending, attempts=0))
    session.flush()
    order_events.approved(
        session, order, actor=Actor.of(actor), level=level, note=note, occurred_at=now
    )


def _open_step(
    session: Session,
    *,
    order: Order,
    level: int,
    approver_id: int | None,
    settings: CompanySettings,
    now: datetime,
) -> OrderApproval:
    step = OrderApproval(
        order_id=order.id,
        level=level,
        approver_id=approver_id,
        state=ApprovalState.pending,
        due_at=now + timedelta(hours=settings.discount_escalation_hours),
    )
    session.add(step)
    session.flush()
    return step


def start(
    session: Session, *, order: Order, actor: str, settings: CompanySettings, now: datetime
) -> None:
    """Submit a draft order: pick its tier, approve it or open its first approval step."""
    before = _snapshot(order)
    pct = risk_pct(order)
    order.approval_tier = tier_for(settings, pct)
    order.submitted_at = now
    if order.approval_tier is ApprovalTier.auto:
        order.state = OrderState.approved
        session.flush()
        _approved(session, order, now, actor=actor, level=None)
        audit_service.record(
            session,
            actor=actor,
            entity="order",
            entity_id=order.id,
            action="submit",
            old=before,
            new=_snapshot(order),
        )
        audit_service.record(
            session,
            actor=SYSTEM_ACTOR,
            entity="order",
            entity_id=order.id,
            action="approve",
            old=before,
            new=_snapshot(
                order,
                rule=f"discount ≤ {settings.discount_auto_max_pct} % is approved automatically",
            ),
        )
        return
    order.state = OrderState.submitted
    session.flush()
    manager_id = repository.team_manager_id(session, order.rep_id)
    step = _open_step(
        session, order=order, level=1, approver_id=manager_id, settings=settings, now=now
    )
    audit_service.record(
        session,
        actor=actor,
        entity="order",
        entity_id=order.id,
        action="submit",
        old=before,
        new=_snapshot(order, approval_id=step.id, level=1, approver_id=manager_id),
    )


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
        partial(repository.get_visible, for_update=True),
        session,
        principal,
        order_id,
        what="order",
    )
    step = repository.pending_approval(session, order.id)
    if order.state is not OrderState.submitted or step is None:
        raise Conflict(
            f"order {order_id} is {order.state}, not waiting for an approval",
            hint="only submitted orders with a pending approval can be decided",
        )
    if not (
        principal.is_admin
        or (step.approver_id is not None and step.approver_id == principal.user_id)
    ):
        who = "an administrator" if step.approver_id is None else f"user {step.approver_id}"
        raise Forbidden(
            f"approval level {step.level} of order {order_id} is for {who}",
            hint="only the approver of the pending level, or an admin, decides",
        )
    before = _snapshot(order, approval_id=step.id, level=step.level)
    step.state = ApprovalState.approved if approve else ApprovalState.rejected
    step.decided_by = principal.user_id
    step.decided_at = now
    step.note = note
    extra = {}
    if not approve:
        order.state = OrderState.rejected
    elif order.approval_tier is not None and step.level < LAST_LEVEL[order.approval_tier]:
        # Level 1 of a double-tier order: the second level goes to any admin.
        nxt = _open_step(
            session,
            order=order,
            level=step.level + 1,
            approver_id=None,
            settings=company_service.get_company_settings(session),
            now=now,
        )
        extra = {"next_approval_id": nxt.id, "next_level": nxt.level}
    else:
        order.state = OrderState.approved
    session.flush()
    if order.state is OrderState.approved:
        _approved(session, order, now, actor=principal.actor, level=step.level, note=note)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="order",
        entity_id=order.id,
        action="approve" if approve else "reject",
        old=before,
        new=_snapshot(order, approval_id=step.id, level=step.level, note=note, **extra),
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
    *, principal: Principal, state: ApprovalState | None = ApprovalState.pending
) -> Select:
    """(step, order) rows the caller may decide (admin: all; manager: theirs), oldest due
    first (for `paginate` or an export)."""
    principal.require("orders:approve")
    return repository.approvals_waiting_for(principal, state=state)


def escalate_overdue(session: Session, *, now: datetime | None = None) -> int:
    """Pass every overdue manager step to the admins; returns how many were escalated."""
    now = now or datetime.now(UTC)
    settings = company_service.get_company_settings(session)
    count = 0
    for step in repository.overdue_approvals(session, now):
        step.state = ApprovalState.escalated
        step.decided_at = now
        replacement = _open_step(
            session,
            order=session.get_one(Order, step.order_id),
            level=step.level,
            approver_id=None,
            settings=settings,
            now=now,
        )
        audit_service.record(
            session,
            actor=SYSTEM_ACTOR,
            entity="order",
            entity_id=step.order_id,
            action="escalate",
            old={
                "approval_id": step.id,
                "level": step.level,
                "approver_id": step.approver_id,
                "state": "pending",
                "due_at": step.due_at.isoformat(),
            },
            new={
                "approval_id": replacement.id,
                "level": replacement.level,
                "approver_id": None,
                "escalated_approval_state": "escalated",
                "reason": f"not decided within {settings.discount_escalation_hours:g} h",
            },
        )
        count += 1
    return count
