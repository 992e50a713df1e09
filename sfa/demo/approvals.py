"""Demo orders in every state of the discount approval, each taken by a rep and decided by
the built-in "Discount approval" workflow as a real one is (sfa/orders/decisions.py):

- rep01, 3 %: approved at submit (auto; in the ERP outbox);
- rep02, 10 %: waiting for manager.budi (the manager's queue);
- rep03, 20 %: manager.budi approved it, waiting for finance (user `finance`);
- rep04, 12 %: not decided within discount_escalation_hours, escalated to the admins;
- rep05, 14 %: manager.budi rejected it, with a comment.

Also the demo's finance user (`finance`, password as the others). Loaded once: a second
call finds the finance user and does nothing.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.auth.passwords import hash_password
from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.demo.seed import DEMO_PASSWORD
from sfa.orders import service as order_service
from sfa.orders.models import Order
from sfa.orders.service import LineIn, NewOrder
from sfa.users.models import Role, User
from sfa.workflows import (
    consumer,  # noqa: F401 - decides orders at submit
    order_approvals,
    timers,
)

FINANCE = "finance"
# (rep, discount %, hours ago, what then)
SCENARIOS = (
    ("rep01", "3", 2, None),
    ("rep02", "10", 3, None),
    ("rep03", "20", 5, "approve"),
    ("rep04", "12", 30, "escalate"),
    ("rep05", "14", 6, "reject"),
)


@dataclass(frozen=True)
class ApprovalDemo:
    created: bool
    orders: dict[str, int]  # rep → order id


def _user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _order(session: Session, rep: User, discount: str, at: datetime) -> Order:
    customer = session.scalar(
        select(Customer).where(Customer.team_id == rep.team_id).order_by(Customer.id).limit(1)
    )
    product = session.scalar(
        select(Product)
        .where(Product.active, Product.salable, Product.list_price.is_not(None))
        .order_by(Product.id)
        .limit(1)
    )
    if customer is None or product is None:
        raise ValueError("the approval demo needs the demo's customers and catalog")
    order, _ = order_service.create_order(
        session,
        principal=auth_service.principal_for_user(session, rep),
        data=NewOrder(
            client_id=uuid.uuid5(uuid.NAMESPACE_URL, f"sfa-demo-approval:{rep.username}"),
            customer_id=customer.id,
            lines=(LineIn(product.id, Decimal(1), Decimal(discount)),),
            note="demo: discount approval",
        ),
        now=at,
    )
    return order


def seed_approval_demo(session: Session, *, password_hash: str | None = None) -> ApprovalDemo:
    """The finance user and one order per approval state (needs `seed_demo` first)."""
    if _user(session, FINANCE) is not None:
        return ApprovalDemo(created=False, orders={})
    session.add(
        User(
            username=FINANCE,
            full_name="Dewi (Finance)",
            role=Role.finance,
            password_hash=password_hash or hash_password(DEMO_PASSWORD),
            language="en",
        )
    )
    session.flush()
    budi = _user(session, "manager.budi")
    if budi is None:
        raise ValueError("the approval demo needs the demo manager manager.budi")
    manager = auth_service.principal_for_user(session, budi)
    now = datetime.now(UTC)
    made = {}
    for username, discount, hours_ago, then in SCENARIOS:
        rep = _user(session, username)
        if rep is None:
            raise ValueError(f"the approval demo needs the demo rep {username}")
        order = _order(session, rep, discount, now - timedelta(hours=hours_ago))
        if then == "approve":
            order_approvals.approve_order(
                session, principal=manager, order_id=order.id, note="regular customer"
            )
        elif then == "reject":
            order_approvals.reject_order(
                session, principal=manager, order_id=order.id, note="too much for one carton"
            )
        made[username] = order.id
    # The rep04 order has waited longer than discount_escalation_hours (24): the timers
    # job, as the scheduler runs it every minute, escalates it now.
    timers.wake_due(session, now=now)
    return ApprovalDemo(created=True, orders=made)
