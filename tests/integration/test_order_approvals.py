"""Orders and discount approval against a real PostGIS: tiers, amounts, outbox, audit.

The approval is the built-in "Discount approval" workflow, run when the order is
submitted (in the same transaction) and decided through the orders' approve/reject."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.audit.models import AuditEntry
from sfa.auth import service as auth_service
from sfa.catalog import service as catalog_service
from sfa.catalog.models import CustomerPrice, Product
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound
from sfa.orders import changes as order_changes
from sfa.orders import service as order_service
from sfa.orders.models import ApprovalTier, ErpOutbox, OrderState, OutboxState
from sfa.orders.service import LineIn, NewOrder
from sfa.pagination import paginate
from sfa.workflows import order_approvals as approvals
from sfa.workflows import timers
from sfa.workflows.runtime_models import ApprovalDecision, RunStatus, WorkflowRun

T0 = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)


def make_product(db, code, list_price, **fields):
    product = Product(
        external_id=f"erp-{code}",
        code=code,
        name=f"Produk {code}",
        unit="pcs",
        list_price=None if list_price is None else Decimal(list_price),
        currency=fields.pop("currency", "IDR"),
        **fields,
    )
    db.add(product)
    db.flush()
    return product


@pytest.fixture
def p(db, world):
    return {
        who: auth_service.principal_for_user(db, getattr(world, who))
        for who in ("admin", "manager_a", "manager_b", "rep_a", "rep_a2", "rep_b")
    }


@pytest.fixture
def product(db):
    return make_product(db, "P100K", "100000")


def order(db, principal, customer, lines, *, submit=True, client_id=None, now=T0, **extra):
    data = NewOrder(
        client_id=client_id or uuid.uuid4(),
        customer_id=customer.id,
        lines=tuple(
            LineIn(product_id=pid, quantity=Decimal(q), discount_pct=Decimal(d))
            for pid, q, d in lines
        ),
        submit=submit,
        **extra,
    )
    created, _ = order_service.create_order(db, principal=principal, data=data, now=now)
    return created


def outbox_rows(db, order_id):
    return list(db.scalars(select(ErpOutbox).where(ErpOutbox.order_id == order_id)))


def steps(db, order_id):
    """The order's approval levels (the workflow's), in the order they were opened."""
    return approvals.approvals_for(db, [order_id])[order_id]


def run_of(db, order_id):
    """The order's Discount approval run (other built-ins run about orders too)."""
    from sfa.workflows import builtin, repository

    workflow = repository.by_key(db, builtin.DISCOUNT_APPROVAL)
    return db.scalars(
        select(WorkflowRun).where(
            WorkflowRun.workflow_id == workflow.id,
            WorkflowRun.subject_kind == "order",
            WorkflowRun.subject_id == order_id,
        )
    ).one()


def escalate_overdue(db, now):
    """The workflow-timers job at `now`: how many due timers it fired."""
    return timers.wake_due(db, now=now)


def audit(db, order_id, entity="order"):
    return [
        (e.actor, e.action)
        for e in db.scalars(
            select(AuditEntry)
            .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(order_id))
            .order_by(AuditEntry.id)
        )
    ]


def decisions(db, order_id):
    """The order's audit without the workflow's own record changes."""
    return [(who, what) for who, what in audit(db, order_id) if what != "workflow_update"]


@pytest.mark.parametrize(
    ("discount", "tier", "state"),
    [
        ("0", ApprovalTier.auto, OrderState.approved),
        ("5.00", ApprovalTier.auto, OrderState.approved),
        ("5.01", ApprovalTier.single, OrderState.submitted),
        ("15.00", ApprovalTier.single, OrderState.submitted),
        ("15.01", ApprovalTier.double, OrderState.submitted),
        ("100", ApprovalTier.double, OrderState.submitted),
    ],
)
def test_tier_boundaries(db, world, p, product, discount, tier, state):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", discount)])
    assert o.discount_pct == Decimal(discount)
    assert (o.approval_tier, o.state) == (tier, state)
    assert len(outbox_rows(db, o.id)) == (1 if state is OrderState.approved else 0)
    pending = [s for s in steps(db, o.id) if s.state is ApprovalDecision.pending]
    run = run_of(db, o.id)
    # Decided by the workflow in the submit's transaction: its record change is audited.
    assert audit(db, o.id) == [
        (f"user:{world.rep_a.id}", "create"),
        (f"user:{world.rep_a.id}", "submit"),
        (f"workflow_run:{run.id}", "workflow_update"),
    ]
    if tier is ApprovalTier.auto:
        assert pending == [] and run.status is RunStatus.completed
    else:
        assert run.status is RunStatus.waiting
        assert [(s.level, s.approver_user_id) for s in pending] == [(1, world.manager_a.id)]
        assert pending[0].due_at == T0 + timedelta(hours=24)


