"""The push phase: outbox rows out to the ERP, each in its own transaction.

Rows ``pending`` and due (``next_attempt_at <= now``; an admin's run takes those still
backing off too), oldest first. The sale reference is ``SFA-<order id>``
(``upserts.sale_reference``). A row's ``action`` is ``push`` (create and confirm the
sale; ``push_sale`` checks by reference first, so a crash after the ERP accepted a sale
never creates a second one) or ``cancel`` (the order was cancelled after an attempt to
send it: ``cancel_sale`` removes the draft the ERP may hold).

Outcomes: accepted → order ``confirmed`` (or ``sent``), outbox ``done``;
``ErpUnavailable`` (or an unexpected error on our side) → ``attempts + 1``,
``next_attempt_at = now + backoff(attempts)``; ``ErpRejected``, a customer without
external id, an order without lines → outbox ``parked`` with the reason, until an admin
corrects the order, cancels it or re-queues the row. After
``MAX_CONSECUTIVE_UNAVAILABLE`` transient failures in a row the phase stops (the ERP is
down: the remaining rows keep their place and are not charged an attempt).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.erp import upserts
from sfa.erp.connector import ErpRejected, ErpSale, ErpSaleLine, ErpUnavailable
from sfa.erp.context import RunContext, log, tx
from sfa.orders import events as order_events
from sfa.orders.models import (
    ErpOutbox,
    Order,
    OrderLine,
    OrderState,
    OutboxAction,
    OutboxState,
)

BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=60)
MAX_CONSECUTIVE_UNAVAILABLE = 3
PUSHABLE = (OrderState.approved, OrderState.sent, OrderState.confirmed)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 1, 2, 4 … 60 minutes."""
    if attempts < 1:
        return timedelta(0)
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(attempts - 1, 16)))


class Unpushable(Exception):
    """The order cannot be sent as it is: a person must fix it (parked)."""


def build_sale(session: Session, *, order: Order, tz) -> ErpSale:
    """The ERP sale for one of our orders."""
    if order.state not in PUSHABLE:
        raise Unpushable(f"order {order.id} is {order.state.value}, not approved")
    customer = session.get(Customer, order.customer_id)
    if customer is None or not customer.external_id:
        raise Unpushable(
            f"customer {customer.code if customer else order.customer_id} has no ERP "
            "external id: link it to its ERP party (customer external_id) and re-queue"
        )
    rows = session.execute(
        select(OrderLine, Product.external_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.line_no)
    ).all()
    if not rows:
        raise Unpushable(f"order {order.id} has no lines")
    try:
        lines = tuple(
            ErpSaleLine(
                product_external_id=external_id,
                quantity=Decimal(line.quantity),
                unit_price=Decimal(line.unit_price),
                discount=Decimal(line.discount_pct or 0) / 100,
                net_price=Decimal(line.net_price),
            )
            for line, external_id in rows
        )
        return ErpSale(
            reference=upserts.sale_reference(order.id),
            customer_external_id=customer.external_id,
            lines=lines,
            currency=order.currency,
            sale_date=order.created_at.astimezone(tz).date(),
            description=f"Field order {order.id}",
            comment=order.note,
        )
    except ValueError as exc:
        raise Unpushable(f"order {order.id}: {exc}") from exc


def _park(box: ErpOutbox, reason: str) -> None:
    box.state = OutboxState.parked
    box.attempts += 1
    box.last_error = reason[:1000]


def _retry_later(box: ErpOutbox, reason: str, now: datetime) -> None:
    box.attempts += 1
    box.next_attempt_at = now + backoff(box.attempts)
    box.last_error = reason[:1000]


def _count_waiting(ctx: RunContext, s: Session, counts: dict) -> None:
    """Rows still backing off after a failure: said in the run, not silently left."""
    waiting, until = s.execute(
        select(func.count(), func.min(ErpOutbox.next_attempt_at)).where(
            ErpOutbox.state == OutboxState.pending, ErpOutbox.next_attempt_at > ctx.now()
        )
    ).one()
    counts["waiting"] = waiting
    if waiting:
        counts["waiting_until"] = until.isoformat()


