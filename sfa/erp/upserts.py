"""Apply ERP master data and documents to our tables, keyed on the ERP's external ids.

Used by the pull phase of the sync (``sfa.erp.sync``) and by the inbound API for ERPs that
push instead. Every function is an idempotent upsert: applying the same items twice (the
pulls deliver at least once) changes nothing the second time. A record whose
``updated_at`` is older than what we already hold is left alone (late, out-of-order
delivery never rolls data back). Functions ``flush()``; the caller owns the transaction.

Items that cannot be applied (an unknown customer or product they refer to) are returned
as ``(index, reason)`` so that callers can report them per item.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.catalog.models import CustomerPrice, Product
from sfa.customers.models import Customer
from sfa.erp.connector import ErpCustomer, ErpInvoice, ErpPayment, ErpProduct
from sfa.erp.models import Invoice, Payment
from sfa.orders.models import Order, OrderState

#: Our order id travels to the ERP as the sale reference ``SFA-<order id>`` (see sync.py).
SALE_REFERENCE_PREFIX = "SFA-"

T = TypeVar("T")


@dataclass(frozen=True)
class PriceItem:
    """A customer-specific price pushed by an ERP (Tryton has no pull for these)."""

    customer_external_id: str
    product_external_id: str
    price: Decimal
    currency: str | None = None


@dataclass
class Applied:
    upserted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)


def sale_reference(order_id: int) -> str:
    return f"{SALE_REFERENCE_PREFIX}{order_id}"


def order_id_from_reference(reference: str) -> int | None:
    if not reference.startswith(SALE_REFERENCE_PREFIX):
        return None
    digits = reference[len(SALE_REFERENCE_PREFIX) :]
    return int(digits) if digits.isdigit() else None


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _id_map(session: Session, stmt) -> dict:
    """{key: id} from a two-column select."""
    return {key: value for key, value in session.execute(stmt).all()}


def _cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def _latest_per_key(items: Sequence[T], key: Callable[[T], str]) -> list[tuple[int, T]]:
    """(index, item) keeping, for repeated keys in one batch, the last occurrence."""
    last: dict[str, tuple[int, T]] = {}
    for index, item in enumerate(items):
        last[key(item)] = (index, item)
    return sorted(last.values(), key=lambda pair: pair[0])


# -- products -------------------------------------------------------------------------------


def apply_products(session: Session, items: Sequence[ErpProduct]) -> Applied:
    """Insert or update products by external id, in one statement."""
    if not items:
        return Applied()
    rows = []
    for _, p in _latest_per_key(items, lambda p: p.external_id):
        rows.append(
            {
                "external_id": p.external_id,
                "code": _cut(p.code, 80),
                "name": _cut(p.name, 300) or p.external_id,
                "unit": _cut(p.unit, 20) or "",
                "list_price": p.list_price,
                "currency": p.currency,
                "taxes": [
                    {
                        "external_id": t.external_id,
                        "name": t.name,
                        "type": t.type,
                        "rate": str(t.rate) if t.rate is not None else None,
                        "amount": str(t.amount) if t.amount is not None else None,
                    }
                    for t in p.taxes
                ],
                "salable": p.salable,
                "active": p.active,
                "erp_updated_at": _utc(p.updated_at),
            }
        )
    stmt = insert(Product).values(rows)
    updates: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c != "external_id"}
    updates["updated_at"] = datetime.now(UTC)
    # An older version than the stored one (late delivery) changes nothing.
    stmt = stmt.on_conflict_do_update(
        index_elements=[Product.external_id],
        set_=updates,
        where=or_(
            Product.erp_updated_at.is_(None),
            stmt.excluded.erp_updated_at.is_(None),
            stmt.excluded.erp_updated_at >= Product.erp_updated_at,
        ),
    )
    session.execute(stmt)
    session.flush()
    return Applied(upserted=len(items))


# -- customers ------------------------------------------------------------------------------


def _address(c: ErpCustomer) -> str | None:
    city = " ".join(x for x in (c.postal_code, c.city) if x)
    parts = [x for x in (c.street, city, c.subdivision, c.country) if x]
    return _cut(", ".join(parts), 500) if parts else None


def _free_code(session: Session, c: ErpCustomer) -> str:
    """A unique customer code: the ERP's own code if free, else ERP-<external id>."""
    candidates = [x for x in (c.code, f"ERP-{c.external_id}") if x]
    for candidate in candidates:
        candidate = candidate[:40]
        if session.scalar(select(Customer.id).where(Customer.code == candidate)) is None:
            return candidate
    base = f"ERP-{c.external_id}"[:34]
    n = 2
    while session.scalar(select(Customer.id).where(Customer.code == f"{base}-{n}")):
        n += 1
    return f"{base}-{n}"