def test_amounts_are_decimal_and_rounded_as_the_erp_rounds_them(db, world, p):
    a = make_product(db, "A25K", "25000")
    b = make_product(db, "B", "3333.33")
    o = order(
        db, p["rep_a"], world.customer_a, [(a.id, "3", "10"), (b.id, "1.5", "2.5")], submit=False
    )
    lines = order_service.details(db, order=o).lines
    assert [(ln.line_no, ln.unit_price, ln.net_price, ln.net_amount) for ln in lines] == [
        (1, Decimal("25000"), Decimal("22500"), Decimal("67500.00")),
        # net price 3,333.33 × 0.975 = 3,249.99675 → 3,249.9968 (4 decimals, half even);
        # × 1.5 = 4,874.9952 → 4,875.00
        (2, Decimal("3333.33"), Decimal("3249.9968"), Decimal("4875.00")),
    ]
    # gross 1.5 × 3,333.33 = 4,999.995 → 5,000.00 (half to even: 9 is odd, it goes up)
    assert o.gross_amount == Decimal("80000.00")
    assert o.net_amount == Decimal("72375.00")
    assert o.discount_amount == Decimal("7625.00")
    assert o.discount_pct == Decimal("9.531")  # 7,625 ÷ 80,000 = 9.53125 %
    assert (o.state, o.approval_tier, o.currency) == (OrderState.draft, None, "IDR")


def test_net_price_first_then_the_line_amount_as_tryton_does(db, world, p):
    """Tryton rounds the net unit price to its price digits, then quantity × that price to
    the currency: 3 × 12,345.6789 at 10 % is 3 × 11,111.1110 = 33,333.33. Rounding the
    gross first (3 × 12,345.6789 = 37,037.0367 → 37,037.04, less 10 %) gives 33,333.34."""
    a = make_product(db, "A4D", "12345.6789")
    half = make_product(db, "H", "1000.125")
    o = order(db, p["rep_a"], world.customer_a, [(a.id, "3", "10"), (half.id, "1", "0")])
    first, second = order_service.details(db, order=o).lines
    assert (first.unit_price, first.net_price, first.net_amount) == (
        Decimal("12345.6789"),
        Decimal("11111.1110"),
        Decimal("33333.33"),
    )
    # 1,000.125 → 1,000.12: half to even, as Tryton's Currency.round (half up: 1,000.13)
    assert second.net_amount == Decimal("1000.12")
    assert o.net_amount == Decimal("34333.45")


def test_settings_give_the_price_decimals_and_the_amount_rounding(db, world, p):
    from sfa.company import service as company_service

    company_service.update_settings(
        db, actor="test", changes={"price_decimals": 2, "amount_rounding": "1"}
    )
    a = make_product(db, "R", "1234.5678")
    o = order(db, p["rep_a"], world.customer_a, [(a.id, "3", "10")], submit=False)
    (line,) = order_service.details(db, order=o).lines
    # 1,234.5678 × 0.9 = 1,111.11102 → 1,111.11; × 3 = 3,333.33 → 3,333 (whole rupiah)
    assert (line.net_price, line.net_amount) == (Decimal("1111.11"), Decimal("3333.00"))


def test_customer_specific_price_wins_over_list_price(db, world, p):
    a = make_product(db, "A", "25000")
    b = make_product(db, "B", "10000")
    unpriced = make_product(db, "C", None)
    db.add(CustomerPrice(customer_id=world.customer_a.id, product_id=a.id, price=Decimal("22000")))
    db.flush()
    assert catalog_service.effective_prices(
        db, customer_id=world.customer_a.id, product_ids=[a.id, b.id, unpriced.id]
    ) == {a.id: Decimal("22000.00"), b.id: Decimal("10000.00")}
    # Another customer pays the list price.
    assert catalog_service.effective_prices(
        db, customer_id=world.customer_b.id, product_ids=[a.id]
    ) == {a.id: Decimal("25000.00")}
    o = order(db, p["rep_a"], world.customer_a, [(a.id, "2", "0")])
    assert o.gross_amount == Decimal("44000.00")


