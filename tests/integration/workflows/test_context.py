"""A run's context loaded from the database (sfa/workflows/runtime_context.py): plain
JSON data holding only what the catalogue lists — the shape definitions are validated
against is the data they run on — with the tier boundaries exact on stored orders."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from workflow_samples import discount_approval

from crm_factories import make_contract, make_opportunity, make_pipeline
from sfa.erp.models import Invoice
from sfa.workflows import (
    catalog,
    dryrun,
    engine,
    logic,
    runtime_context,
    runtime_defaults,
    validation,
)

from .conftest import T0


def _context(db, event_type: str, subject: tuple[str, int], payload: dict) -> dict:
    trigger = engine.Trigger(
        type=event_type, subject_kind=subject[0], subject_id=subject[1], payload=payload
    )
    built = runtime_context.build(
        db,
        subject_kind=subject[0],
        subject_id=subject[1],
        payload=payload,
        event=engine.event_data(trigger),
        now=T0,
    )
    return built | {"vars": {}}


def _order_context(db, order) -> dict:
    payload = {"order_id": order.id, "rep_id": order.rep_id, "customer_id": order.customer_id}
    return _context(db, "order.submitted", ("order", order.id), payload)


def _listed(shape, value, path="") -> None:
    """Every key of `value` is in `shape` (the documented context holds nothing else)."""
    if isinstance(shape, dict) and isinstance(value, dict):
        assert set(value) <= set(shape), (path, set(value) - set(shape))
        for key, sub in value.items():
            _listed(shape[key], sub, f"{path}.{key}")
    elif isinstance(shape, list) and isinstance(value, list):
        for item in value:
            _listed(shape[0], item, path)


def test_an_order_context_is_plain_documented_data(db, world, make_order):
    order = make_order("10")
    ctx = _order_context(db, order)
    assert json.loads(json.dumps(ctx)) == ctx  # plain JSON data, nothing else
    trigger = validation.parse(runtime_defaults.definition("discount_approval")).trigger
    shape = catalog.trigger_context(trigger)
    _listed(shape, ctx)
    # What the default workflow reads is there, as numbers.
    for path in ("order.risk_pct", "settings.discount_auto_max_pct", "rep.team.manager_id"):
        assert isinstance(logic.evaluate({"var": path}, ctx), int | float), path
    assert ctx["order"]["lines"][0]["quantity"] == 1
    assert ctx["customer"]["distributor"] is None or "code" in ctx["customer"]["distributor"]
    assert ctx["rep"]["manager"]["id"] == world.manager_a.id
    assert ctx["event"]["subject_kind"] == "order" and ctx["event"]["subject_id"] == order.id
    assert logic.evaluate({"var": "order.__class__"}, ctx) is None


def test_contract_and_opportunity_contexts_are_documented(db, world):
    contract = make_contract(db, world.admin, world.customer_b, 100_000_000)
    ctx = _context(
        db,
        "contract.created",
        ("contract", contract.id),
        {"contract_id": contract.id, "customer_id": world.customer_b.id},
    )
    _listed(catalog.trigger_context(_trigger("contract.created")), ctx)
    assert ctx["contract"]["acv"] == 100_000_000 and ctx["customer"]["id"] == world.customer_b.id
    make_pipeline(db, world.admin)
    deal = make_opportunity(db, world.rep_b)
    payload = {"opportunity_id": deal.id, "owner_id": world.rep_b.id}
    ctx = _context(db, "opportunity.stage_changed", ("opportunity", deal.id), payload)
    _listed(catalog.trigger_context(_trigger("opportunity.stage_changed")), ctx)
    assert ctx["opportunity"]["stage"]["name"] and ctx["rep"]["id"] == world.rep_b.id


def _trigger(event_type: str):
    return validation.parse(
        {
            "name": "t",
            "trigger": {"event": event_type},
            "start": "e",
            "steps": {"e": {"type": "end"}},
        }
    ).trigger


@pytest.mark.parametrize(
    ("discount", "step"),
    [("5.00", "auto"), ("5.01", "single"), ("15.00", "single"), ("15.01", "double")],
)
def test_tier_boundaries_from_stored_orders(db, world, make_order, discount, step):
    """The dry run of the default workflow takes the runtime's path at every boundary."""
    ctx = _order_context(db, make_order(discount))
    trace = dryrun.run(validation.parse(runtime_defaults.definition("discount_approval")), ctx)
    assert trace.path[1] == step, (ctx["order"]["risk_pct"], trace.path)


def test_overdue_invoices_send_the_order_to_finance(db, world, make_order):
    for n, days in enumerate((40, -10)):  # one overdue, one not yet due
        db.add(
            Invoice(
                external_id=f"inv-{n}",
                customer_id=world.customer_a.id,
                state="posted",
                due_date=T0.date() - timedelta(days=days),
                total_amount=Decimal(1000),
                amount_to_pay=Decimal(1000),
                paid=False,
            )
        )
    db.flush()
    ctx = _order_context(db, make_order("1"))
    assert ctx["customer"]["overdue_invoices"] == 1
    trace = dryrun.run(validation.parse(discount_approval()), ctx)
    assert trace.path == ["overdue", "finance", "done"]
