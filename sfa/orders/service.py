"""Field orders: taken by a rep, priced from the catalog, approved by discount risk (the
"Discount approval" workflow decides: sfa/orders/decisions.py).

Idempotent like check-ins: the app generates a ``client_id`` per order; the same
client_id with the same content returns the first order, with other content it is a
conflict. ``sent_at`` (the device clock at sending) differs on each retry and is not part
of the content. Unit prices always come from the catalog (``catalog.service``), never
from the client. Amounts are Decimal and rounded as the ERP rounds them (``sfa.money``,
half to even; ``price_decimals`` and ``amount_rounding`` are company settings), so that
the ERP's sale carries the same net price and line amount as the order:

    net price  = unit price × (1 - discount % / 100), to price_decimals
    line net   = quantity × net price, to amount_rounding
    line gross = quantity × unit price, to amount_rounding
    order gross/net = sums of the lines;  discount = gross - net
    order discount_pct = discount ÷ gross × 100 (the risk measure of the approval tier)

A quantity must fit the product's unit (the ERP's digits and rounding of it): 2.5 of a
unit sold whole is refused here rather than by the ERP after approval.

Prices are fixed when the order is created; submitting a draft later does not re-price.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa import idempotency
from sfa import money as rounding
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.catalog import repository as catalog_repository
from sfa.catalog import service as catalog_service
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.customers import repository as customer_repository
from sfa.errors import Conflict, Forbidden, InvalidInput
from sfa.orders import decisions, repository
from sfa.orders.models import (
    ErpOutbox,
    Order,
    OrderLine,
    OrderState,
)
from sfa.visits import repository as visit_repository

PCT_PLACES = Decimal("0.001")
QTY_PLACES = Decimal("0.0001")
MAX_LINES = 500


@dataclass(frozen=True)
class LineIn:
    product_id: int
    quantity: Decimal
    discount_pct: Decimal = Decimal(0)


@dataclass(frozen=True)
class NewOrder:
    client_id: uuid.UUID
    customer_id: int
    lines: tuple[LineIn, ...]
    visit_id: int | None = None
    note: str | None = None
    submit: bool = True
    # The device's clock when it sent the request; not part of the order's identity.
    sent_at: datetime | None = field(default=None, compare=False)


@dataclass(frozen=True)
class OrderDetails:
    order: Order
    lines: list[OrderLine]
    outbox: ErpOutbox | None = None  # its way to the ERP, once approved


def _number(value: Decimal) -> str:
    """3, 3.0 and 3.00 are the same quantity: one canonical text for the fingerprint."""
    return f"{Decimal(value).normalize():f}"


def _fingerprint(data: NewOrder) -> str:
    payload = {
        "customer_id": data.customer_id,
        "visit_id": data.visit_id,
        "note": data.note,
        "submit": data.submit,
        "lines": [
            {
                "product_id": ln.product_id,
                "quantity": _number(ln.quantity),
                "discount_pct": _number(ln.discount_pct),
            }
            for ln in data.lines
        ],
    }
    return idempotency.fingerprint(payload)


def _require_rep(principal: Principal) -> None:
    principal.require("orders:write")
    if not principal.is_rep:
        raise Forbidden("only reps take orders", hint="log in with the rep's own account")


def check_quantity(where: str, quantity: Decimal) -> None:
    if not quantity.is_finite() or quantity <= 0:
        raise InvalidInput(f"{where}.quantity must be greater than 0")
    if quantity != quantity.quantize(QTY_PLACES):
        raise InvalidInput(f"{where}.quantity has more than 4 decimals")


def _check_lines(lines: tuple[LineIn, ...]) -> None:
    if not 1 <= len(lines) <= MAX_LINES:
        raise InvalidInput(f"an order needs 1 to {MAX_LINES} lines, got {len(lines)}")
    for i, line in enumerate(lines):
        check_quantity(f"lines[{i}]", line.quantity)
        if not line.discount_pct.is_finite() or not 0 <= line.discount_pct <= 100:
            raise InvalidInput(f"lines[{i}].discount_pct must be between 0 and 100")
        if line.discount_pct != line.discount_pct.quantize(PCT_PLACES):
            raise InvalidInput(f"lines[{i}].discount_pct has more than 3 decimals")


def _price_lines(
    session: Session, *, customer_id: int, currency: str, lines: tuple[LineIn, ...]
) -> list[tuple[LineIn, Decimal]]:
    """Each line with its catalog unit price; refuses what cannot be sold to this customer."""
    ids = [ln.product_id for ln in lines]
    products = catalog_repository.get_products(session, ids)
    prices = catalog_service.resolve_prices(session, customer_id=customer_id, product_ids=ids)
    problems = []
    for i, line in enumerate(lines):
        product = products.get(line.product_id)
        price = prices.get(line.product_id)
        where = f"lines[{i}]: product {line.product_id}"
        if product is None:
            problems.append(f"{where} does not exist")
        elif not product.active:
            problems.append(f"{where} ({product.name}) is no longer active")
        elif not product.salable:
            problems.append(f"{where} ({product.name}) is not salable")
        elif price is None:
            problems.append(f"{where} ({product.name}) has no price")
        elif unfit := catalog_service.unit_problem(product, line.quantity):
            problems.append(f"{where} ({product.name}) {unfit}")
        elif price.currency not in (None, currency):
            problems.append(
                f"{where} ({product.name}) is priced in {price.currency}, orders are in {currency}"
            )
    if problems:
        raise InvalidInput(
            "; ".join(problems),
            hint="GET /v1/customers/{customer_id}/prices lists what this "
            "customer can order, at which price and in which unit (unit_digits: the "
            "decimals a quantity may have)",
            details={"problems": problems},
        )
    return [(ln, prices[ln.product_id].price) for ln in lines]


def price_line(
    settings: CompanySettings,
    *,
    line_no: int,
    product_id: int,
    quantity: Decimal,
    unit_price: Decimal,
    discount_pct: Decimal,
) -> tuple[Decimal, OrderLine]:
    """(line gross, the line) with its net price and amount rounded as the ERP does."""
    net_price = rounding.net_unit_price(unit_price, discount_pct / 100, settings.price_decimals)
    gross = rounding.round_amount(quantity * unit_price, settings.amount_rounding)
    line = OrderLine(
        line_no=line_no,
        product_id=product_id,
        quantity=quantity,
        unit_price=unit_price,
        discount_pct=discount_pct,
        net_price=net_price,
        net_amount=rounding.round_amount(quantity * net_price, settings.amount_rounding),
    )
    return gross, line


def set_totals(order: Order, priced: list[tuple[Decimal, OrderLine]]) -> None:
    """The order's amounts and discount share from its priced lines."""
    gross = sum((g for g, _ in priced), Decimal("0.00"))
    net = sum((ln.net_amount for _, ln in priced), Decimal("0.00"))
    discount = gross - net
    order.gross_amount = gross
    order.net_amount = net
    order.discount_amount = discount
    order.discount_pct = (
        (discount * 100 / gross).quantize(PCT_PLACES, ROUND_HALF_UP) if gross else Decimal("0.000")
    )


