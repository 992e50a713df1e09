"""Scheduled jobs: each run is one transaction under a PostgreSQL advisory lock, so that
several scheduler replicas never run the same job at the same time."""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfa.db import session_scope, try_advisory_xact_lock

log = logging.getLogger("sfa.jobs")


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Session], object]
    # APScheduler trigger arguments, e.g. {"trigger": "interval", "minutes": 15}.
    schedule: dict


def run_locked(job: Job) -> object | None:
    """Run a job if no other process is running it; returns None when skipped."""
    with session_scope() as session:
        if not try_advisory_xact_lock(session, f"job:{job.name}"):
            log.info("job %s is already running elsewhere; skipped", job.name)
            return None
        result = job.func(session)
        log.info("job %s done: %s", job.name, result)
        return result
