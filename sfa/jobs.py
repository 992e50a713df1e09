"""Scheduled jobs: each run holds a PostgreSQL advisory lock, so that several scheduler
replicas never run the same job at the same time. A run is one transaction unless the
job commits its own steps."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfa.db import advisory_lock, session_scope

log = logging.getLogger("sfa.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Session], object]
    # APScheduler trigger arguments, e.g. {"trigger": "interval", "minutes": 15}.
    schedule: dict


def try_run(job: Job) -> tuple[bool, object]:
    """Run a job if no other process is running it: (True, its result), or (False, None)
    when another process holds its lock (the scheduler and `sfa run-job` alike).

    The lock is held for the whole run, which may commit in steps (refresh-dirty-days
    commits each day it recomputes, so that the rows it locks are held briefly)."""
    with advisory_lock(f"job:{job.name}") as taken:
        if not taken:
            log.info("job %s is already running elsewhere; skipped", job.name)
            return False, None
        with session_scope() as session:
            result = job.func(session)
        log.info("job %s done: %s", job.name, result)
        return True, result


def run_locked(job: Job) -> object | None:
    """`try_run` for the scheduler: the job's result, None when skipped."""
    return try_run(job)[1]