def test_single_tier_is_decided_by_the_reps_manager_only(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "10")])
    with pytest.raises(Forbidden):
        approvals.approve_order(db, principal=p["rep_a"], order_id=o.id)
    with pytest.raises(NotFound):
        approvals.approve_order(db, principal=p["manager_b"], order_id=o.id)
    assert o.state is OrderState.submitted
    approvals.approve_order(db, principal=p["manager_a"], order_id=o.id, note="ok", now=T0)
    assert o.state is OrderState.approved
    assert [(r.state, r.attempts) for r in outbox_rows(db, o.id)] == [(OutboxState.pending, 0)]
    [step] = steps(db, o.id)
    assert (step.state, step.decided_by, step.note) == (
        ApprovalDecision.approved,
        world.manager_a.id,
        "ok",
    )
    assert audit(db, o.id)[-1] == (f"user:{world.manager_a.id}", "approve")
    with pytest.raises(Conflict):  # nothing left to decide
        approvals.approve_order(db, principal=p["manager_a"], order_id=o.id)


def test_double_tier_needs_manager_then_admin_and_queues_once(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "20")])
    assert o.approval_tier is ApprovalTier.double
    with pytest.raises(Forbidden):  # level 1 is the manager's, not the other rep's team
        approvals.approve_order(db, principal=p["rep_a2"], order_id=o.id)
    approvals.approve_order(db, principal=p["manager_a"], order_id=o.id, now=T0)
    assert o.state is OrderState.submitted
    assert outbox_rows(db, o.id) == []
    # Level 2 is finance's; the world has no finance user, so the admins decide it.
    assert [(s.level, s.approver_user_id, s.approver_role, s.state) for s in steps(db, o.id)] == [
        (1, world.manager_a.id, None, ApprovalDecision.approved),
        (2, None, "admin", ApprovalDecision.pending),
    ]
    with pytest.raises(Forbidden):  # level 2 is for an admin
        approvals.approve_order(db, principal=p["manager_a"], order_id=o.id)
    approvals.approve_order(db, principal=p["admin"], order_id=o.id, now=T0)
    assert o.state is OrderState.approved
    assert len(outbox_rows(db, o.id)) == 1
    assert [a for _, a in decisions(db, o.id)] == ["create", "submit", "approve", "approve"]


def test_double_tier_second_level_is_finance_when_the_company_has_one(db, world, p, product):
    from factories import make_user
    from sfa.auth import service as auth_service
    from sfa.users.models import Role
    from sfa.workflows import approvals as workflow_approvals

    finance = make_user(db, "finance.1", Role.finance)
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "15.01")])
    approvals.approve_order(db, principal=p["manager_a"], order_id=o.id, now=T0)
    second = steps(db, o.id)[-1]
    assert (second.level, second.approver_user_id, second.approver_role) == (2, None, "finance")
    # Finance sees no team's orders: it decides at /v1/workflow-approvals.
    workflow_approvals.decide(
        db,
        principal=auth_service.principal_for_user(db, finance),
        approval_id=second.id,
        approve=True,
        note="margin ok",
        now=T0,
    )
    assert o.state is OrderState.approved and len(outbox_rows(db, o.id)) == 1


def test_rejection_ends_the_order_without_outbox(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "20")])
    approvals.approve_order(db, principal=p["manager_a"], order_id=o.id)
    approvals.reject_order(db, principal=p["admin"], order_id=o.id, note="too much")
    assert o.state is OrderState.rejected
    assert outbox_rows(db, o.id) == []
    assert steps(db, o.id)[-1].state is ApprovalDecision.rejected
    entry = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "order", AuditEntry.action == "reject")
    ).one()
    assert entry.entity_id == str(o.id) and entry.actor == f"user:{world.admin.id}"
    assert (entry.old["state"], entry.new["state"]) == ("submitted", "rejected")
    assert entry.new["note"] == "too much"


