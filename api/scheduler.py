"""The scheduler process: registers every job of every package and runs them.

Lives in `api` because it is a composition root: it may import `analytics` and
`integrations` jobs, which `sfa` may not.
"""

import logging
import signal

from apscheduler.schedulers.blocking import BlockingScheduler

from sfa.auth import service as auth_service
from sfa.jobs import Job, run_locked
from sfa.tracking import days

log = logging.getLogger("sfa.scheduler")


def all_jobs() -> list[Job]:
    return [
        Job(name="purge-login-throttle", func=auth_service.purge_login_throttle,
            schedule={"trigger": "interval", "minutes": 30}),
        # Late pings make days stale; reports and the day endpoint read fresh aggregates.
        Job(name="recompute-dirty-days", func=days.recompute_dirty_days,
            schedule={"trigger": "interval", "minutes": 1}),
    ]


def run_scheduler() -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    for job in all_jobs():
        # coalesce + max_instances=1: a late run is done once, not once per missed tick.
        scheduler.add_job(run_locked, args=[job], id=job.name, coalesce=True, max_instances=1,
                          **job.schedule)
        log.info("scheduled %s %s", job.name, job.schedule)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    scheduler.start()
