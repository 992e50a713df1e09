"""The discount-approval demo (sfa/demo/approvals.py, loaded by `sfa seed-demo`): one
order in each state of the Discount approval workflow, reached as real orders reach it."""

from sqlalchemy import select

from sfa.demo.approvals import seed_approval_demo
from sfa.demo.seed import seed_demo
from sfa.orders.models import ErpOutbox, Order
from sfa.users.models import User
from sfa.workflows import order_approvals


def levels(db, order_id):
    return [
        (a.level, a.state, a.approver_role or "user")
        for a in order_approvals.approvals_for(db, [order_id])[order_id]
    ]


def test_one_order_in_each_approval_state(db):
    seed_demo(db)
    demo = seed_approval_demo(db, password_hash="x")
    assert demo.created and seed_approval_demo(db).created is False  # loaded once
    orders = {rep: db.get_one(Order, oid) for rep, oid in demo.orders.items()}
    state = {rep: (o.state, o.approval_tier) for rep, o in orders.items()}
    assert state == {
        "rep01": ("approved", "auto"),
        "rep02": ("submitted", "single"),
        "rep03": ("submitted", "double"),
        "rep04": ("submitted", "single"),
        "rep05": ("rejected", "single"),
    }
    assert levels(db, orders["rep01"].id) == []
    assert levels(db, orders["rep02"].id) == [(1, "pending", "user")]
    assert levels(db, orders["rep03"].id) == [(1, "approved", "user"), (2, "pending", "finance")]
    assert levels(db, orders["rep04"].id) == [(1, "escalated", "user"), (1, "pending", "admin")]
    assert levels(db, orders["rep05"].id) == [(1, "rejected", "user")]
    outbox = db.scalars(select(ErpOutbox.order_id)).all()
    assert outbox == [orders["rep01"].id]
    assert db.scalar(select(User.role).where(User.username == "finance")) == "finance"
