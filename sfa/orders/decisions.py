"""Submitting an order, and what its discount decision does to it.

Who decides is not here: the built-in "Discount approval" workflow does
(sfa/workflows/defaults/discount_approval.json, docs/workflows.md). Submitting writes the
`order.submitted` event with `emit_and_handle`, so the workflow runs in the submit's own
transaction and an order within `discount_auto_max_pct` comes back approved. The
workflow's `update_record` step then calls `apply` with the state it decided.

ERP contract: the moment an order becomes ``approved``, one ``erp_outbox`` row (state
``pending``) is inserted in the same transaction; the ERP sync reads those rows. The
``order.approved`` event emitted at that same moment, and not before, makes the built-in
workflow "order-placed" tell the distributor and the rep: an order still waiting for its
discount approval may yet be rejected. A rejection emits ``order.rejected``.
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.events import service as events
from sfa.orders import events as order_events
from sfa.orders.models import ErpOutbox, Order, OrderState, OutboxState


def risk_pct(order: Order) -> Decimal:
    """Exact discount share of the gross amount, in percent (0 for an empty gross): what
    the tiers compare, before the 3-decimal rounding shown on the order."""
    if not order.gross_amount:
        return Decimal(0)
    return order.discount_amount * 100 / order.gross_amount


def snapshot(order: Order, **extra) -> dict:
    """The order's decision-relevant fields, for audit entries."""
    return {
        "state": str(order.state),
        "approval_tier": str(order.approval_tier) if order.approval_tier else None,
        "discount_pct": str(order.discount_pct),
        "net_amount": str(order.net_amount),
        "currency": order.currency,
    } | extra


def submit(session: Session, *, order: Order, actor: str, now: datetime) -> None:
    """A draft goes to its discount approval: the workflow decides, in this transaction."""
    before = snapshot(order)
    order.state = OrderState.submitted
    order.submitted_at = now
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="order",
        entity_id=order.id,
        action="submit",
        old=before,
        new=snapshot(order),
    )
    order_events.submitted(session, order, actor=events.Actor.of(actor), occurred_at=now)


def apply(
    session: Session,
    *,
    order: Order,
    state: OrderState,
    now: datetime,
    actor: events.Actor,
    level: int | None = None,
    note: str | None = None,
) -> None:
    """Set the decided state with its effects: approved → the ERP outbox and
    `order.approved`; rejected → `order.rejected`. `level` is the approval
    level that decided (None: decided without one, e.g. a small discount)."""
    if order.submitted_at is None:
        order.submitted_at = now
    order.state = state
    session.flush()
    if state is OrderState.approved:
        session.add(ErpOutbox(order_id=order.id, state=OutboxState.pending, attempts=0))
        session.flush()
    if state in (OrderState.approved, OrderState.rejected):
        order_events.decided(
            session,
            order,
            approved=state is OrderState.approved,
            actor=actor,
            level=level,
            note=note,
            occurred_at=now,
        )
