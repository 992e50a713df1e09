"""refresh-dirty-days must not hold every day it recomputes locked for its whole run:
check-ins and ping batches mark those same rows dirty, and on the event loop they wait at
most a second (api.deps). Real commits here (locks are only visible across connections);
the rows are removed afterwards."""

import datetime as dt

import pytest
from sqlalchemy import delete, text

from factories import make_user
from sfa.anomalies import jobs as anomaly_jobs
from sfa.db import get_sessionmaker, session_scope
from sfa.tracking import days
from sfa.tracking.models import RepDay
from sfa.users.models import Role, User

DAYS = [dt.date(2026, 11, 2), dt.date(2026, 11, 3), dt.date(2026, 11, 4)]


@pytest.fixture
def rep_with_dirty_days(database_url):
    with session_scope() as session:
        rep_id = make_user(session, "lock-test-rep", Role.rep).id
        session.add_all(
            RepDay(
                rep_id=rep_id,
                day=day,
                dirty=True,
                flags_dirty=True,
                distance_m=0,
                coverage=0,
                ping_count=0,
                accepted_count=0,
                rejected={},
                gaps=[],
                trips=[],
            )
            for day in DAYS
        )
    try:
        yield rep_id
    finally:
        with session_scope() as session:
            session.execute(delete(RepDay).where(RepDay.rep_id == rep_id))
            session.execute(delete(User).where(User.id == rep_id))


def test_no_day_is_locked_while_it_is_computed(rep_with_dirty_days, engine, monkeypatch):
    """Each day is claimed (marked clean) and committed before it is computed: while the
    job computes, no row of the rep's days is locked, so no request waits for it."""
    rep_id = rep_with_dirty_days
    locked_during: dict[dt.date, set[dt.date]] = {}
    compute = days.compute_day

    def watched(session, *, rep_id, day, settings=None):
        with engine.connect() as other:  # what another request would find locked now
            free = set(
                other.execute(
                    text("SELECT day FROM rep_days WHERE rep_id = :r FOR UPDATE SKIP LOCKED"),
                    {"r": rep_id},
                ).scalars()
            )
            other.rollback()
        locked_during[day] = set(DAYS) - free
        return compute(session, rep_id=rep_id, day=day, settings=settings)

    monkeypatch.setattr(days, "compute_day", watched)
    with session_scope() as session:
        result = anomaly_jobs.refresh_dirty(session)
    assert result.tracking_days == len(DAYS)
    assert locked_during == {day: set() for day in DAYS}
    with session_scope() as session:
        left = session.execute(
            text("SELECT count(*) FROM rep_days WHERE rep_id = :r AND (dirty OR flags_dirty)"),
            {"r": rep_id},
        ).scalar()
    assert left == 0


def test_a_one_off_recompute_stays_in_its_callers_transaction(rep_with_dirty_days):
    """seed-demo recomputes its history in the transaction that loads it: nothing of it
    may be committed before the load is."""
    rep_id = rep_with_dirty_days
    session = get_sessionmaker()()
    try:
        assert days.recompute_dirty_days(session) == len(DAYS)
        session.rollback()
    finally:
        session.close()
    with session_scope() as session:
        still_dirty = session.execute(
            text("SELECT count(*) FROM rep_days WHERE rep_id = :r AND dirty"), {"r": rep_id}
        ).scalar()
    assert still_dirty == len(DAYS)