def create_order(
    session: Session,
    *,
    principal: Principal,
    data: NewOrder,
    now: datetime | None = None,
    entered_by: Principal | None = None,
) -> tuple[Order, bool]:
    """Returns (order, created). A replay of the same client_id returns the first order.

    `entered_by`: the office user who keys in a customer's own purchase order for the rep
    (`principal`, whose territory and prices apply); audited as the actor. The caller
    checks that this user may act for the rep (sfa/purchase_orders/service.py).
    """
    _require_rep(principal)
    actor = (entered_by or principal).actor
    now = now or datetime.now(UTC)
    fingerprint = _fingerprint(data)
    existing = repository.find_by_client_id(session, principal.id, data.client_id)
    if existing is not None:
        return _replayed(existing, fingerprint), False

    _check_lines(data.lines)
    customer = get_visible_or_raise(
        customer_repository.get_visible,
        session,
        principal,
        data.customer_id,
        what="customer",
        hint="reps take orders from the customers of their team's territory",
    )
    if data.visit_id is not None:
        visit = visit_repository.get_visible(session, principal, data.visit_id)
        if visit is None:
            raise InvalidInput(f"visit {data.visit_id} does not exist or is not yours")
        if visit.customer_id != customer.id:
            raise InvalidInput(
                f"visit {data.visit_id} was at customer {visit.customer_id}, not {customer.id}"
            )
    settings = company_service.get_company_settings(session)
    priced = _price_lines(
        session, customer_id=customer.id, currency=settings.currency, lines=data.lines
    )

    order_lines = [
        price_line(
            settings,
            line_no=line_no,
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=unit_price,
            discount_pct=line.discount_pct,
        )
        for line_no, (line, unit_price) in enumerate(priced, start=1)
    ]
    order = Order(
        client_id=data.client_id,
        request_hash=fingerprint,
        rep_id=principal.id,
        customer_id=customer.id,
        visit_id=data.visit_id,
        state=OrderState.draft,
        currency=settings.currency,
        note=data.note,
    )
    set_totals(order, order_lines)
    try:
        with session.begin_nested():
            session.add(order)
            session.flush()
    except IntegrityError:
        # The same order arrived twice at once: the other request stored it first.
        existing = repository.find_by_client_id(session, principal.id, data.client_id)
        if existing is None:
            raise
        return _replayed(existing, fingerprint), False
    for _, order_line in order_lines:
        order_line.order_id = order.id
        session.add(order_line)
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="order",
        entity_id=order.id,
        action="create",
        new={
            "state": str(order.state),
            "customer_id": order.customer_id,
            "gross_amount": str(order.gross_amount),
            "net_amount": str(order.net_amount),
            "discount_pct": str(order.discount_pct),
        },
    )
    if data.submit:
        decisions.submit(session, order=order, actor=actor, now=now)
    return order, True