def test_overdue_manager_step_escalates_to_admins(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "10")], now=T0)
    assert escalate_overdue(db, now=T0 + timedelta(hours=23, minutes=59)) == 0
    assert escalate_overdue(db, now=T0 + timedelta(hours=24)) == 1
    first, replacement = steps(db, o.id)
    assert (first.state, first.approver_user_id) == (
        ApprovalDecision.escalated,
        world.manager_a.id,
    )
    assert (replacement.state, replacement.level, replacement.approver_user_id) == (
        ApprovalDecision.pending,
        1,
        None,
    )
    assert replacement.approver_role == "admin"
    # The admins' step has nobody above it: it does not escalate again.
    assert escalate_overdue(db, now=T0 + timedelta(days=10)) == 0
    assert ("system", "escalate") in audit(db, run_of(db, o.id).id, entity="workflow_run")
    with pytest.raises(Forbidden):
        approvals.approve_order(db, principal=p["manager_a"], order_id=o.id)
    approvals.approve_order(db, principal=p["admin"], order_id=o.id)
    assert o.state is OrderState.approved and len(outbox_rows(db, o.id)) == 1


def test_escalation_hours_are_a_setting(db, world, p, product):
    from sfa.company import service as company_service

    company_service.update_settings(db, actor="test", changes={"discount_escalation_hours": 2})
    order(db, p["rep_a"], world.customer_a, [(product.id, "1", "10")], now=T0)
    assert escalate_overdue(db, now=T0 + timedelta(hours=1)) == 0
    assert escalate_overdue(db, now=T0 + timedelta(hours=2)) == 1


def test_cancel_before_sending_closes_the_outbox_row(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "0")])
    assert o.state is OrderState.approved
    with pytest.raises(NotFound):  # another rep's order
        order_changes.cancel_order(db, principal=p["rep_a2"], order_id=o.id)
    order_changes.cancel_order(db, principal=p["rep_a"], order_id=o.id)
    [row] = outbox_rows(db, o.id)
    assert (o.state, row.state, row.last_error) == (
        OrderState.cancelled,
        OutboxState.done,
        "cancelled before sending",
    )
    assert row.done_at is not None
    # Cancelling again is a no-op.
    assert order_changes.cancel_order(db, principal=p["rep_a"], order_id=o.id).state == "cancelled"


def test_cancel_is_refused_once_a_send_was_attempted(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "0")])
    [row] = outbox_rows(db, o.id)
    row.attempts = 1
    db.flush()
    with pytest.raises(Conflict):
        order_changes.cancel_order(db, principal=p["rep_a"], order_id=o.id)
    assert o.state is OrderState.approved and row.state is OutboxState.pending


def test_submitted_order_cancelled_leaves_the_approval_queue(db, world, p, product):
    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "10")], now=T0)
    order_changes.cancel_order(db, principal=p["rep_a"], order_id=o.id)
    assert queue(db, p["manager_a"]).total == 0  # at once: the queue lists submitted orders
    # The drain's order.cancelled cancels its run: nothing escalates.
    from event_drain import drain_events

    drain_events(db)
    assert run_of(db, o.id).status is RunStatus.cancelled
    assert steps(db, o.id)[0].state is ApprovalDecision.cancelled
    assert escalate_overdue(db, now=T0 + timedelta(days=3)) == 0
    with pytest.raises(Conflict):
        approvals.approve_order(db, principal=p["manager_a"], order_id=o.id)


def test_draft_submit_and_replay(db, world, p, product):
    client_id = uuid.uuid4()
    o = order(
        db,
        p["rep_a"],
        world.customer_a,
        [(product.id, "2", "10")],
        submit=False,
        client_id=client_id,
    )
    assert o.state is OrderState.draft and steps(db, o.id) == []
    # Same content (3 == 3.0 style differences and sent_at do not matter) → same order.
    same = NewOrder(
        client_id=client_id,
        customer_id=world.customer_a.id,
        submit=False,
        lines=(LineIn(product.id, Decimal("2.000"), Decimal("10.0")),),
        sent_at=T0,
    )
    again, created = order_service.create_order(db, principal=p["rep_a"], data=same)
    assert (again.id, created) == (o.id, False)
    with pytest.raises(Conflict):
        order_service.create_order(
            db,
            principal=p["rep_a"],
            data=NewOrder(
                client_id=client_id,
                customer_id=world.customer_a.id,
                submit=False,
                lines=(LineIn(product.id, Decimal("3")),),
            ),
        )
    order_service.submit_order(db, principal=p["rep_a"], order_id=o.id, now=T0)
    assert o.state is OrderState.submitted and o.submitted_at == T0
    order_service.submit_order(db, principal=p["rep_a"], order_id=o.id)  # repeat: no-op
    assert len(steps(db, o.id)) == 1