def apply_customers(session: Session, items: Sequence[ErpCustomer]) -> Applied:
    """Update name, phone, email and address of known customers (by external id); create
    unknown ones with a generated code and no territory (an admin assigns the team)."""
    result = Applied(extra={"created": 0, "updated": 0})
    pairs = _latest_per_key(items, lambda c: c.external_id)
    known = {
        c.external_id: c
        for c in session.scalars(
            select(Customer).where(Customer.external_id.in_([p[1].external_id for p in pairs]))
        )
    }
    for _, item in pairs:
        fields = {
            "name": _cut(item.name, 200) or f"ERP customer {item.external_id}",
            "phone": _cut(item.phone or item.mobile, 40),
            "email": _cut(item.email, 254),
            "address": _address(item),
        }
        customer = known.get(item.external_id)
        if customer is None:
            customer = Customer(
                code=_free_code(session, item), external_id=item.external_id, team_id=None, **fields
            )
            session.add(customer)
            session.flush()  # the next generated code must see this one
            result.extra["created"] += 1
        else:
            for name, value in fields.items():
                if getattr(customer, name) != value:
                    setattr(customer, name, value)
            result.extra["updated"] += 1
        result.upserted += 1
    session.flush()
    return result


# -- customer prices ------------------------------------------------------------------------


def apply_prices(session: Session, items: Sequence[PriceItem]) -> Applied:
    result = Applied()
    if not items:
        return result
    customers = _id_map(
        session,
        select(Customer.external_id, Customer.id).where(
            Customer.external_id.in_({i.customer_external_id for i in items})
        ),
    )
    products = _id_map(
        session,
        select(Product.external_id, Product.id).where(
            Product.external_id.in_({i.product_external_id for i in items})
        ),
    )
    rows: dict[tuple[int, int], dict] = {}
    for index, item in enumerate(items):
        customer_id = customers.get(item.customer_external_id)
        product_id = products.get(item.product_external_id)
        if customer_id is None:
            result.rejected.append(
                (
                    index,
                    f"unknown customer external id "
                    f"{item.customer_external_id!r}: send the "
                    "customer first",
                )
            )
        elif product_id is None:
            result.rejected.append(
                (
                    index,
                    f"unknown product external id "
                    f"{item.product_external_id!r}: send the "
                    "product first",
                )
            )
        else:
            rows[(customer_id, product_id)] = {
                "customer_id": customer_id,
                "product_id": product_id,
                "price": item.price,
                "currency": item.currency,
            }
            result.upserted += 1
    if rows:
        stmt = insert(CustomerPrice).values(list(rows.values()))
        stmt = stmt.on_conflict_do_update(
            index_elements=[CustomerPrice.customer_id, CustomerPrice.product_id],
            set_={
                "price": stmt.excluded.price,
                "currency": stmt.excluded.currency,
                "updated_at": datetime.now(UTC),
            },
        )
        session.execute(stmt)
        session.flush()
    return result


# -- invoices and the order states they imply -------------------------------------------

_INVOICED = ("posted", "paid")


def apply_invoices(session: Session, items: Sequence[ErpInvoice]) -> Applied:
    """Upsert invoices, link them to our orders by sale reference and to customers, and
    move the orders forward: sent/confirmed → invoiced (an invoice is posted) → paid
    (all its live invoices are paid). States never move backwards."""
    result = Applied(extra={"orders_invoiced": 0, "orders_paid": 0})
    if not items:
        return result
    pairs = _latest_per_key(items, lambda i: i.external_id)
    customers = _id_map(
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
            "number": _cut(item.number, 80),
            "state": item.state[:20],
            "order_id": order_ids[0] if order_ids else None,
            "customer_id": customers.get(item.customer_external_id),
            "currency": item.currency,
            "invoice_date": item.invoice_date,
            "due_date": item.due_date,
            "total_amount": item.total_amount,
            "amount_to_pay": item.amount_to_pay,
            "paid": item.paid,
            "erp_updated_at": _utc(item.updated_at),
        }
        invoice = stored.get(item.external_id)
        if invoice is None:
            invoice = Invoice(external_id=item.external_id, **values)
            session.add(invoice)
        else:
            newer = _utc(item.updated_at)
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
    return target


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
    invoices = _id_map(
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
            "method": _cut(item.method, 80),
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


__all__ = [
    "SALE_REFERENCE_PREFIX",
    "Applied",
    "PriceItem",
    "advance_order_from_invoices",
    "apply_customers",
    "apply_invoices",
    "apply_payments",
    "apply_prices",
    "apply_products",
    "order_id_from_reference",
    "sale_reference",
]
