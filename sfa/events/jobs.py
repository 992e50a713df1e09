"""The scheduled drain: every consumer, each in a transaction of its own (so one slow or
failing consumer never holds back, or rolls back, another's progress)."""

from collections.abc import Callable

from sqlalchemy.orm import Session

from sfa.db import committing, get_sessionmaker
from sfa.events import consumers

# Batches per consumer in one run: a backlog is worked off in a few runs, and one run
# never keeps the job lock for long.
MAX_ROUNDS = 10


def drain_all(
    session: Session,
    *,
    make_session: Callable[[], Session] | None = None,
    batch: int = 500,
) -> consumers.DrainResult:
    """Drain every registered consumer until it is caught up (at most MAX_ROUNDS batches).
    The job's own session only holds the job's advisory lock."""
    make = make_session or get_sessionmaker()
    total = consumers.DrainResult()
    for consumer in consumers.registered():
        for _ in range(MAX_ROUNDS):
            with committing(make()) as own:
                result = consumers.drain_one(own, consumer, batch=batch)
            total += result
            if result.busy or result.handled + result.skipped + result.failed < batch:
                break
    return total
