"""Changing an order on its way to the ERP: cancelled (by its rep or an admin) or
corrected (by an admin), so that an order the ERP refused is never stuck.

An order the ERP refused is *parked* (outbox row ``parked``, reason in ``last_error``;
the ERP holds no confirmed sale for it). Its ways out:

* **correct** (admin): change line quantities (e.g. 2.5 → 2 of a unit sold whole); the
  lines are re-priced with their unit prices and discounts as taken, the totals follow,
  the row is queued again and the rep is told (in-app);
* **cancel** (its rep, or an admin with a reason the rep is told): the order is
  ``cancelled``; the sync then removes the draft the ERP may hold (outbox action
  ``cancel``). A distributor who was told of the order is told it is cancelled;
* **retry** (admin, ``POST /v1/sync/outbox/retry``) after fixing what the ERP refused
  in the master data (a product, the customer's address in the ERP).

Locks are taken as the ERP push takes them (outbox row, then order), so a change never
races a push: a push in progress holds the row and the change waits for its outcome.
"""

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.audit.models import AuditEntry
from sfa.auth.principal import Principal
from sfa.catalog import repository as catalog_repository
from sfa.catalog import service as catalog_service
from sfa.company import service as company_service
from sfa.errors import Conflict, InvalidInput, NotFound
from sfa.events.service import Actor
from sfa.orders import events, repository, service
from sfa.orders.models import ErpOutbox, Order, OrderState, OutboxAction, OutboxState

CANCELLED_BEFORE_SENDING = "cancelled before sending"
CANCELLABLE = {OrderState.draft, OrderState.submitted, OrderState.approved}


def _locked(
    session: Session, principal: Principal, order_id: int
) -> tuple[Order, ErpOutbox | None]:
    """The order (a rep's own; any for an admin) and its outbox row, locked."""
    if principal.is_admin:
        order = repository.get_visible(session, principal, order_id)
        if order is None:
            raise NotFound(f"order {order_id} does not exist")
    else:
        order = service.own_order(session, principal, order_id, for_update=False)
    outbox = repository.outbox_for(session, order.id, for_update=True)
    session.refresh(order, with_for_update=True)
    return order, outbox


def _release(outbox: ErpOutbox | None, order_id: int, now: datetime) -> None:
    """The outbox row of an approved order being cancelled."""
    if outbox is None:
        return
    if outbox.state is OutboxState.pending and outbox.attempts == 0:
        outbox.state = OutboxState.done  # never tried: the ERP has nothing
        outbox.last_error = CANCELLED_BEFORE_SENDING
        outbox.done_at = now
    elif outbox.state is OutboxState.parked:
        # The ERP refused it, so it holds no confirmed sale; a draft may remain.
        outbox.action = OutboxAction.cancel
        outbox.state = OutboxState.pending
        outbox.attempts = 0
        outbox.next_attempt_at = now
        outbox.last_error = "cancelled: the next sync removes the draft the ERP may hold"
    else:
        raise Conflict(
            f"order {order_id} is already being sent to the ERP",
            hint="the ERP may already hold the sale; wait for the next sync: if it "
            "confirms the sale, ask the office to cancel it in the ERP",
        )


def cancel_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    reason: str | None = None,
    now: datetime | None = None,
) -> Order:
    """Cancel an order the ERP has not confirmed; cancelling twice is a no-op.

    A rep cancels their own orders, an admin any (with ``reason``, which the rep is told).
    An approved order is cancellable while its outbox row was never tried, or after the
    ERP refused it (parked); while a send is under way (tried, waiting to retry) the ERP
    may be confirming it, so it is refused."""
    now = now or datetime.now(UTC)
    if not principal.is_admin:
        principal.require("orders:write")
    order, outbox = _locked(session, principal, order_id)
    if order.state is OrderState.cancelled:
        return order
    if order.state not in CANCELLABLE:
        raise Conflict(
            f"order {order_id} is {order.state}: the ERP already has it",
            hint="ask the office to cancel the sale in the ERP",
        )
    before = {"state": str(order.state)}
    if order.state is OrderState.approved:
        _release(outbox, order.id, now)
    order.state = OrderState.cancelled
    session.flush()
    _audit(
        session, principal, order, "cancel", before, {"state": str(order.state), "reason": reason}
    )
    by_office = principal.user_id != order.rep_id
    events.cancelled(
        session,
        order,
        actor=Actor.of(principal),
        previous_state=before["state"],
        by_office=by_office,
        reason=reason,
        occurred_at=now,
    )
    return order


def correct_order(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    quantities: dict[int, Decimal],
    note: str | None = None,
    now: datetime | None = None,
) -> Order:
    """An admin corrects the quantities (by line number) of an order the ERP refused and
    sends it again: the lines keep their unit prices and discounts, amounts follow."""
    principal.require_admin()
    now = now or datetime.now(UTC)
    order, outbox = _locked(session, principal, order_id)
    if (
        outbox is None
        or outbox.state is not OutboxState.parked
        or outbox.action is not (OutboxAction.push)
    ):
        raise Conflict(
            f"order {order_id} is not parked on its way to the ERP: only an order the ERP "
            "refused is corrected",
            hint="GET /v1/sync/outbox?state=parked lists them with the ERP's reason",
        )
    lines = {line.line_no: line for line in repository.lines_for(session, [order.id])[order.id]}
    unknown = sorted(set(quantities) - set(lines))
    if unknown:
        raise InvalidInput(
            f"order {order_id} has no line(s) {', '.join(map(str, unknown))}",
            hint=f"its lines are {', '.join(map(str, sorted(lines)))}",
        )
    products = catalog_repository.get_products(session, [lines[n].product_id for n in quantities])
    for line_no, quantity in quantities.items():
        where = f"line {line_no}"
        service.check_quantity(where, quantity)
        product = products[lines[line_no].product_id]
        if problem := catalog_service.unit_problem(product, quantity):
            raise InvalidInput(f"{where}: product {product.id} ({product.name}) {problem}")
    before = _snapshot(order, lines.values())
    settings = company_service.get_company_settings(session)
    priced = []
    for line in sorted(lines.values(), key=lambda ln: ln.line_no):
        gross, fresh = service.price_line(
            settings,
            line_no=line.line_no,
            product_id=line.product_id,
            quantity=quantities.get(line.line_no, line.quantity),
            unit_price=line.unit_price,
            discount_pct=line.discount_pct,
        )
        line.quantity, line.net_price, line.net_amount = (
            fresh.quantity,
            fresh.net_price,
            fresh.net_amount,
        )
        priced.append((gross, line))
    service.set_totals(order, priced)
    outbox.state, outbox.attempts, outbox.next_attempt_at = OutboxState.pending, 0, now
    outbox.last_error = None
    session.flush()
    entry = _audit(
        session,
        principal,
        order,
        "correct",
        before,
        _snapshot(order, lines.values()) | {"note": note},
    )
    events.corrected(
        session, order, actor=Actor.of(principal), audit_id=entry.id, note=note, occurred_at=now
    )
    return order


def _audit(
    session: Session, principal: Principal, order: Order, action: str, old, new
) -> AuditEntry:
    return audit_service.record(
        session,
        actor=principal.actor,
        entity="order",
        entity_id=order.id,
        action=action,
        old=old,
        new=new,
    )


def _snapshot(order: Order, lines) -> dict:
    return {
        "net_amount": str(order.net_amount),
        "discount_pct": str(order.discount_pct),
        "quantities": {str(ln.line_no): str(ln.quantity) for ln in lines},
    }
