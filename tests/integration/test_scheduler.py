"""The scheduler's schedules follow the company settings without a restart (issue 20 #4).

A real APScheduler and the real settings table: the change is committed as an admin's
PATCH /v1/settings commits it (`company_service.update_settings`), and the scheduler's
own job that follows the settings picks it up. The jobs themselves are not run here
(`runner` records instead): what is under test is when they are due.
"""

from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from polling import wait_until
from sqlalchemy import delete

from api.scheduler import Schedules
from sfa.audit.models import AuditEntry
from sfa.company import service as company_service
from sfa.company.models import SettingValue
from sfa.db import session_scope


@pytest.fixture
def committed_settings(database_url):
    def change(**changes):
        with session_scope() as session:
            company_service.update_settings(session, actor="test:scheduler", changes=changes)

    yield change
    with session_scope() as session:
        session.execute(delete(SettingValue))
        session.execute(delete(AuditEntry).where(AuditEntry.actor == "test:scheduler"))
    company_service.clear_cache()


def test_a_settings_change_reschedules_the_erp_sync(committed_settings):
    scheduler = BackgroundScheduler(timezone="UTC")
    schedules = Schedules(scheduler, runner=lambda job: None, follow_seconds=0.2)
    schedules.start()
    scheduler.start()
    try:
        sync = scheduler.get_job("erp-sync")
        assert sync.trigger.interval == timedelta(minutes=15)

        committed_settings(erp_sync_minutes=1, timezone="Asia/Makassar")

        wait_until(lambda: scheduler.get_job("erp-sync").trigger.interval == timedelta(minutes=1))
        sync = scheduler.get_job("erp-sync")
        assert sync.next_run_time <= datetime.now(UTC) + timedelta(minutes=1)
        # the cron jobs follow the company's timezone likewise
        wait_until(
            lambda: str(scheduler.get_job("weekly-anomalies").trigger.timezone) == "Asia/Makassar"
        )
        assert schedules.current["erp-sync"] == {"trigger": "interval", "minutes": 1}
    finally:
        scheduler.shutdown(wait=False)


def test_unchanged_settings_reschedule_nothing(database_url):
    scheduler = BackgroundScheduler(timezone="UTC")
    schedules = Schedules(scheduler, runner=lambda job: None)
    assert schedules.follow() == []  # first time: every job added
    first = {job.id for job in scheduler.get_jobs()}
    assert {"erp-sync", "send-notifications", "refresh-dirty-days"} <= first
    assert schedules.follow() == []
    assert {job.id for job in scheduler.get_jobs()} == first
