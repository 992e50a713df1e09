"""A run's context loaded from the database: plain JSON data with the catalog's fields,
money exact at the tier boundaries, the customer's payment record."""

import json
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from workflow_samples import discount_approval

from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.erp.models import Invoice
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder
from sfa.workflows import catalog, context, dryrun, logic, validation

TODAY = date(2026, 12, 2)


def _order(db, world, discount: str):
    product = Product(
        external_id=f"p-{discount}",
        code="P1",
        name="Kopi",
        unit="pcs",
        list_price=Decimal("100000"),
        currency="IDR",
    )
    db.add(product)
    db.flush()
    order, _ = order_service.create_order(
        db,
        principal=auth_service.principal_for_user(db, world.rep_b),
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=world.customer_b.id,
            lines=(LineIn(product.id, Decimal(2), Decimal(discount)),),
        ),
    )
    return order


def _event_context(db, order):
    payload = {"order_id": order.id, "rep_id": order.rep_id, "customer_id": order.customer_id}
    event = {
        "id": 1,
        "type": "order.submitted",
        "occurred_at": datetime(2026, 12, 2, tzinfo=UTC),
        "actor": f"user:{order.rep_id}",
        "subject": {"kind": "order", "id": order.id},
    }
    return context.for_event(
        db, event_type="order.submitted", event=event, payload=payload, today=TODAY
    )


def _fields(shape, value, path=""):
    """Every key of `value` is in `shape` (the documented context holds nothing else)."""
    if isinstance(shape, dict) and isinstance(value, dict):
        assert set(value) <= set(shape), (path, set(value) - set(shape))
        for key, sub in value.items():
            _fields(shape[key], sub, f"{path}.{key}")
    elif isinstance(shape, list) and isinstance(value, list):
        for item in value:
            _fields(shape[0], item, path)


def test_the_context_is_plain_documented_data(db, world):
    order = _order(db, world, "10")
    ctx = _event_context(db, order)
    assert json.loads(json.dumps(ctx)) == ctx  # plain JSON data, nothing else
    _fields(catalog.trigger_context(validation.parse(discount_approval()).trigger), ctx)
    assert ctx["order"]["discount_pct"] == 10 and ctx["order"]["line_count"] == 1
    assert ctx["order"]["lines"][0]["product_name"] == "Kopi"
    assert ctx["order"]["lines"][0]["quantity"] == 2
    assert ctx["customer"]["distributor"]["code"] == "BD01"
    assert ctx["customer"]["customer_class"] == "toko"
    assert ctx["rep"]["team"]["name"] == "Team B"
    assert ctx["rep"]["manager"]["id"] == world.manager_b.id
    assert ctx["event"]["subject"] == {"kind": "order", "id": order.id}
    assert logic.evaluate({"var": "order.__class__"}, ctx) is None


@pytest.mark.parametrize(
    ("discount", "step"),
    [("5.00", "auto"), ("5.01", "manager"), ("15.00", "manager"), ("15.01", "two_levels")],
)
def test_tier_boundaries_from_stored_orders(db, world, discount, step):
    ctx = _event_context(db, _order(db, world, discount))
    trace = dryrun.run(validation.parse(discount_approval()), ctx)
    assert trace.path[2] == step, (ctx["order"]["discount_pct"], trace.path)


def test_the_payment_record(db, world):
    def invoice(n, due, amount, paid=False):
        db.add(
            Invoice(
                external_id=f"inv-{n}",
                customer_id=world.customer_b.id,
                state="posted",
                due_date=due,
                total_amount=Decimal(amount),
                amount_to_pay=Decimal(amount),
                paid=paid,
            )
        )

    invoice(1, TODAY - timedelta(days=40), "250000.50")
    invoice(2, TODAY - timedelta(days=3), "100000")
    invoice(3, TODAY + timedelta(days=10), "5000")
    invoice(4, TODAY - timedelta(days=90), "7000", paid=True)
    db.flush()
    ctx = _event_context(db, _order(db, world, "1"))
    assert ctx["customer"]["payment"] == {
        "open_invoices": 3,
        "open_amount": 355000.5,
        "overdue_invoices": 2,
        "overdue_amount": 350000.5,
        "oldest_overdue_days": 40,
    }
    trace = dryrun.run(validation.parse(discount_approval()), ctx)
    assert trace.path == ["overdue", "finance", "done"]
