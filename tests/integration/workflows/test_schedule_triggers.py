"""Schedule triggers: a published cron starts a run at its fire time in the company's
timezone (Asia/Jakarta, UTC+7, here), once per fire time whether the job runs once,
twice, or in two sessions at the same moment; fire times missed while no scheduler ran
fire once, as the latest of them, when it comes back."""

import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select

from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.db import session_scope
from sfa.workflows import engine, schedules, triggers
from sfa.workflows import service as workflow_service
from sfa.workflows.runtime_models import RunStatus, WorkflowRun

JAKARTA = ZoneInfo("Asia/Jakarta")


def _definition(cron: str) -> dict:
    return {
        "name": f"Every {cron}",
        "trigger": {"schedule": cron},
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


def _workflow(db, admin, cron, *, key="scheduled", enabled=True, publish=True):
    workflow = workflow_service.create_workflow(
        db, principal=admin, key=key, definition=_definition(cron), enabled=enabled
    )
    if publish:
        workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    return workflow


def _published_at(db, workflow) -> datetime:
    item = next(
        i for i in triggers.published_with(db, "schedule") if i.workflow.workflow_id == workflow.id
    )
    return item.published_at


def _next_local(after: datetime, at: time) -> datetime:
    """The first `at` o'clock in Jakarta after `after` (computed here, not by the cron)."""
    local = after.astimezone(JAKARTA)
    candidate = datetime.combine(local.date(), at, JAKARTA)
    if candidate <= after:
        candidate += timedelta(days=1)
    return candidate.astimezone(UTC)


def _runs(db, workflow_id) -> list[WorkflowRun]:
    return list(
        db.scalars(
            select(WorkflowRun)
            .where(WorkflowRun.workflow_id == workflow_id)
            .order_by(WorkflowRun.started_at)
        )
    )


def test_fires_at_the_company_local_time_once(db, admin):
    workflow = _workflow(db, admin, "0 8 * * *")
    fire = _next_local(_published_at(db, workflow), time(8, 0))
    assert (fire.hour, fire.minute) == (1, 0)  # 08:00 in Jakarta is 01:00 UTC

    schedules.run_schedules(db, now=fire - timedelta(minutes=1))
    assert _runs(db, workflow.id) == []  # yesterday's 08:00 was before the publish

    schedules.run_schedules(db, now=fire + timedelta(seconds=3))
    schedules.run_schedules(db, now=fire + timedelta(seconds=40))  # the job again
    runs = _runs(db, workflow.id)
    assert len(runs) == 1
    run = runs[0]
    assert (run.status, run.variables, run.trigger_type) == (
        RunStatus.completed,
        {"seen": "yes"},
        "schedule",
    )
    assert run.context["trigger"] == {"kind": "schedule", "fired_at": fire.isoformat()}

    schedules.run_schedules(db, now=fire + timedelta(days=1, seconds=5))  # the next day
    assert len(_runs(db, workflow.id)) == 2


def test_each_fire_time_once_and_missed_ones_once(db, admin):
    workflow = _workflow(db, admin, "*/15 * * * *")
    first = _next_local(_published_at(db, workflow), time(9, 0))
    for offset in (1, 20, 300, 899):  # four job runs in the 09:00 period
        schedules.run_schedules(db, now=first + timedelta(seconds=offset))
    schedules.run_schedules(db, now=first + timedelta(minutes=15, seconds=1))
    assert len(_runs(db, workflow.id)) == 2

    # The scheduler is down from 09:16 to 11:07: 09:30 ... 11:00 are missed (7 times).
    back = first + timedelta(hours=2, minutes=7)
    schedules.run_schedules(db, now=back)
    schedules.run_schedules(db, now=back + timedelta(seconds=30))
    runs = _runs(db, workflow.id)
    assert len(runs) == 3  # one run for all of them, not seven
    expected = (first + timedelta(hours=2)).isoformat()  # 11:00, the latest missed
    assert runs[-1].context["trigger"]["fired_at"] == expected


def test_drafts_and_disabled_workflows_never_fire(db, admin):
    draft = _workflow(db, admin, "* * * * *", key="draft", publish=False)
    disabled = _workflow(db, admin, "* * * * *", key="disabled", enabled=False)
    later = datetime.now(UTC) + timedelta(hours=1)
    assert schedules.run_schedules(db, now=later) == {"started": 0}
    assert _runs(db, draft.id) == [] and _runs(db, disabled.id) == []


WORKFLOW_ID = 876_543


@pytest.fixture
def concurrent_item():
    published = datetime.now(UTC)
    item = triggers.Published(
        engine.ActiveWorkflow(WORKFLOW_ID, 1, _definition("*/5 * * * *")), published
    )
    try:
        yield item
    finally:
        with session_scope() as session:
            session.execute(delete(WorkflowRun).where(WorkflowRun.workflow_id == WORKFLOW_ID))


def test_two_sessions_at_once_start_one_run(concurrent_item):
    fire = _next_local(concurrent_item.published_at, time(10, 0))
    barrier = threading.Barrier(2)
    started: list[bool] = []
    errors: list[BaseException] = []

    def scheduler():
        try:
            with session_scope() as session:
                barrier.wait()
                started.append(
                    schedules.fire_workflow(
                        session, concurrent_item, JAKARTA, fire + timedelta(seconds=2)
                    )
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(started) == [False, True]
    with session_scope() as session:
        keys = session.scalars(
            select(WorkflowRun.trigger_event_id).where(WorkflowRun.workflow_id == WORKFLOW_ID)
        ).all()
    assert keys == [schedules.trigger_key(fire)]
