"""The scheduler process: registers every job of every package and runs them.

Lives in `api` because it is a composition root: it may import `analytics` and
`integrations` jobs, which `sfa` may not.
"""

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from analytics import refresh
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.db import session_scope
from sfa.jobs import Job, run_locked

log = logging.getLogger("sfa.scheduler")


def all_jobs(timezone: str) -> list[Job]:
    """Every job; cron schedules are in the company's timezone."""
    return [
        Job(name="purge-login-throttle", func=auth_service.purge_login_throttle,
            schedule={"trigger": "interval", "minutes": 30}),
        # Late pings and new visits make days stale: tracking, flags, day/week aggregates.
        Job(name="refresh-dirty-days", func=refresh.refresh_dirty,
            schedule={"trigger": "interval", "minutes": 1}),
        Job(name="weekly-anomalies", func=refresh.compute_last_week,
            schedule={"trigger": "cron", "day_of_week": "mon", "hour": 6, "minute": 0,
                      "timezone": timezone}),
    ]


def run_scheduler() -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    with session_scope() as session:
        timezone = company_service.get_settings(session).timezone
    for job in all_jobs(timezone):
        # coalesce + max_instances=1: a late run is done once, not once per missed tick.
        scheduler.add_job(run_locked, args=[job], id=job.name, coalesce=True, max_instances=1,
                          **job.schedule)
        log.info("scheduled %s %s", job.name, job.schedule)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()
