"""The default "Discount approval" workflow, run by the engine on real orders, gives the
tiers of DESIGN §3 at every boundary, and escalates to the admins (how orders reach it
at submit: tests/integration/test_order_approvals.py)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from factories import make_user
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.errors import Conflict, NotFound
from sfa.orders.models import ApprovalTier, ErpOutbox, OrderState
from sfa.users.models import Role
from sfa.workflows import approvals, runtime_defaults, timers
from sfa.workflows.runtime_models import ApprovalDecision, RunStatus, WorkflowApproval

from .conftest import T0, start


def run_on(db, order):
    return start(db, runtime_defaults.definition("discount_approval"), subject=("order", order.id))


def pending(db, run):
    return list(
        db.scalars(
            select(WorkflowApproval)
            .where(WorkflowApproval.run_id == run.id, WorkflowApproval.state == "pending")
            .order_by(WorkflowApproval.id)
        )
    )


def outbox(db, order):
    return db.scalars(select(ErpOutbox).where(ErpOutbox.order_id == order.id)).all()


def who(db, user):
    return auth_service.principal_for_user(db, user)


@pytest.mark.parametrize(
    ("discount", "tier", "state", "levels"),
    [
        ("0", ApprovalTier.auto, OrderState.approved, 0),
        ("5.00", ApprovalTier.auto, OrderState.approved, 0),
        ("5.01", ApprovalTier.single, OrderState.submitted, 1),
        ("15.00", ApprovalTier.single, OrderState.submitted, 1),
        ("15.01", ApprovalTier.double, OrderState.submitted, 2),
    ],
)
def test_tier_boundaries(db, world, make_order, discount, tier, state, levels):
    order = make_order(discount)
    assert order.discount_pct == Decimal(discount)
    run = run_on(db, order)
    assert (order.approval_tier, order.state) == (tier, state)
    assert len(outbox(db, order)) == (1 if state is OrderState.approved else 0)
    if levels == 0:
        assert run.status is RunStatus.completed and pending(db, run) == []
        return
    assert run.status is RunStatus.waiting
    assert [(a.level, a.approver_user_id) for a in pending(db, run)] == [(1, world.manager_a.id)]
    assert len(run.definition["steps"][run.current_step]["levels"]) == levels


def test_single_level_approved_by_the_manager(db, world, make_order):
    order = make_order("10")
    run = run_on(db, order)
    (approval,) = pending(db, run)
    for outsider in (world.rep_a, world.manager_b):
        with pytest.raises(NotFound):
            approvals.decide(db, principal=who(db, outsider), approval_id=approval.id, approve=True)
    approvals.decide(
        db, principal=who(db, world.manager_a), approval_id=approval.id, approve=True, now=T0
    )
    assert (order.state, run.status) == (OrderState.approved, RunStatus.completed)
    assert len(outbox(db, order)) == 1
    with pytest.raises(Conflict):
        approvals.decide(db, principal=who(db, world.admin), approval_id=approval.id, approve=True)


def test_rejected_order(db, world, make_order):
    order = make_order("10")
    run = run_on(db, order)
    (approval,) = pending(db, run)
    approvals.decide(
        db, principal=who(db, world.manager_a), approval_id=approval.id, approve=False, note="no"
    )
    assert (order.state, run.status) == (OrderState.rejected, RunStatus.completed)
    assert outbox(db, order) == []


def test_double_level_manager_then_finance(db, world, make_order):
    finance = make_user(db, "finance.1", Role.finance)
    order = make_order("20")
    run = run_on(db, order)
    (first,) = pending(db, run)
    approvals.decide(
        db, principal=who(db, world.manager_a), approval_id=first.id, approve=True, now=T0
    )
    (second,) = pending(db, run)
    assert (second.level, second.approver_role, second.approver_user_id) == (2, "finance", None)
    assert order.state is OrderState.submitted
    # The manager cannot decide the finance level; finance can.
    with pytest.raises(NotFound):
        approvals.decide(
            db, principal=who(db, world.manager_a), approval_id=second.id, approve=True
        )
    approvals.decide(db, principal=who(db, finance), approval_id=second.id, approve=True, now=T0)
    assert (order.state, run.status) == (OrderState.approved, RunStatus.completed)
    assert len(outbox(db, order)) == 1


def test_escalation_after_the_company_setting(db, world, make_order):
    company_service.update_settings(db, actor="test", changes={"discount_escalation_hours": 2})
    order = make_order("10")
    run = run_on(db, order)
    (approval,) = pending(db, run)
    assert timers.wake_due(db, now=T0 + timedelta(hours=1, minutes=59)) == 0
    assert timers.wake_due(db, now=T0 + timedelta(hours=2)) == 1
    db.refresh(approval)
    assert approval.state is ApprovalDecision.escalated
    (replacement,) = pending(db, run)
    assert (replacement.level, replacement.approver_role) == (1, "admin")
    # The admins' level does not escalate again.
    assert timers.wake_due(db, now=T0 + timedelta(days=30)) == 0
    with pytest.raises(NotFound):
        approvals.decide(
            db, principal=who(db, world.manager_a), approval_id=replacement.id, approve=True
        )
    approvals.decide(db, principal=who(db, world.admin), approval_id=replacement.id, approve=True)
    assert order.state is OrderState.approved


def test_crm_data_rule_can_be_added_by_editing_the_definition(db, world, make_order):
    """'Customer has overdue invoices → always finance' is a path, not code."""
    from sfa.erp.models import Invoice

    defn = runtime_defaults.definition("discount_approval")
    overdue = {"when": {">": [{"var": "customer.overdue_invoices"}, 0]}, "next": "double"}
    defn["steps"]["tier"]["paths"].insert(0, overdue)
    db.add(
        Invoice(
            external_id="inv-1",
            customer_id=world.customer_a.id,
            state="posted",
            due_date=T0.date() - timedelta(days=3),
            total_amount=Decimal(10),
            amount_to_pay=Decimal(10),
        )
    )
    order = make_order("1")
    run = start(db, defn, subject=("order", order.id))
    assert run.context["customer"]["overdue_invoices"] == 1
    assert order.approval_tier is ApprovalTier.double and run.status is RunStatus.waiting
