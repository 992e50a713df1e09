"""The built-in "Contract renewal" workflow end to end, each CURE lens through the
workflow path: the date trigger fires 90 days before the end (company time), CURE
decides and stores its reasons, and then — low tier: reminders to the customer by email
and SMS 60/30/7 days before the end, on the company's day, and an auto-renewal at the
end; mid: a task for the renewal manager (none: the fallback's); enterprise: a task for
the account manager and an opportunity in the pipeline, once."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from analytics import renewals as analytics_renewals
from crm_factories import make_contract, make_pipeline, principal
from factories import make_user
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.contracts import staff
from sfa.contracts.models import Contract, ContractStatus, RenewalDecision
from sfa.contracts.roles import RenewalRole
from sfa.notifications.models import Channel, Notification
from sfa.pipeline.models import Opportunity
from sfa.users.models import Role
from sfa.workflows import date_triggers, engine, renewals, repository, timers, triggers
from sfa.workflows.runtime_models import RunStatus, Task, WorkflowRun

JAKARTA = ZoneInfo("Asia/Jakarta")
KEY = "contract-renewal"


@pytest.fixture
def today(db, world) -> date:
    """A company day after the built-in was published (the date trigger fires no day
    before its version), in Jakarta."""
    company_service.update_settings(db, actor="test", changes={"timezone": "Asia/Jakarta"})
    workflow = repository.by_key(db, KEY)
    published = next(
        i.published_at
        for i in triggers.published_with(db, "date_field")
        if i.workflow.workflow_id == workflow.id
    )
    world.customer_a.email, world.customer_a.phone = "toko@example.com", "+62811000001"
    db.flush()
    return published.astimezone(JAKARTA).date() + timedelta(days=10)


def midnight(day: date) -> datetime:
    return datetime.combine(day, time(), JAKARTA).astimezone(UTC)


def fire(db, day: date) -> None:
    """The scheduler on `day`, 00:30 company time (still the day before in UTC)."""
    date_triggers.run_date_triggers(db, now=midnight(day) + timedelta(minutes=30))


def run_of(db, contract: Contract) -> WorkflowRun:
    db.expire_all()
    return db.scalar(
        select(WorkflowRun)
        .where(WorkflowRun.subject_kind == "contract", WorkflowRun.subject_id == contract.id)
        .order_by(WorkflowRun.id)
    )


def reminders(db, contract: Contract) -> list[tuple[str, int]]:
    rows = db.scalars(
        select(Notification)
        .where(Notification.entity == "contract", Notification.entity_id == contract.id)
        .order_by(Notification.id)
    )
    return [(str(n.channel), n.payload["days_before"]) for n in rows]


def test_low_tier_reminds_on_the_company_days_and_renews_at_the_end(db, world, today):
    end = today + timedelta(days=90)
    contract = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=end, auto_renew=True
    )
    fire(db, today - timedelta(days=1))
    assert run_of(db, contract) is None  # fire day is today

    fire(db, today)
    run = run_of(db, contract)
    assert run.status is RunStatus.waiting and run.current_step == "wait_reminder", run.error
    decision = db.scalar(select(RenewalDecision).where(RenewalDecision.contract_id == contract.id))
    assert (decision.tier, decision.mode, decision.owner_id) == ("low", "automated", None)
    assert decision.actor == f"workflow_run:{run.id}" and decision.reasons
    assert db.get(Contract, contract.id).status is ContractStatus.renewal_due
    assert run.variables["renewal"]["reminders"]["date"] == (end - timedelta(days=60)).isoformat()

    for before in (60, 30, 7):
        day = end - timedelta(days=before)
        # 23:59 the evening before, company time: nothing yet.
        timers.wake_due(db, now=midnight(day) - timedelta(minutes=1))
        assert (str(Channel.email), before) not in reminders(db, contract)
        # 00:01 on the day in Jakarta, still the day before in UTC: sent.
        timers.wake_due(db, now=midnight(day) + timedelta(minutes=1))
        assert reminders(db, contract)[-2:] == [("email", before), ("sms", before)]
    assert len(reminders(db, contract)) == 6
    sms = db.scalar(
        select(Notification).where(
            Notification.entity_id == contract.id, Notification.channel == Channel.sms
        )
    )
    assert sms.address == "+62811000001" and sms.recipient_customer_id == world.customer_a.id

    assert run_of(db, contract).current_step == "wait_end"
    timers.wake_due(db, now=midnight(end) + timedelta(minutes=1))
    run = run_of(db, contract)
    assert run.status is RunStatus.completed
    successor = db.scalar(select(Contract).where(Contract.renewal_of_id == contract.id))
    assert successor.start_date == end + timedelta(days=1)
    assert db.get(Contract, contract.id).status is ContractStatus.renewed


def test_a_contract_found_inside_the_window_gets_only_the_reminders_ahead(db, world, today):
    # Its fire day was two days ago (the catch-up): the 60-day reminder is still ahead.
    contract = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=88)
    )
    fire(db, today)
    chain = run_of(db, contract).variables["renewal"]["reminders"]
    assert [chain["days_before"], chain["later"]["days_before"]] == [60, 30]
    assert chain["later"]["later"]["later"] is None


def _staff(db, world, role: RenewalRole, name: str):
    user = make_user(db, name, Role.manager)
    staff.add_staff(db, principal=principal(db, world.admin), user_id=user.id, role=role)
    return user


def _task(db, run: WorkflowRun) -> Task:
    return db.scalar(select(Task).where(Task.run_id == run.id))


def test_mid_tier_is_a_task_for_the_renewal_manager(db, world, today):
    manager = _staff(db, world, RenewalRole.renewal_manager, "renewals.rina")
    contract = make_contract(
        db, world.admin, world.customer_a, "120000000", end_date=today + timedelta(days=90)
    )
    fire(db, today)
    run = run_of(db, contract)
    assert run.status is RunStatus.completed
    task = _task(db, run)
    assert task.assignee_user_id == manager.id
    assert task.title.startswith(f"Renewal: {contract.title}")
    assert db.scalar(select(Opportunity).where(Opportunity.contract_id == contract.id)) is None


def test_mid_tier_without_a_renewal_manager_falls_back(db, world, today):
    account = _staff(db, world, RenewalRole.account_manager, "accounts.dewi")
    contract = make_contract(
        db, world.admin, world.customer_a, "120000000", end_date=today + timedelta(days=90)
    )
    fire(db, today)
    run = run_of(db, contract)
    assert _task(db, run).assignee_user_id == account.id
    decision = db.get(RenewalDecision, run.variables["renewal"]["decision_id"])
    assert decision.owner_role == "account_manager"
    assert "fallback" in decision.summary_en


def test_enterprise_goes_to_the_account_manager_with_an_opportunity(db, world, today):
    make_pipeline(db, world.admin)
    account = _staff(db, world, RenewalRole.account_manager, "accounts.sari")
    contract = make_contract(
        db, world.admin, world.customer_a, "620000000", end_date=today + timedelta(days=90)
    )
    fire(db, today)
    run = run_of(db, contract)
    assert run.status is RunStatus.completed, run.error
    assert _task(db, run).assignee_user_id == account.id
    [deal] = db.scalars(select(Opportunity).where(Opportunity.contract_id == contract.id)).all()
    assert (deal.owner_id, deal.customer_id, deal.amount) == (
        account.id,
        world.customer_a.id,
        contract.acv,
    )
    assert deal.expected_close == contract.end_date

    # The step again (an admin's retry from it): the same opportunity, not a second one.
    run.status, run.current_step = RunStatus.running, "opportunity"
    engine.advance(db, run)
    assert db.scalar(select(Opportunity.id).where(Opportunity.contract_id == contract.id)) == (
        deal.id
    )
    assert (
        len(db.scalars(select(Opportunity).where(Opportunity.contract_id == contract.id)).all())
        == 1
    )


def test_nobody_to_own_it_tells_the_admins(db, world, today):
    contract = make_contract(
        db, world.admin, world.customer_b, "120000000", end_date=today + timedelta(days=90)
    )
    # customer B's team has rep B: the sales-rep fallback owns it. Take rep B away.
    world.rep_b.is_active = False
    db.flush()
    fire(db, today)
    run = run_of(db, contract)
    assert run.variables["renewal"]["mode"] == "unassigned"
    [note] = db.scalars(
        select(Notification).where(
            Notification.template == "renewal_unassigned",
            Notification.entity_id == contract.id,
        )
    ).all()
    assert note.recipient_user_id == world.admin.id


def test_contracts_already_inside_the_window_are_adopted_once(db, world, today):
    inside = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=40)
    )
    later = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=91)
    )
    now = midnight(today) + timedelta(hours=9)
    assert renewals.adopt_inside_window(db, now=now) >= 1
    assert renewals.adopt_inside_window(db, now=now) == 0  # at the next migrate: none again
    run = run_of(db, inside)
    assert run.trigger_event_id == f"date:contract.end_date:{inside.id}:{inside.end_date}"
    assert run.variables["renewal"]["reminders"]["days_before"] == 30  # 60 is past
    assert run_of(db, later) is None
    fire(db, today)  # the date trigger starts nothing twice
    assert (
        len(db.scalars(select(WorkflowRun).where(WorkflowRun.subject_id == inside.id)).all()) == 1
    )


def test_the_renewal_audit_shows_the_runs_steps(db, world, today):
    end = today + timedelta(days=90)
    contract = make_contract(db, world.admin, world.customer_a, "20000000", end_date=end)
    fire(db, today)
    first = end - timedelta(days=60)
    timers.wake_due(db, now=midnight(first) + timedelta(minutes=1))
    db.expire_all()
    [row] = analytics_renewals.renewal_rows(db, [db.get(Contract, contract.id)], lang="en")
    names = [s["step"] for s in row["steps"]]
    assert names[0] == "active"
    assert names[1:] == ["route", "wait_reminder", "email", "sms", "wait_reminder"]
    assert row["current_step"] == "wait_reminder"
    waited = row["steps"][2]
    assert waited["entered_at"] == run_of(db, contract).started_at
    assert waited["left_at"] == midnight(first) + timedelta(minutes=1)
    assert row["steps"][-1]["left_at"] is None


def test_the_alert_days_and_reminder_channels_are_the_settings(db, world, today):
    company_service.update_settings(
        db,
        actor="test",
        changes={"renewal_alert_days": 60, "renewal_reminder_channels": ["sms"]},
    )
    at_90 = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=90)
    )
    at_60 = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=60)
    )
    fire(db, today)
    assert run_of(db, at_90) is None
    run = run_of(db, at_60)
    assert run.definition["trigger"]["offset_days"] == -60  # as it was read that day
    # The 60-day reminder is due at once (today): SMS only.
    assert reminders(db, at_60) == [("sms", 60)]


def test_a_closed_or_draft_contract_ends_its_run_at_once(db, world, today):
    draft = make_contract(
        db,
        world.admin,
        world.customer_a,
        "20000000",
        end_date=today + timedelta(days=90),
        status=ContractStatus.draft,
    )
    fire(db, today)
    run = run_of(db, draft)
    assert run.status is RunStatus.completed and "renewal" not in run.variables
    assert db.scalar(select(RenewalDecision).where(RenewalDecision.contract_id == draft.id)) is None


def test_upsell_goes_to_a_seller_with_the_products_in_the_task(db, world, today):
    account = _staff(db, world, RenewalRole.account_manager, "accounts.budi")
    product = Product(
        external_id="erp-up1", code="UP1", name="Teh Botol", unit="karton", currency="IDR"
    )
    db.add(product)
    db.flush()
    contract = make_contract(
        db,
        world.admin,
        world.customer_a,
        "20000000",  # low tier, but with upsell potential
        end_date=today + timedelta(days=90),
        upsell_product_ids=[product.id],
    )
    fire(db, today)
    run = run_of(db, contract)
    assert run.variables["renewal"]["mode"] == "owned"
    assert run.variables["renewal"]["upsell_products"] == ["Teh Botol"]
    task = _task(db, run)
    assert task.assignee_user_id == account.id
    assert task.title.endswith("(upsell: Teh Botol)")
    assert reminders(db, contract) == []  # a person owns it: no automated reminders


def test_a_contract_created_inside_the_window_gets_its_run_from_the_daily_job(db, world, today):
    # Created 40 days before its end: its fire day (90 days before) is 50 days gone, past
    # the date trigger's catch-up. The daily renewal-adoption job starts its run.
    from api import scheduler

    fire(db, today)
    late = make_contract(
        db, world.admin, world.customer_a, "20000000", end_date=today + timedelta(days=40)
    )
    fire(db, today + timedelta(days=1))
    assert run_of(db, late) is None
    at = midnight(today + timedelta(days=1)) + timedelta(minutes=20)
    assert scheduler.renewal_adoption(db, now=at) == {"started": 1}
    assert run_of(db, late).status is RunStatus.waiting  # for its 30-day reminder
    assert scheduler.renewal_adoption(db, now=at) == {"started": 0}
