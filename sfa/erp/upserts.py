"""Apply ERP master data (products, customers, customer prices) to our tables, keyed on
the ERP's external ids; invoices and payments are in ``documents.py`` (re-exported here).

Used by the pull phase of the sync (``sfa.erp.sync``) and by the inbound API for ERPs that
push instead. Every function is an idempotent upsert: applying the same items twice (the
pulls deliver at least once) changes nothing the second time. A record whose
``updated_at`` is older than what we already hold is left alone (late, out-of-order
delivery never rolls data back). Functions ``flush()``; the caller owns the transaction.

Items that cannot be applied (an unknown customer or product they refer to) are returned
as ``(index, reason)`` so that callers can report them per item.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.catalog.models import CustomerPrice, Product
from sfa.company import service as company_service
from sfa.customers import repository as customer_repository
from sfa.customers.models import Customer, LocationStatus
from sfa.erp.applied import (
    SALE_REFERENCE_PREFIX,
    Applied,
    cut,
    id_map,
    latest_per_key,
    order_id_from_reference,
    sale_reference,
    utc,
)
from sfa.erp.connector import ErpCustomer, ErpProduct
from sfa.erp.documents import advance_order_from_invoices, apply_invoices, apply_payments
from sfa.geo import to_geography


@dataclass(frozen=True)
class PriceItem:
    """A customer-specific price pushed by an ERP (Tryton has no pull for these)."""

    customer_external_id: str
    product_external_id: str
    price: Decimal
    currency: str | None = None


# -- products -------------------------------------------------------------------------------


def apply_products(session: Session, items: Sequence[ErpProduct]) -> Applied:
    """Insert or update products by external id, in one statement."""
    if not items:
        return Applied()
    rows = []
    for _, p in latest_per_key(items, lambda p: p.external_id):
        rows.append(
            {
                "external_id": p.external_id,
                "code": cut(p.code, 80),
                "name": cut(p.name, 300) or p.external_id,
                "unit": cut(p.unit, 20) or "",
                "unit_digits": p.unit_digits,
                "unit_rounding": p.unit_rounding,
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
                "erp_updated_at": utc(p.updated_at),
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
    return cut(", ".join(parts), 500) if parts else None


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


def new_customer_team(session: Session, item: ErpCustomer, *, radius_m: float) -> int | None:
    """The team a customer new from the ERP joins (docs/erp.md): with a known position,
    the team of the nearest customer within ``radius_m``; otherwise none, and the
    customer waits in the unassigned queue (``GET /v1/customers?unassigned=true``)."""
    if item.latitude is None or item.longitude is None:
        return None
    return customer_repository.nearest_team(
        session, lat=item.latitude, lon=item.longitude, radius_m=radius_m
    )


def _new_customer(session: Session, item: ErpCustomer, fields: dict, settings) -> Customer:
    customer = Customer(
        code=_free_code(session, item),
        external_id=item.external_id,
        team_id=new_customer_team(session, item, radius_m=settings.customer_team_radius_m),
        language=item.language or settings.language,
        **fields,
    )
    if item.latitude is not None and item.longitude is not None:
        customer.location = to_geography(item.latitude, item.longitude)
        customer.location_status = LocationStatus.imported
    return customer


def apply_customers(session: Session, items: Sequence[ErpCustomer]) -> Applied:
    """Update name, phone, email, address (and the language, when the ERP has one) of
    known customers by external id; create unknown ones with a generated code, the team
    of ``new_customer_team`` and the ERP's or else the company's language."""
    result = Applied(extra={"created": 0, "updated": 0, "unassigned": 0})
    pairs = latest_per_key(items, lambda c: c.external_id)
    known = {
        c.external_id: c
        for c in session.scalars(
            select(Customer).where(Customer.external_id.in_([p[1].external_id for p in pairs]))
        )
    }
    settings = company_service.get_company_settings(session) if pairs else None
    for _, item in pairs:
        fields = {
            "name": cut(item.name, 200) or f"ERP customer {item.external_id}",
            "phone": cut(item.phone or item.mobile, 40),
            "email": cut(item.email, 254),
            "address": _address(item),
        }
        customer = known.get(item.external_id)
        if customer is None:
            customer = _new_customer(session, item, fields, settings)
            session.add(customer)
            session.flush()  # the next generated code must see this one
            result.extra["created"] += 1
            result.extra["unassigned"] += customer.team_id is None
        else:
            if item.language:
                fields["language"] = item.language
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
    customers = id_map(
        session,
        select(Customer.external_id, Customer.id).where(
            Customer.external_id.in_({i.customer_external_id for i in items})
        ),
    )
    products = id_map(
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
    "new_customer_team",
    "order_id_from_reference",
    "sale_reference",
]
