"""Advisory locks make a job run once even when two schedulers fire it together."""

import contextlib

from sqlalchemy import text

from sfa.db import advisory_key, session_scope
from sfa.jobs import Job, run_locked


def test_second_runner_skips_while_first_holds_the_lock(database_url, engine):
    calls = []
    job = Job(name="test-job", func=lambda session: calls.append(1) or "ran", schedule={})
    with engine.connect() as other:
        other.begin()
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("job:test-job")})
        assert run_locked(job) is None  # another process holds it: skipped
        assert calls == []
        other.rollback()
    assert run_locked(job) == "ran"
    assert calls == [1]


def test_lock_is_released_when_a_job_fails(database_url):
    def boom(session):
        raise RuntimeError("crash mid-job")

    job = Job(name="failing", func=boom, schedule={})
    for _ in range(2):  # the second run is not blocked by the first one's crash
        with contextlib.suppress(RuntimeError):
            run_locked(job)
    with session_scope() as session:
        held = session.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        ).scalar()
    assert held == 0


def test_a_scheduled_job_runs_once_per_period_whatever_the_schedulers(database_url):
    from datetime import UTC, datetime

    from sfa.jobs import period_start

    calls = []
    # A period of a day: both "schedulers" fire within it.
    job = Job(
        name="once-a-day",
        func=lambda s: calls.append(1) or "ran",
        schedule={"trigger": "interval", "days": 1},
    )
    assert run_locked(job) == "ran"
    assert run_locked(job) is None  # the second scheduler: this period ran already
    assert calls == [1]
    with session_scope() as session:
        row = session.execute(
            text("SELECT period_start, status, attempts FROM job_runs WHERE job = 'once-a-day'")
        ).one()
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    assert tuple(row) == (today, "done", 1)
    assert period_start(job.schedule, datetime.now(UTC)) == today


def test_periods_of_interval_and_cron_schedules():
    from datetime import UTC, datetime

    from sfa.jobs import period_start

    weekly = {"trigger": "cron", "day_of_week": "mon", "hour": 6, "timezone": "Asia/Jakarta"}
    # Sunday 20:00 UTC is Monday 03:00 in Jakarta: the week that starts that Monday.
    sunday_night = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)
    assert period_start(weekly, sunday_night) == datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    daily = {"trigger": "cron", "hour": 8, "timezone": "Asia/Jakarta"}
    assert period_start(daily, sunday_night) == datetime(2026, 11, 29, 17, 0, tzinfo=UTC)
    quarter = {"trigger": "interval", "minutes": 15}
    assert period_start(quarter, datetime(2026, 11, 29, 20, 44, 59, tzinfo=UTC)) == datetime(
        2026, 11, 29, 20, 30, tzinfo=UTC
    )


def test_a_failed_run_is_retried_in_its_period(database_url):
    attempts = []

    def flaky(session):
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first attempt fails")
        return "second time lucky"

    job = Job(name="flaky-daily", func=flaky, schedule={"trigger": "interval", "days": 1})
    with contextlib.suppress(RuntimeError):
        run_locked(job)
    assert run_locked(job) == "second time lucky"
    assert run_locked(job) is None
    with session_scope() as session:
        row = session.execute(
            text("SELECT status, attempts, result FROM job_runs WHERE job = 'flaky-daily'")
        ).one()
    assert tuple(row) == ("done", 2, "second time lucky")
