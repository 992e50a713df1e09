"""Keeping flags, day/week aggregates and anomalies up to date.

Incrementally: ingest, check-in and check-out mark the rep's day (rep_days.dirty for
tracking, flags_dirty for visits); `refresh_dirty` recomputes just those days and the
weeks they belong to. On demand: `recompute` for any date range, `compute_week` for a
week. Everything is delete-and-insert per scope, so a repeat gives the same rows.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics import suspicious, weekly
from analytics.suspicious import Scope
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.tracking import days


@dataclass(frozen=True)
class RefreshResult:
    tracking_days: int
    flag_days: int
    anomalies: int


def batch_settings(session: Session) -> None:
    """For the rest of this transaction: no JIT compilation, and sorts in memory.

    PostGIS prices its functions high, so company-wide statements (customer clusters over
    every customer, any indicator over many visits) cross jit_above_cost, and compiling
    them costs 0.2-0.9 s each, more than it saves. The window sorts of a full recompute
    need more than the default 4 MB work_mem not to spill to disk."""
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL work_mem = '64MB'"))


def recompute(
    session: Session,
    *,
    date_from: dt.date,
    date_to: dt.date,
    rep_ids: list[int] | None = None,
    settings: CompanySettings | None = None,
) -> int:
    """Flags, aggregates and anomalies of a date range; returns the anomalies stored."""
    settings = settings or company_service.get_company_settings(session)
    batch_settings(session)
    scope = Scope(date_from=date_from, date_to=date_to, rep_ids=rep_ids)
    suspicious.recompute_flags(session, scope=scope, settings=settings)
    weekly.refresh_day_aggregates(session, scope=scope)
    weekly.refresh_weeks(session, week_from=date_from, week_to=date_to, rep_ids=rep_ids)
    return weekly.compute_anomalies(
        session, week_from=date_from, week_to=date_to, rep_ids=rep_ids, settings=settings
    )


def compute_week(session: Session, *, week_start: dt.date, rep_ids: list[int] | None = None) -> int:
    monday = weekly.monday(week_start)
    return recompute(
        session, date_from=monday, date_to=monday + dt.timedelta(days=6), rep_ids=rep_ids
    )


def compute_last_week(session: Session) -> int:
    """Scheduler job (Mondays 06:00 company time): last ISO week, every rep."""
    settings = company_service.get_company_settings(session)
    today = dt.datetime.now(settings.tz).date()
    return compute_week(session, week_start=weekly.monday(today) - dt.timedelta(days=7))


def refresh_dirty(session: Session, limit: int = 500) -> RefreshResult:
    """Scheduler job (every minute): the days touched by new pings and visits.

    Commits in steps: each tracking day, the customer clusters, then each rep's days, so
    that the rep_days rows that check-ins and ping batches mark dirty are locked only while
    their own step runs (see days.recompute_dirty_days). A crash leaves every finished
    step done and the rest still marked."""
    settings = company_service.get_company_settings(session)
    tracking = days.recompute_dirty_days(session, limit=limit, commit_each=True)
    candidates = session.execute(
        text(
            "SELECT rep_id, day FROM rep_days WHERE flags_dirty ORDER BY rep_id, day LIMIT :limit"
        ),
        {"limit": limit},
    ).all()
    by_rep: dict[int, list[dt.date]] = defaultdict(list)
    for rep_id, day in candidates:
        by_rep[rep_id].append(day)
    if by_rep:
        batch_settings(session)
        suspicious.refresh_customer_clusters(session, settings)
        session.commit()
    flag_days = anomalies = 0
    for rep_id, candidate_days in by_rep.items():
        rep_days = session.scalars(
            text(
                "SELECT day FROM rep_days WHERE rep_id = :rep_id AND flags_dirty "
                "AND day = ANY(:days) FOR UPDATE SKIP LOCKED"
            ),
            {"rep_id": rep_id, "days": candidate_days},
        ).all()
        if not rep_days:
            continue  # another runner has them, or they were refreshed meanwhile
        batch_settings(session)
        anomalies += refresh_rep(
            session,
            rep_id=rep_id,
            date_from=min(rep_days),
            date_to=max(rep_days),
            settings=settings,
        )
        session.commit()
        flag_days += len(rep_days)
    return RefreshResult(tracking_days=tracking, flag_days=flag_days, anomalies=anomalies)


def refresh_rep(
    session: Session,
    *,
    rep_id: int,
    date_from: dt.date,
    date_to: dt.date,
    settings: CompanySettings,
) -> int:
    """One rep's flags, aggregates and anomalies over a few days (check-out, late data).

    Customer clusters are company-wide and left to the callers that refresh them."""
    scope = Scope(date_from=date_from, date_to=date_to, rep_ids=[rep_id])
    suspicious.recompute_flags(session, scope=scope, settings=settings, refresh_clusters=False)
    weekly.refresh_day_aggregates(session, scope=scope)
    weekly.refresh_weeks(session, week_from=date_from, week_to=date_to, rep_ids=[rep_id])
    return weekly.compute_anomalies(
        session, week_from=date_from, week_to=date_to, rep_ids=[rep_id], settings=settings
    )
