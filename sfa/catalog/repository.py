"""Product and price queries. The catalog is company-wide: no team filtering."""

from collections.abc import Iterable

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sfa import search
from sfa.catalog.models import CustomerPrice, Product


def products(*, q: str | None = None, include_inactive: bool = False) -> Select:
    stmt = select(Product)
    if not include_inactive:
        stmt = stmt.where(Product.active.is_(True))
    if q:
        stmt = stmt.where(search.contains(q, Product.code, Product.name))
    return stmt.order_by(Product.name, Product.id)


def get_product(session: Session, product_id: int) -> Product | None:
    return session.get(Product, product_id)


def get_products(session: Session, product_ids: Iterable[int]) -> dict[int, Product]:
    ids = set(product_ids)
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(ids)))}


def customer_prices(
    session: Session, customer_id: int, product_ids: Iterable[int]
) -> dict[int, CustomerPrice]:
    """This customer's own prices (from the ERP) for the given products, by product id."""
    ids = set(product_ids)
    if not ids:
        return {}
    rows = session.scalars(
        select(CustomerPrice).where(
            CustomerPrice.customer_id == customer_id, CustomerPrice.product_id.in_(ids)
        )
    )
    return {row.product_id: row for row in rows}
