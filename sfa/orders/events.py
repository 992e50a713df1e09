"""The order events the rep, the approvals, the office and the ERP cause (submitted,
approved, rejected, cancelled, corrected, sent to the ERP, invoiced, paid), emitted in
the transaction of the change (sfa/events/service.py). `order.submitted` is handled at
emit: the discount approval runs with the submit.

Each has a natural key, so a retried request or a sync that sees the same change twice
writes nothing: an order is cancelled, sent, invoiced and paid once (its id); it may be
corrected more than once, each correction being its audit entry.
"""

from datetime import date, datetime

from sqlalchemy.orm import Session

from sfa.events import service as events
from sfa.events import types
from sfa.orders.models import Order


def order_fields(order: Order) -> dict:
    """The fields every order payload carries (types.OrderPayload)."""
    return {
        "order_id": order.id,
        "rep_id": order.rep_id,
        "customer_id": order.customer_id,
        "state": str(order.state),
        "currency": order.currency,
        "gross_amount": order.gross_amount,
        "net_amount": order.net_amount,
        "discount_pct": order.discount_pct,
        "approval_tier": str(order.approval_tier) if order.approval_tier else None,
    }


def _emit(
    session: Session,
    event_type: str,
    order: Order,
    actor: events.Actor,
    key: str,
    occurred_at: datetime | None = None,
    **extra,
) -> bool:
    emit = events.emit_and_handle if event_type == types.ORDER_SUBMITTED else events.emit
    return emit(
        session,
        event_type,
        subject_kind="order",
        subject_id=order.id,
        actor=actor,
        payload=order_fields(order) | extra,
        event_id=key,
        occurred_at=occurred_at,
    )


def submitted(
    session: Session, order: Order, *, actor: events.Actor, occurred_at: datetime | None = None
) -> bool:
    """A rep submitted the order (once: a draft is submitted once); its discount approval
    runs now, in this transaction."""
    return _emit(session, types.ORDER_SUBMITTED, order, actor, str(order.id), occurred_at)


def decided(
    session: Session,
    order: Order,
    *,
    approved: bool,
    actor: events.Actor,
    level: int | None,
    note: str | None = None,
    occurred_at: datetime | None = None,
) -> bool:
    """`order.approved` or `order.rejected` (once per order: its discount is decided once);
    `level` is the approval level that decided (None: without one)."""
    event_type = types.ORDER_APPROVED if approved else types.ORDER_REJECTED
    key = str(order.id)
    return _emit(session, event_type, order, actor, key, occurred_at, level=level, note=note)


def cancelled(
    session: Session,
    order: Order,
    *,
    actor: events.Actor,
    previous_state: str,
    by_office: bool,
    reason: str | None,
    occurred_at: datetime | None = None,
) -> bool:
    return _emit(
        session,
        types.ORDER_CANCELLED,
        order,
        actor,
        str(order.id),
        occurred_at,
        previous_state=previous_state,
        by_office=by_office,
        reason=reason,
    )


def corrected(
    session: Session,
    order: Order,
    *,
    actor: events.Actor,
    audit_id: int,
    note: str | None,
    occurred_at: datetime | None = None,
) -> bool:
    key = f"{order.id}:{audit_id}"
    return _emit(session, types.ORDER_CORRECTED, order, actor, key, occurred_at, note=note)


def sent_to_erp(session: Session, order: Order) -> bool:
    return _emit(
        session,
        types.ORDER_SENT_TO_ERP,
        order,
        events.ERP,
        str(order.id),
        erp_sale_id=order.erp_sale_id,
        erp_number=order.erp_number,
    )


def invoiced(session: Session, order: Order, invoice_ids: list[int]) -> bool:
    return _emit(
        session, types.ORDER_INVOICED, order, events.ERP, str(order.id), invoice_ids=invoice_ids
    )


def paid(session: Session, order: Order, invoice_ids: list[int]) -> bool:
    return _emit(
        session, types.ORDER_PAID, order, events.ERP, str(order.id), invoice_ids=invoice_ids
    )


def delivery_confirmed(
    session: Session,
    order: Order,
    *,
    actor: events.Actor,
    previous_date: date | None,
    occurred_at: datetime | None = None,
) -> bool:
    """Once per order and date: the same date confirmed again is no news."""
    assert order.delivery_date is not None
    return events.emit(
        session,
        types.DELIVERY_CONFIRMED,
        subject_kind="order",
        subject_id=order.id,
        actor=actor,
        payload={
            "order_id": order.id,
            "rep_id": order.rep_id,
            "customer_id": order.customer_id,
            "delivery_date": order.delivery_date,
            "previous_date": previous_date,
        },
        event_id=f"{order.id}:{order.delivery_date.isoformat()}",
        occurred_at=occurred_at,
    )
