"""Date-field triggers: "30 days before contract.end_date" starts one run per contract
on its fire day in the company's timezone, for the right rows only and once; a moved date
fires again for the new date; fire days the job missed (within CATCH_UP_DAYS) still fire
once; and the job reads the candidate rows through the date column's index, not the
table."""

import threading
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text

from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.contracts.models import Contract, ContractStatus
from sfa.db import session_scope
from sfa.erp.models import Invoice
from sfa.workflows import date_triggers, engine, triggers
from sfa.workflows import service as workflow_service
from sfa.workflows.runtime_models import WorkflowRun

JAKARTA = ZoneInfo("Asia/Jakarta")


def _definition(date_field: str, offset_days: int) -> dict:
    return {
        "name": f"{offset_days} days from {date_field}",
        "trigger": {"date_field": date_field, "offset_days": offset_days},
        "start": "mark",
        "steps": {
            "mark": {"type": "set_variable", "name": "seen", "value": "yes", "next": "done"},
            "done": {"type": "end"},
        },
    }


@pytest.fixture
def admin(db, world):
    company_service.update_settings(db, actor="test", changes={"timezone": "Asia/Jakarta"})
    return auth_service.principal_for_user(db, world.admin)


def _workflow(db, admin, date_field, offset_days, key="dated"):
    workflow = workflow_service.create_workflow(
        db, principal=admin, key=key, definition=_definition(date_field, offset_days), enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    return workflow


def _local_midnight(day: date) -> datetime:
    return datetime.combine(day, time(), JAKARTA).astimezone(UTC)


def _today(db, workflow) -> date:
    """A company day after the publish (the dates here follow the calendar)."""
    published = next(
        i.published_at
        for i in triggers.published_with(db, "date_field")
        if i.workflow.workflow_id == workflow.id
    )
    return published.astimezone(JAKARTA).date() + timedelta(days=10)


def _contract(db, world, end: date) -> Contract:
    contract = Contract(
        customer_id=world.customer_a.id,
        title=f"ends {end}",
        acv=Decimal("1000000"),
        currency="IDR",
        start_date=end - timedelta(days=365),
        end_date=end,
        status=ContractStatus.active,
    )
    db.add(contract)
    db.flush()
    return contract


def _keys(db, workflow_id) -> list[str]:
    return sorted(
        db.scalars(
            select(WorkflowRun.trigger_event_id).where(WorkflowRun.workflow_id == workflow_id)
        )
    )


def _key(contract: Contract, end: date) -> str:
    return f"date:contract.end_date:{contract.id}:{end.isoformat()}"


def test_fires_for_the_right_rows_on_the_local_day_once(db, world, admin):
    workflow = _workflow(db, admin, "contract.end_date", -30)
    today = _today(db, workflow)
    due = _contract(db, world, today + timedelta(days=30))  # fire day today
    _contract(db, world, today + timedelta(days=31))  # tomorrow
    missed = _contract(db, world, today + timedelta(days=28))  # two days ago: caught up
    gap = date_triggers.CATCH_UP_DAYS + 2  # beyond it from the run on the day before too
    _contract(db, world, today + timedelta(days=30 - gap))  # beyond the catch-up window

    # 23:59 the day before in Jakarta (16:59 UTC): today's contract is not due yet.
    date_triggers.run_date_triggers(db, now=_local_midnight(today) - timedelta(minutes=1))
    assert _key(due, due.end_date) not in _keys(db, workflow.id)

    # 00:30 in Jakarta is still the day before in UTC: the company's day counts.
    now = _local_midnight(today) + timedelta(minutes=30)
    assert now.astimezone(UTC).date() == today - timedelta(days=1)
    date_triggers.run_date_triggers(db, now=now)
    date_triggers.run_date_triggers(db, now=now + timedelta(hours=1))  # the job again
    assert _keys(db, workflow.id) == sorted(
        [_key(due, due.end_date), _key(missed, missed.end_date)]
    )
    run = db.scalar(select(WorkflowRun).where(WorkflowRun.subject_id == due.id))
    assert run.variables == {"seen": "yes"}
    assert run.context["contract"]["end_date"] == due.end_date.isoformat()
    assert run.context["customer"]["id"] == world.customer_a.id
    assert run.context["trigger"] == {
        "kind": "date_field",
        "fired_at": _local_midnight(today).isoformat(),
    }


def test_a_moved_date_fires_for_the_new_date_never_twice_for_one(db, world, admin):
    workflow = _workflow(db, admin, "contract.end_date", -30)
    today = _today(db, workflow)
    old_end = today + timedelta(days=30)
    contract = _contract(db, world, old_end)
    date_triggers.run_date_triggers(db, now=_local_midnight(today) + timedelta(hours=1))

    contract.end_date = old_end + timedelta(days=7)  # extended by a week
    db.flush()
    later = _local_midnight(today + timedelta(days=7)) + timedelta(hours=1)
    date_triggers.run_date_triggers(db, now=later)
    date_triggers.run_date_triggers(db, now=later)
    assert _keys(db, workflow.id) == sorted(
        [_key(contract, old_end), _key(contract, contract.end_date)]
    )

    contract.end_date = old_end  # moved back: that date has had its run
    db.flush()
    date_triggers.run_date_triggers(db, now=_local_midnight(today) + timedelta(hours=2))
    assert len(_keys(db, workflow.id)) == 2


def _invoices(db, due_dates: list[date]) -> None:
    db.execute(
        Invoice.__table__.insert(),
        [
            {
                "external_id": f"inv-{i}",
                "state": "posted",
                "due_date": due,
                "total_amount": 100,
                "amount_to_pay": 100,
            }
            for i, due in enumerate(due_dates)
        ],
    )


def _nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def test_reads_only_candidate_rows_through_the_index(db, world, admin):
    workflow = _workflow(db, admin, "invoice.due_date", 3)  # 3 days after it is due
    today = _today(db, workflow)
    candidate_due = today - timedelta(days=3)
    others = [today + timedelta(days=5 + i % 2000) for i in range(4000)]
    _invoices(db, others + [candidate_due] * 3)
    db.execute(text("ANALYZE invoices"))
    item = next(
        i
        for i in triggers.published_with(db, "date_field")
        if i.workflow.workflow_id == workflow.id
    )

    statement = date_triggers.candidates_statement(item, first_day=today, today=today)
    compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    plan = db.execute(text(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}")).scalar()[0]["Plan"]
    scans = [n for n in _nodes(plan) if n.get("Relation Name") == "invoices"]
    assert [n["Node Type"] for n in scans] in (["Index Scan"], ["Bitmap Heap Scan"]), scans
    assert "ix_invoices_due_date" in {n.get("Index Name") for n in _nodes(plan)}
    assert sum(n["Actual Rows"] for n in scans) == 3  # of 4,003 invoices

    now = _local_midnight(today) + timedelta(hours=1)
    assert date_triggers.run_date_triggers(db, now=now) == {"started": 3}
    assert date_triggers.run_date_triggers(db, now=now) == {"started": 0}


WORKFLOW_ID = 765_432


@pytest.fixture
def committed_invoices():
    """Invoices due in the company's today, committed (two sessions see them)."""
    today = datetime.now(UTC).astimezone(JAKARTA).date()
    with session_scope() as session:
        ids = [
            session.execute(
                Invoice.__table__.insert().returning(Invoice.id),
                {
                    "external_id": f"wf-date-concurrent-{i}",
                    "state": "posted",
                    "due_date": today,
                    "total_amount": 100,
                    "amount_to_pay": 100,
                },
            ).scalar_one()
            for i in range(30)
        ]
    try:
        yield today, ids
    finally:
        with session_scope() as session:
            session.execute(delete(WorkflowRun).where(WorkflowRun.workflow_id == WORKFLOW_ID))
            session.execute(delete(Invoice).where(Invoice.id.in_(ids)))


def test_two_sessions_at_once_start_each_run_once(committed_invoices, monkeypatch):
    today, ids = committed_invoices
    monkeypatch.setattr(date_triggers, "BATCH", 7)  # several batches, several commits
    item = triggers.Published(
        engine.ActiveWorkflow(WORKFLOW_ID, 1, _definition("invoice.due_date", 0)),
        _local_midnight(today) - timedelta(days=1),
    )
    now = _local_midnight(today) + timedelta(hours=1)
    barrier = threading.Barrier(2)
    started: list[int] = []
    errors: list[BaseException] = []

    def scheduler():
        try:
            with session_scope() as session:
                barrier.wait()
                deadline = date_triggers.time.monotonic() + 60
                started.append(date_triggers.fire_workflow(session, item, JAKARTA, now, deadline))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with session_scope() as session:
        per_invoice = session.execute(
            select(WorkflowRun.subject_id, func.count())
            .where(WorkflowRun.workflow_id == WORKFLOW_ID)
            .group_by(WorkflowRun.subject_id)
        ).all()
    assert sum(started) == len(ids)  # whoever started them, between the two
    assert sorted(per_invoice) == sorted((i, 1) for i in ids)