def test_unsellable_products_and_foreign_customers_are_refused(db, world, p, product):
    inactive = make_product(db, "OLD", "1000", active=False)
    service_item = make_product(db, "SVC", "1000", salable=False)
    unpriced = make_product(db, "NOPRICE", None)
    usd = make_product(db, "USD", "10", currency="USD")
    for pid, words in [
        (999_999, "does not exist"),
        (inactive.id, "no longer active"),
        (service_item.id, "not salable"),
        (unpriced.id, "has no price"),
        (usd.id, "priced in USD"),
    ]:
        with pytest.raises(InvalidInput, match=words):
            order(db, p["rep_a"], world.customer_a, [(pid, "1", "0")])
    with pytest.raises(NotFound):
        order(db, p["rep_a"], world.customer_b, [(product.id, "1", "0")])
    with pytest.raises(Forbidden):
        order(db, p["manager_a"], world.customer_a, [(product.id, "1", "0")])
    with pytest.raises(InvalidInput):
        order(db, p["rep_a"], world.customer_a, [(product.id, "0", "0")])


def queue(db, principal):
    """The approvals `principal` may decide, first page."""
    return paginate(db, approvals.approvals_query(principal=principal), limit=50, offset=0)


def test_manager_approval_queue(db, world, p, product):
    a = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "10")])
    b = order(db, p["rep_b"], world.customer_b, [(product.id, "1", "10")])
    mine = queue(db, p["manager_a"])
    assert [(s.approver_user_id, o.id) for s, o in mine.items] == [(world.manager_a.id, a.id)]
    assert {o.id for _, o in queue(db, p["admin"]).items} == {
        a.id,
        b.id,
    }
    with pytest.raises(Forbidden):
        queue(db, p["rep_a"])


def test_the_decision_is_taken_at_submit_and_the_drain_does_not_take_it_again(
    db, world, p, product
):
    from event_drain import drain_events
    from sfa.events.models import DomainEvent

    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "20")])
    run = run_of(db, o.id)
    assert run.status is RunStatus.waiting  # before any drain
    drain_events(db)
    assert run_of(db, o.id).id == run.id  # the drain skipped the event: no second run
    assert len(steps(db, o.id)) == 1
    approvals.approve_order(db, principal=p["manager_a"], order_id=o.id, note="ok")
    approvals.reject_order(db, principal=p["admin"], order_id=o.id, note="margin")
    emitted = db.execute(
        select(DomainEvent.type, DomainEvent.actor_id, DomainEvent.payload).where(
            DomainEvent.subject_kind == "order", DomainEvent.subject_id == str(o.id)
        )
    ).all()
    assert [(t, a) for t, a, _ in emitted] == [
        ("order.submitted", str(world.rep_a.id)),
        ("order.rejected", str(world.admin.id)),
    ]
    assert (emitted[1].payload["level"], emitted[1].payload["note"]) == (2, "margin")


def test_an_order_left_waiting_by_the_old_approval_code_is_adopted(db, world, p, product):
    """Migration 0022 leaves a submitted order without a run and, in the audit log, the
    levels the old code had approved; adopting starts its run and keeps those levels."""
    from sfa.audit import service as audit_service
    from sfa.workflows import builtin

    o = order(db, p["rep_a"], world.customer_a, [(product.id, "1", "20")], submit=False)
    o.state, o.submitted_at = OrderState.submitted, T0
    audit_service.record(
        db,
        actor="system",
        entity="order",
        entity_id=o.id,
        action=builtin.CARRIED_OVER,
        new={"approved": [{"level": 1, "decided_by": world.manager_a.id, "note": "lama"}]},
    )
    db.flush()
    assert builtin.adopt_waiting_orders(db, now=T0) == 1
    assert builtin.adopt_waiting_orders(db, now=T0) == 0  # once
    first, second = steps(db, o.id)
    assert (first.level, first.state, first.decided_by, first.note) == (
        1,
        ApprovalDecision.approved,
        world.manager_a.id,
        "lama",
    )
    assert (second.level, second.state) == (2, ApprovalDecision.pending)
    assert (o.state, o.approval_tier) == (OrderState.submitted, ApprovalTier.double)
    approvals.approve_order(db, principal=p["admin"], order_id=o.id)
    assert o.state is OrderState.approved and len(outbox_rows(db, o.id)) == 1
