"""Scheduled jobs: each run holds a PostgreSQL advisory lock, so that several scheduler
replicas never run the same job at the same time, and a scheduled run claims its period
in `job_runs`, so that the job runs once per period whatever the number of schedulers
(a lock alone would let a second scheduler run it again once the first is done). A run
is one transaction unless the job commits its own steps."""

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Integer, String, func, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from sfa.db import Base, advisory_lock, current_company, session_scope

log = logging.getLogger("sfa.jobs")

_INTERVAL_UNITS = ("weeks", "days", "hours", "minutes", "seconds")
# Interval schedules count from here, so every scheduler fires at the same instants: the
# starts of the periods `period_start` computes.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class JobRun(Base):
    """One scheduled run of a job in one period: who ran it, when, how it ended."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))  # running | done | failed
    runner: Mapped[str] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, server_default="1")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    result: Mapped[str | None] = mapped_column(String(500))


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Session], object]
    # APScheduler trigger arguments, e.g. {"trigger": "interval", "minutes": 15}.
    schedule: dict
    # A scheduled run claims its period in `job_runs`; a job that runs every few seconds
    # and may run twice (the event drain: its consumers lock their own cursors) does not,
    # so it adds no row per run.
    claims_period: bool = True


def period_start(schedule: dict, now: datetime) -> datetime:
    """The start of the period `now` falls in: the interval's multiple since EPOCH, or for
    a cron job its day in its timezone (its week, from Monday, if it names a weekday)."""
    if schedule["trigger"] == "interval":
        units = {unit: schedule[unit] for unit in _INTERVAL_UNITS if unit in schedule}
        step = timedelta(**units)
        return EPOCH + step * ((now - EPOCH) // step)
    zone = ZoneInfo(schedule.get("timezone", "UTC"))
    day = now.astimezone(zone).date()
    if "day_of_week" in schedule:
        day -= timedelta(days=day.weekday())
    return datetime.combine(day, time(), zone).astimezone(UTC)


_RUNNER = f"{socket.gethostname()}:{os.getpid()}"
# Under the job's advisory lock: a row still `running` is a dead runner's, like `failed`.
_CLAIM = text(
    "INSERT INTO job_runs (job, period_start, status, runner) "
    "VALUES (:job, :period, 'running', :runner) "
    "ON CONFLICT (job, period_start) DO UPDATE SET status = 'running', "
    "runner = excluded.runner, attempts = job_runs.attempts + 1, started_at = now(), "
    "finished_at = NULL, result = NULL WHERE job_runs.status <> 'done' RETURNING attempts"
)
_FINISH = text(
    "UPDATE job_runs SET status = :status, finished_at = now(), result = :result "
    "WHERE job = :job AND period_start = :period"
)


def _claim(job: Job, period: datetime) -> bool:
    with session_scope() as session:
        params = {"job": job.name, "period": period, "runner": _RUNNER}
        return session.execute(_CLAIM, params).first() is not None


def _finish(job: Job, period: datetime, status: str, result: object) -> None:
    with session_scope() as session:
        session.execute(
            _FINISH,
            {"job": job.name, "period": period, "status": status, "result": str(result)[:500]},
        )


def try_run(job: Job, *, once_per_period: bool = False) -> tuple[bool, object]:
    """Run a job if no other process is running it: (True, its result), or (False, None)
    when another process holds its lock (the scheduler and `sfa run-job` alike) or, with
    `once_per_period` (the scheduler), when its current period has run already.

    The lock is held for the whole run, which may commit in steps (refresh-dirty-days
    commits each day it recomputes, so that the rows it locks are held briefly)."""
    with advisory_lock(f"job:{job.name}") as taken:
        if not taken:
            log.info("job %s is already running elsewhere; skipped", job.name)
            return False, None
        # A job without a schedule (made up to be run by hand) has no period to claim.
        scheduled = once_per_period and "trigger" in job.schedule
        period = period_start(job.schedule, datetime.now(UTC)) if scheduled else None
        if period is not None and not _claim(job, period):
            log.info("job %s already ran for %s; skipped", job.name, period.isoformat())
            return False, None
        try:
            with session_scope() as session:
                result = job.func(session)
        except Exception as exc:
            if period is not None:
                _finish(job, period, "failed", repr(exc))
            raise
        if period is not None:
            _finish(job, period, "done", result)
        log.info("job %s of company %s done: %s", job.name, current_company(), result)
        return True, result


def run_locked(job: Job) -> object | None:
    """`try_run` for the scheduler, once per period (for a job that claims periods): the
    job's result, None when skipped."""
    return try_run(job, once_per_period=job.claims_period)[1]
