"""The catalog for field users: products, and the price a given customer pays.

Read-only here: products and prices come from the ERP sync. The effective price of a
product for a customer is the customer's own price (`customer_prices`) when the ERP gave
one, else the product's list price; a product with neither has no price and cannot be
ordered.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.catalog import repository
from sfa.catalog.models import Product
from sfa.customers import service as customer_service
from sfa.errors import InvalidInput, NotFound
from sfa.pagination import Page, each_batch, paginate

MAX_PRICE_PRODUCTS = 500


@dataclass(frozen=True)
class EffectivePrice:
    product_id: int
    price: Decimal
    currency: str | None  # None: the company currency
    source: str  # "customer" (customer-specific) or "list"


def resolve_prices(
    session: Session, *, customer_id: int, product_ids: Iterable[int]
) -> dict[int, EffectivePrice]:
    """Effective prices with their origin; products without any price are left out."""
    ids = set(product_ids)
    found = repository.get_products(session, ids)
    specific = repository.customer_prices(session, customer_id, ids)
    result = {}
    for product_id in ids:
        if product_id in specific:
            row = specific[product_id]
            result[product_id] = EffectivePrice(product_id, row.price, row.currency, "customer")
        elif (product := found.get(product_id)) is not None and product.list_price is not None:
            result[product_id] = EffectivePrice(
                product_id, product.list_price, product.currency, "list"
            )
    return result


def unit_problem(product: Product, quantity: Decimal) -> str | None:
    """Why ``quantity`` does not fit the product's unit, or None. The ERP refuses a
    quantity with more decimals than its unit keeps (Tryton: ``product.uom.digits``) and
    its users count in steps of the unit's rounding (``product.uom.rounding``)."""
    unit = product.unit or "units"
    digits, step = product.unit_digits, product.unit_rounding
    shown = f"{quantity.normalize():f}"
    exponent = quantity.normalize().as_tuple().exponent  # an int for a finite quantity
    if digits is not None and isinstance(exponent, int) and -exponent > digits:
        if digits == 0:
            return f"is sold in whole {unit!r}: quantity {shown} is not possible"
        return (
            f"is sold in {unit!r} with at most {digits} decimals: quantity {shown} is not possible"
        )
    if step and quantity % step:
        return (
            f"is sold in steps of {step.normalize():f} {unit!r}: quantity {shown} is not possible"
        )
    return None


def effective_prices(
    session: Session, *, customer_id: int, product_ids: Iterable[int]
) -> dict[int, Decimal]:
    """Unit price per product id for this customer: customer price, else list price.

    No visibility check (callers check the customer); unknown or unpriced products are
    absent from the result.
    """
    return {
        pid: p.price
        for pid, p in resolve_prices(
            session, customer_id=customer_id, product_ids=product_ids
        ).items()
    }


def products_query(
    *, principal: Principal, q: str | None = None, include_inactive: bool = False
) -> Select:
    """The catalog asked for, in a total order (for `paginate` or an export)."""
    principal.require("catalog:read")
    return repository.products(q=q, include_inactive=include_inactive)


def get_product(session: Session, *, principal: Principal, product_id: int) -> Product:
    principal.require("catalog:read")
    product = repository.get_product(session, product_id)
    if product is None:
        raise NotFound(
            f"product {product_id} does not exist", hint="GET /v1/products lists the catalog"
        )
    return product


def _named_products(session: Session, product_ids: list[int]) -> list[Product]:
    ids = list(dict.fromkeys(product_ids))
    if not ids or len(ids) > MAX_PRICE_PRODUCTS:
        raise InvalidInput(
            f"product_ids must name 1 to {MAX_PRICE_PRODUCTS} products",
            hint="for example product_ids=12,15,40",
        )
    found = repository.get_products(session, ids)
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(
            f"unknown product ids: {', '.join(map(str, missing))}",
            details={"product_ids": missing},
        )
    return [found[i] for i in ids]


def _priced(
    session: Session, customer_id: int, products: list[Product]
) -> list[tuple[Product, EffectivePrice | None]]:
    prices = resolve_prices(session, customer_id=customer_id, product_ids=[p.id for p in products])
    return [(p, prices.get(p.id)) for p in products]


def customer_prices(
    session: Session,
    *,
    principal: Principal,
    customer_id: int,
    product_ids: list[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[tuple[Product, EffectivePrice | None]]:
    """Prices for one visible customer: of the given products, else a page of the active
    catalog. Items are (product, effective price or None when the product has no price).
    """
    principal.require("catalog:read")
    customer = customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    if product_ids is not None:
        products = _named_products(session, product_ids)
        page = Page(items=products, total=len(products), limit=len(products), offset=0)
    else:
        page = paginate(session, repository.products(), limit=limit, offset=offset)
    return Page(
        items=_priced(session, customer.id, page.items),
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


def customer_price_batches(
    session: Session, *, principal: Principal, customer_id: int, product_ids: list[int] | None
) -> Iterator[list[tuple[Product, EffectivePrice | None]]]:
    """Every price of `customer_prices` (the given products, else the whole active
    catalog) in batches, for an export."""
    principal.require("catalog:read")
    customer = customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    if product_ids is not None:
        yield _priced(session, customer.id, _named_products(session, product_ids))
        return
    for products in each_batch(session, repository.products()):
        yield _priced(session, customer.id, products)