def _replayed(existing: Order, fingerprint: str) -> Order:
    return idempotency.replayed(
        existing,
        stored_hash=existing.request_hash,
        new_hash=fingerprint,
        client_id=existing.client_id,
        what="order",
    )


def own_order(
    session: Session, principal: Principal, order_id: int, *, for_update: bool = True
) -> Order:
    _require_rep(principal)
    return get_visible_or_raise(
        partial(repository.get_visible, for_update=for_update),
        session,
        principal,
        order_id,
        what="order",
    )


def submit_order(
    session: Session, *, principal: Principal, order_id: int, now: datetime | None = None
) -> Order:
    """Submit a draft for approval. Resubmitting a submitted order returns it unchanged."""
    order = own_order(session, principal, order_id)
    if order.state is OrderState.draft:
        decisions.submit(session, order=order, actor=principal.actor, now=now or datetime.now(UTC))
    elif order.submitted_at is None:
        raise Conflict(f"order {order_id} is {order.state} and can no longer be submitted")
    return order


def get_order(session: Session, *, principal: Principal, order_id: int) -> Order:
    principal.require("orders:read")
    return get_visible_or_raise(repository.get_visible, session, principal, order_id, what="order")


def details(session: Session, *, order: Order) -> OrderDetails:
    return OrderDetails(
        order=order,
        lines=repository.lines_for(session, [order.id])[order.id],
        outbox=repository.outbox_for(session, order.id),
    )


def orders_query(
    session: Session,
    *,
    principal: Principal,
    state: OrderState | None = None,
    rep_id: int | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """Visible orders, newest first (for `paginate` or an export); dates are
    company-local days of creation."""
    principal.require("orders:read")
    if date_from and date_to and date_from > date_to:
        raise InvalidInput("date_from must not be after date_to")
    tz = company_service.get_company_settings(session).tz
    start = datetime.combine(date_from, time(), tz) if date_from else None
    end = datetime.combine(date_to + timedelta(days=1), time(), tz) if date_to else None
    stmt = repository.filter_orders(
        repository.visible_orders(principal),
        state=state,
        rep_id=rep_id,
        customer_id=customer_id,
        created_from=start,
        created_before=end,
    )
    return stmt


def count_by_state(session: Session, *, principal: Principal) -> dict[OrderState, int]:
    """How many visible orders are in each state (every state listed, 0 when none)."""
    principal.require("orders:read")
    counts = repository.count_by_state(session, principal)
    return {state: counts.get(state, 0) for state in OrderState}
