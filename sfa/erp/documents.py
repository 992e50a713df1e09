"""Apply ERP invoices and payments, and move our orders forward from them: an order is
``invoiced`` once an invoice of its sale is posted, ``paid`` once all its live invoices
are paid; states never move backwards. Idempotent upserts like ``upserts.py``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.customers.models import Customer
from sfa.erp.applied import Applied, cut, id_map, latest_per_key, order_id_from_reference, utc
from sfa.erp.connector import ErpInvoice, ErpPayment
from sfa.erp.models import Invoice, Payment
from sfa.orders import events as order_events
from sfa.orders.models import Order, OrderState

# -- invoices and the order states they imply -------------------------------------------

_INVOICED = ("posted", "paid")


def apply_invoices(session: Session, items: Sequence[ErpInvoice]) -> Applied:
    """Upsert invoices, link them to our orders by sale reference and to customers, and
    move the orders forward: sent/confirmed → invoiced (an invoice is posted) → paid
    (all its live invoices are paid). States never move backwards."""
    result = Applied(extra={"orders_invoiced": 0, "orders_paid": 0})
    if not items:
        return result
    pairs = latest_per_key(items, lambda i: i.external_id)
    customers = id_map(
        session,
        select(Customer.external_id, Customer.id).where(
            Customer.external_id.in_({i.customer_external_id for _, i in pairs})
        ),
    )
    wanted = {
        oid
        for _, i in pairs
        for ref in i.sale_references
        if (oid := order_id_from_reference(ref)) is not None
    }
    existing_orders = set(session.scalars(select(Order.id).where(Order.id.in_(wanted))))
    stored = {
        inv.external_id: inv
        for inv in session.scalars(
            select(Invoice).where(Invoice.external_id.in_([i.external_id for _, i in pairs]))
        )
    }
    touched: set[int] = set()
    for _, item in pairs:
        order_ids = [
            oid
            for ref in item.sale_references
            if (oid := order_id_from_reference(ref)) in existing_orders
        ]
        values = {
            "number": cut(item.number, 80),
            "state": item.state[:20],
            "order_id": order_ids[0] if order_ids else None,
            "customer_id": customers.get(item.customer_external_id),
            "currency": item.currency,
            "invoice_date": item.invoice_date,
            "due_date": item.due_date,
            "total_amount": item.total_amount,
            "amount_to_pay": item.amount_to_pay,
            "paid": item.paid,
            "erp_updated_at": utc(item.updated_at),
        }
        invoice = stored.get(item.external_id)
        if invoice is None:
            invoice = Invoice(external_id=item.external_id, **values)
            session.add(invoice)
        else:
            newer = utc(item.updated_at)
            if invoice.erp_updated_at and newer and newer < invoice.erp_updated_at:
                continue  # a late copy of an older version
            for name, value in values.items():
                setattr(invoice, name, value)
        touched.update(order_ids)
        result.upserted += 1
    session.flush()
    for order_id in sorted(touched):
        moved = advance_order_from_invoices(session, order_id=order_id)
        if moved == OrderState.invoiced:
            result.extra["orders_invoiced"] += 1
        elif moved == OrderState.paid:
            result.extra["orders_paid"] += 1
    return result


_BEFORE_INVOICED = (OrderState.approved, OrderState.sent, OrderState.confirmed)


def advance_order_from_invoices(session: Session, *, order_id: int) -> OrderState | None:
    """Move one order forward from the states of its invoices; returns the new state if
    it changed."""
    order = session.get(Order, order_id, with_for_update=True)
    if order is None:
        return None
    states = [
        (s, paid)
        for s, paid in session.execute(
            select(Invoice.state, Invoice.paid).where(Invoice.order_id == order_id)
        ).all()
        if s != "cancelled"
    ]
    target = None
    if states and all(paid for _, paid in states):
        target = OrderState.paid
    elif any(s in _INVOICED for s, _ in states):
        target = OrderState.invoiced
    if target is None:
        return None
    rank = {OrderState.invoiced: 1, OrderState.paid: 2}
    current = 0 if order.state in _BEFORE_INVOICED else rank.get(order.state)
    if current is None or current >= rank[target]:
        return None  # rejected/cancelled/draft orders, or already there
    order.state = target
    session.flush()
    _emit_progress(session, order, invoiced_now=current == 0)
    return target


def _emit_progress(session: Session, order: Order, *, invoiced_now: bool) -> None:
    """order.invoiced when the order leaves the states before invoicing (also straight to
    paid: it was invoiced too), order.paid when it is paid; once per order each."""
    invoice_ids = list(
        session.scalars(
            select(Invoice.id)
            .where(Invoice.order_id == order.id, Invoice.state != "cancelled")
            .order_by(Invoice.id)
        )
    )
    if invoiced_now:
        order_events.invoiced(session, order, invoice_ids)
    if order.state is OrderState.paid:
        order_events.paid(session, order, invoice_ids)


# -- payments -----------------------------------------------------------------------------


def apply_payments(
    session: Session, items: Sequence[ErpPayment], *, require_invoice: bool = False
) -> Applied:
    """Upsert payments linked to their invoice by the invoice's external id.

    ``require_invoice``: reject payments whose invoice we do not hold (inbound API);
    otherwise they are stored unlinked and counted (``unlinked``)."""
    result = Applied(extra={"unlinked": 0})
    if not items:
        return result
    invoices = id_map(
        session,
        select(Invoice.external_id, Invoice.id).where(
            Invoice.external_id.in_({i.invoice_external_id for i in items})
        ),
    )
    rows: dict[str, dict] = {}
    for index, item in enumerate(items):
        invoice_id = invoices.get(item.invoice_external_id)
        if invoice_id is None:
            if require_invoice:
                result.rejected.append(
                    (
                        index,
                        f"unknown invoice external id "
                        f"{item.invoice_external_id!r}: send the "
                        "invoice first",
                    )
                )
                continue
            result.extra["unlinked"] += 1
        rows[item.external_id] = {
            "external_id": item.external_id,
            "invoice_id": invoice_id,
            "amount": item.amount,
            "currency": item.currency,
            "paid_on": item.date,
            "method": cut(item.method, 80),
        }
        result.upserted += 1
    if rows:
        stmt = insert(Payment).values(list(rows.values()))
        stmt = stmt.on_conflict_do_update(
            index_elements=[Payment.external_id],
            set_={
                c: stmt.excluded[c]
                for c in ("invoice_id", "amount", "currency", "paid_on", "method")
            },
        )
        session.execute(stmt)
        session.flush()
    return result
