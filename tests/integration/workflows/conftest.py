"""Helpers for the workflow runtime tests: runs of small definitions on real orders."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder
from sfa.workflows import engine
from sfa.workflows.runtime_models import WorkflowRunStep

T0 = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


def definition(start: str, **steps) -> dict:
    return {"name": "test", "trigger": {"event": "order.submitted"}, "start": start, "steps": steps}


def start(db, defn, *, subject=("order", None), payload=None, now=T0, workflow_id=1, version_id=1):
    kind, ident = subject
    return engine.start_run(
        db,
        workflow_id=workflow_id,
        version_id=version_id,
        definition=defn,
        trigger=engine.Trigger(
            type="test", subject_kind=kind, subject_id=ident, payload=payload or {}
        ),
        now=now,
    )


def step_rows(db, run):
    return list(
        db.scalars(
            select(WorkflowRunStep)
            .where(WorkflowRunStep.run_id == run.id)
            .order_by(WorkflowRunStep.id)
        )
    )


def path(db, run) -> list[tuple[str, str]]:
    return [(row.step_id, str(row.status)) for row in step_rows(db, run)]


@pytest.fixture
def product(db):
    product = Product(
        external_id="erp-wf1",
        code="WF1",
        name="Produk WF",
        unit="pcs",
        list_price=Decimal("100000"),
        currency="IDR",
    )
    db.add(product)
    db.flush()
    return product


@pytest.fixture
def make_order(db, world, product):
    """A draft order of rep A (or another rep) with one line at `discount` %."""

    def make(discount="0", rep=None, customer=None):
        rep = rep or world.rep_a
        principal = auth_service.principal_for_user(db, rep)
        order, _ = order_service.create_order(
            db,
            principal=principal,
            data=NewOrder(
                client_id=uuid.uuid4(),
                customer_id=(customer or world.customer_a).id,
                lines=(LineIn(product.id, Decimal(1), Decimal(discount)),),
                submit=False,
            ),
            now=T0,
        )
        return order

    return make