def push_phase(ctx: RunContext) -> None:
    counts = ctx.counts.setdefault(
        "push",
        {"due": 0, "sent": 0, "confirmed": 0, "retry_later": 0, "parked": 0, "cancelled": 0},
    )
    with tx(ctx.sessions) as s:
        stmt = select(ErpOutbox.id).where(ErpOutbox.state == OutboxState.pending)
        if not ctx.push_waiting:
            stmt = stmt.where(ErpOutbox.next_attempt_at <= ctx.now())
        due = list(s.scalars(stmt.order_by(ErpOutbox.created_at, ErpOutbox.id)))
        if ctx.push_waiting:
            counts["waiting"] = 0  # they are due in this run
        else:
            _count_waiting(ctx, s, counts)
    counts["due"] = len(due)
    unavailable_in_a_row = 0
    for position, outbox_id in enumerate(due):
        outcome = _push_one(ctx, outbox_id)
        if outcome in counts:
            counts[outcome] += 1
        if outcome != "retry_later":
            unavailable_in_a_row = 0
            continue
        unavailable_in_a_row += 1
        if unavailable_in_a_row >= MAX_CONSECUTIVE_UNAVAILABLE:
            left = len(due) - position - 1
            ctx.error(
                phase="push",
                kind="stopped",
                message=f"{unavailable_in_a_row} transient failures in a row: "
                f"push stopped for this run, {left} order(s) left for the next",
            )
            counts["not_tried"] = left
            break


def _send(ctx: RunContext, s: Session, box: ErpOutbox, order: Order) -> str:
    """Do what the row asks in the ERP; returns the outcome for a done row."""
    if box.action is OutboxAction.cancel:
        ctx.connector.cancel_sale(upserts.sale_reference(order.id))
        box.last_error = None
        return "cancelled"
    ref = ctx.connector.push_sale(build_sale(s, order=order, tz=ctx.tz))
    if ref.state == "cancelled":
        raise ErpRejected(
            f"the ERP sale {ref.number or ref.external_id} for this order is cancelled",
            code="cancelled",
        )
    order.erp_sale_id = ref.external_id
    order.erp_number = ref.number
    if order.state in (OrderState.approved, OrderState.sent):
        order.state = OrderState.confirmed if ref.confirmed else OrderState.sent
    # In the row's transaction: the event exists exactly when the outbox row is done.
    order_events.sent_to_erp(s, order)
    box.last_error = None
    return "confirmed" if ref.confirmed else "sent"


def _push_one(ctx: RunContext, outbox_id: int) -> str:
    order_id = None
    try:
        with tx(ctx.sessions) as s:
            box = s.scalar(
                select(ErpOutbox)
                .where(ErpOutbox.id == outbox_id, ErpOutbox.state == OutboxState.pending)
                .with_for_update(skip_locked=True)
            )
            if box is None:
                return "gone"  # done or re-queued meanwhile
            order_id = box.order_id
            order = s.get_one(Order, box.order_id)
            try:
                outcome = _send(ctx, s, box, order)
            except (Unpushable, ErpRejected) as exc:
                _park(box, str(exc))
                return _failed(ctx, "parked", outbox_id, order_id, str(exc))
            except ErpUnavailable as exc:
                _retry_later(box, f"ERP unavailable: {exc}", ctx.now())
                return _failed(ctx, "unavailable", outbox_id, order_id, str(exc))
            box.state = OutboxState.done
            box.attempts += 1
            box.done_at = ctx.now()
            ctx.work_done += 1
            return outcome
    except Exception as exc:  # ours (bug, database): never lose or block the others
        log.exception("erp sync: pushing outbox row %s failed", outbox_id)
        with tx(ctx.sessions) as s:
            box = s.get(ErpOutbox, outbox_id)
            if box is not None:
                _retry_later(box, f"internal error: {exc!r}", ctx.now())
        return _failed(ctx, "internal", outbox_id, order_id, repr(exc))


def _failed(ctx: RunContext, kind: str, outbox_id: int, order_id, message: str) -> str:
    """Record a row's failure on the run; the outcome it counts as."""
    ctx.error(
        phase="push", kind=kind, outbox_id=outbox_id, order_id=order_id, message=message[:500]
    )
    return "parked" if kind == "parked" else "retry_later"
