"""The order rules: who hears of an order, and when.

* ``order_placed`` — an order of a secondary customer is **approved** (at once for a
  small discount, else when its last approver says yes) → its distributor is asked by
  email to prepare the delivery, and the rep is told in-app. Not at submission: an order
  still waiting for a discount approval may be rejected, and a distributor must never
  prepare the delivery of an order that does not exist. A rejected order therefore
  sends the distributor nothing.
* The same rule follows up: an approved order **cancelled** afterwards (by its rep, or
  by the office after the ERP refused it) → if the distributor's email is still
  waiting, it is withdrawn (the distributor hears nothing); if it went out, the
  distributor is told the order is cancelled.
* ``order_changed`` — the office **cancels** or **corrects** a rep's order (an order the
  ERP refused) → the rep is told in-app, with the office's note.

Each rule enqueues in the caller's transaction (``outbox.enqueue``), idempotently.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.notifications import outbox, rule_settings
from sfa.notifications.models import Channel, Notification, NotificationState
from sfa.notifications.rule_settings import ORDER_CHANGED, ORDER_PLACED
from sfa.notifications.templates import pick_language
from sfa.orders.models import Order
from sfa.users.models import User

# A notice in these states may have reached the distributor: a follow-up is owed.
_MAY_HAVE_ARRIVED = (NotificationState.sending, NotificationState.sent, NotificationState.uncertain)


def order_ref(order: Order) -> str:
    return order.erp_number or f"#{order.id}"


def money_text(value) -> str:
    return f"{value:,.2f}"


def _placed_key(order: Order, who: str) -> str:
    return f"{ORDER_PLACED}:{order.id}:{who}"


def _payload(order: Order, customer: Customer, distributor: Customer | None, rep) -> dict:
    return {
        "order_id": order.id,
        "order_ref": order_ref(order),
        "customer_name": customer.name,
        "distributor_name": distributor.name if distributor else "",
        "rep_name": rep.full_name if rep else "",
        "currency": order.currency,
        "net_amount": money_text(order.net_amount),
    }


def _enqueue(session, order, *, rule, template, key, payload, now, to) -> int:
    """One row about ``order`` for ``to``: its distributor (email) or its rep (in-app)."""
    settings = company_service.get_company_settings(session)
    if isinstance(to, Customer):
        if not to.email:
            return 0
        channel, user_id, customer_id, address = Channel.email, None, to.id, to.email
    else:
        channel, user_id, customer_id, address = Channel.in_app, to.id, None, None
    row = outbox.enqueue(
        session,
        settings=settings,
        rule=rule,
        channel=channel,
        template=template,
        dedupe_key=key,
        language=pick_language(to.language, settings.language),
        payload=payload,
        due_at=now,
        recipient_user_id=user_id,
        recipient_customer_id=customer_id,
        address=address,
        entity="order",
        entity_id=order.id,
    )
    return int(row is not None)


def _distributor(session, order) -> Customer:
    return session.get_one(Customer, session.get_one(Customer, order.customer_id).distributor_id)


def _to_distributor(session, order, *, template, key, payload, now) -> int:
    return _enqueue(
        session,
        order,
        rule=ORDER_PLACED,
        template=template,
        key=key,
        payload=payload,
        now=now,
        to=_distributor(session, order),
    )


def _to_rep(session, order, *, rule, template, key, payload, now) -> int:
    rep = session.get(User, order.rep_id)
    if rep is None:
        return 0
    return _enqueue(
        session, order, rule=rule, template=template, key=key, payload=payload, now=now, to=rep
    )


def notify_order_placed(session: Session, *, order: Order, now: datetime | None = None) -> int:
    """Rule ``order_placed``: call when the order becomes approved (same transaction)."""
    enabled, _ = rule_settings.get_rule(session, ORDER_PLACED)
    customer = session.get(Customer, order.customer_id)
    if not enabled or customer is None or customer.distributor_id is None:
        return 0
    now = now or datetime.now(UTC)
    distributor = session.get(Customer, customer.distributor_id)
    payload = _payload(order, customer, distributor, session.get(User, order.rep_id))
    sent = _to_distributor(
        session,
        order,
        template="order_placed_distributor",
        key=_placed_key(order, "distributor"),
        payload=payload,
        now=now,
    )
    return sent + _to_rep(
        session,
        order,
        rule=ORDER_PLACED,
        template="order_placed_rep",
        key=_placed_key(order, "rep"),
        payload=payload,
        now=now,
    )


def notify_order_cancelled(
    session: Session,
    *,
    order: Order,
    by_office: bool,
    reason: str | None = None,
    now: datetime | None = None,
) -> int:
    """Follow-ups of a cancelled order: the distributor's notice withdrawn or a
    cancellation sent; the rep told when the office cancelled it."""
    now = now or datetime.now(UTC)
    count = 0
    placed = {
        n.dedupe_key: n
        for n in session.scalars(
            select(Notification).where(
                Notification.dedupe_key.in_(
                    [_placed_key(order, "distributor"), _placed_key(order, "rep")]
                )
            )
        )
    }
    for notice in placed.values():
        if notice.state is NotificationState.pending:
            notice.state = NotificationState.cancelled
            notice.last_error = "the order was cancelled before this went out"
    told = placed.get(_placed_key(order, "distributor"))
    customer = session.get_one(Customer, order.customer_id)
    rep = session.get(User, order.rep_id)
    if told is not None and told.state in _MAY_HAVE_ARRIVED:
        distributor = session.get(Customer, customer.distributor_id)
        count += _to_distributor(
            session,
            order,
            template="order_cancelled_distributor",
            key=_placed_key(order, "distributor:cancelled"),
            payload=_payload(order, customer, distributor, rep),
            now=now,
        )
    enabled, _ = rule_settings.get_rule(session, ORDER_CHANGED)
    if by_office and enabled:
        count += _to_rep(
            session,
            order,
            rule=ORDER_CHANGED,
            template="order_cancelled_rep",
            key=f"{ORDER_CHANGED}:{order.id}:cancelled",
            payload=_payload(order, customer, None, rep) | {"note": reason or "-"},
            now=now,
        )
    session.flush()
    return count


def notify_order_corrected(
    session: Session, *, order: Order, note: str | None, now: datetime | None = None
) -> int:
    """Rule ``order_changed``: the office corrected the rep's order and resent it."""
    enabled, _ = rule_settings.get_rule(session, ORDER_CHANGED)
    if not enabled:
        return 0
    now = now or datetime.now(UTC)
    customer = session.get_one(Customer, order.customer_id)
    return _to_rep(
        session,
        order,
        rule=ORDER_CHANGED,
        template="order_corrected_rep",
        # each correction is news: keyed by its time
        key=f"{ORDER_CHANGED}:{order.id}:corrected:{now.isoformat()}",
        payload=_payload(order, customer, None, session.get(User, order.rep_id))
        | {"note": note or "-"},
        now=now,
    )
