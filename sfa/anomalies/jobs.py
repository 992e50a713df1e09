"""Scheduler jobs that keep tracking days, visit flags, aggregates and anomalies current.

`refresh_dirty` (every minute) works through the days that ingest, check-in and check-out
marked stale (rep_days.dirty for tracking, flags_dirty for the visit side), one unit at a
time: a tracking day, then each rep's stale days. Two rules, because the mobile app
writes those same rows while the job runs:

- The app never waits for the job. A unit is claimed by marking it clean in a tiny
  transaction of its own (SKIP LOCKED: rows a request holds are left for later);
  computing needs no lock; only the unit's writes lock rows, and they first lock the
  rep's visits and days with NOWAIT, so that a unit meeting a request's lock is put back
  on the queue for the next run instead of waiting (or making the request wait) for it.
  A request arriving during the writes waits for a few milliseconds of statements.
- One bad unit stops nothing else. A unit that fails is rolled back and parked: its days
  keep the error (visible at GET /v1/analytics/parked-days) and leave the queue until new
  data arrives for them or an administrator retries them; the run goes on with the next
  unit. A crash leaves every finished unit done and the rest still marked.

`compute_last_week` (Mondays 06:00 company time) computes last ISO week's anomalies.
"""

import datetime as dt
import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from sfa.anomalies import service
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.tracking import days
from sfa.tracking import repository as tracking_repository
from sfa.visits import indicators
from sfa.visits import repository as visit_repository
from sfa.visits.repository import Scope

log = logging.getLogger("sfa.jobs.refresh")


@dataclass
class RefreshResult:
    tracking_days: int = 0
    flag_days: int = 0
    anomalies: int = 0
    skipped: int = 0  # units put back because a request held their rows
    parked: list[str] = field(default_factory=list)  # "rep 12 2026-11-03: OverflowError: …"


class _Busy(Exception):
    """A request holds a row of the unit: try again next run."""


class Outcome(enum.Enum):
    DONE = "done"
    BUSY = "busy"  # a request held one of its rows: put back for the next run
    PARKED = "parked"  # it failed: set aside with the reason


def refresh_dirty(session: Session, limit: int = 500) -> RefreshResult:
    """Scheduler job (every minute): the days touched by new pings and visits."""
    settings = company_service.get_company_settings(session)
    session.commit()
    result = RefreshResult()
    busy: list[tuple[int, dt.date]] = []
    while result.tracking_days + len(busy) < limit:
        claimed = tracking_repository.claim_dirty_day(session)
        session.commit()
        if claimed is None:
            break
        rep_id, day = claimed
        outcome, _ = _unit(session, result, rep_id, [day], True, _tracking_day, settings)
        if outcome is Outcome.DONE:
            result.tracking_days += 1
        elif outcome is Outcome.BUSY:
            busy.append(claimed)  # queued again after the loop: not twice in one run
    for rep_id, day in busy:
        tracking_repository.mark_stale(session, rep_id, [day], tracking=True)
    session.commit()

    by_rep = tracking_repository.claim_flag_days(session, limit)
    session.commit()
    if by_rep:
        service.batch_settings(session)
        indicators.refresh_customer_clusters(session, settings)
        session.commit()
    for rep_id, rep_days in by_rep.items():
        outcome, anomalies = _unit(session, result, rep_id, rep_days, False, _flag_days, settings)
        if outcome is Outcome.DONE:
            result.flag_days += len(rep_days)
            result.anomalies += anomalies
        elif outcome is Outcome.BUSY:
            tracking_repository.mark_stale(session, rep_id, rep_days, tracking=False)
            session.commit()
    return result


def _unit(
    session: Session,
    result: RefreshResult,
    rep_id: int,
    rep_days: list[dt.date],
    tracking: bool,
    work: Callable[[Session, int, list[dt.date], CompanySettings], int],
    settings: CompanySettings,
) -> tuple[Outcome, int]:
    """Run one unit in its own transaction; returns its outcome and count."""
    try:
        count = work(session, rep_id, rep_days, settings)
        session.commit()
        return Outcome.DONE, count
    except _Busy:
        session.rollback()
        result.skipped += 1
        return Outcome.BUSY, 0
    except Exception as exc:  # one bad unit must not stop the others
        session.rollback()
        reason = f"{'tracking' if tracking else 'visit flags'}: {type(exc).__name__}: {exc}"
        log.exception("refresh of rep %s days %s failed; parked", rep_id, rep_days)
        tracking_repository.mark_stale(session, rep_id, rep_days, tracking=tracking)
        tracking_repository.park(session, rep_id, rep_days, reason)
        session.commit()
        result.parked.append(f"rep {rep_id} {', '.join(map(str, rep_days))}: {reason}")
        return Outcome.PARKED, 0


def _lock_rows(session: Session, rep_id: int, first: dt.date, last: dt.date) -> list:
    """The rep's visits and day rows of the unit, locked without waiting (module doc)."""
    try:
        visits = visit_repository.lock_visits_nowait(session, rep_id, first, last)
        tracking_repository.lock_days_nowait(session, rep_id, first, last)
    except OperationalError as exc:
        if getattr(exc.orig, "sqlstate", None) == "55P03":  # lock_not_available
            raise _Busy from exc
        raise
    return visits


def _tracking_day(
    session: Session, rep_id: int, rep_days: list[dt.date], settings: CompanySettings
) -> int:
    (day,) = rep_days
    result = days.compute_day(session, rep_id=rep_id, day=day, settings=settings)
    seen = {visit.id: visit.check_out_hash for visit in result.visits}
    locked = _lock_rows(session, rep_id, day, day)
    # A check-out between computing and locking changed a visit the result covers: the
    # day is stale again (the check-out marked it); leave it to the next run.
    if any(visit.id in seen and seen[visit.id] != visit.check_out_hash for visit in locked):
        raise _Busy
    days.store_day(session, result, mark_clean=False)
    return 1


def _flag_days(
    session: Session, rep_id: int, rep_days: list[dt.date], settings: CompanySettings
) -> int:
    first, last = min(rep_days), max(rep_days)
    service.batch_settings(session)
    _lock_rows(session, rep_id, first, last)
    return refresh_rep(session, rep_id=rep_id, date_from=first, date_to=last, settings=settings)


def refresh_rep(
    session: Session,
    *,
    rep_id: int,
    date_from: dt.date,
    date_to: dt.date,
    settings: CompanySettings,
) -> int:
    """One rep's flags, aggregates and anomalies over a few days (late data).

    Customer clusters are company-wide and left to the callers that refresh them."""
    scope = Scope(date_from=date_from, date_to=date_to, rep_ids=[rep_id])
    indicators.recompute_flags(session, scope=scope, settings=settings, refresh_clusters=False)
    return service.refresh_aggregates_and_anomalies(session, scope=scope, settings=settings)


def compute_last_week(session: Session) -> int:
    """Scheduler job (Mondays 06:00 company time): last ISO week, every rep."""
    settings = company_service.get_company_settings(session)
    today = dt.datetime.now(settings.tz).date()
    last_monday = today - dt.timedelta(days=today.weekday() + 7)
    return service.compute_week(session, week_start=last_monday)
