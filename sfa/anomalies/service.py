"""Weekly anomalies (docs/rules.md), and recomputing the derived data of any period.

`compute_anomalies` is the one place where a week's anomalies are decided: each kind is
one INSERT … SELECT over rep_weeks (sfa.anomalies.aggregates) comparing a week with the
rep's own history. `recompute` and `compute_week` bring a whole period up to date: visit
flags and trust scores (sfa.visits.indicators), day and week aggregates, anomalies.
Everything is delete-and-insert per scope, so a repeat gives the same rows.
"""

import datetime as dt
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.anomalies import aggregates, events
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.db import execute_dml
from sfa.errors import InvalidInput, NotFound
from sfa.pagination import MAX_LIMIT, Page
from sfa.tracking import repository as tracking_repository
from sfa.visits import indicators
from sfa.visits.repository import Scope
from sfa.weeks import monday

_INSERT = "INSERT INTO weekly_anomalies (rep_id, week_start, code, numbers, reason_en, reason_id) "

# short_visits_spike: short visits rose more than spike_pct over the previous week, and
# there are at least spike_min of them. Only against a previous week with data (visits):
# a rep's first week, or the first after a week off, has nothing to rise from. From zero
# short visits in a week with visits to >= spike_min counts as a spike.
_SHORT_SPIKE = f"""
WITH cur AS (
    SELECT w.rep_id, w.week_start, w.short_visits AS this_week, p.short_visits AS prev_week
    FROM rep_weeks w
    JOIN rep_weeks p ON p.rep_id = w.rep_id AND p.week_start = w.week_start - 7
                    AND p.visits > 0
    WHERE w.week_start BETWEEN :week_from AND :week_to
      AND (:all_reps OR w.rep_id = ANY(CAST(:rep_ids AS bigint[])))
)
{_INSERT}
SELECT rep_id, week_start, 'short_visits_spike',
       jsonb_build_object('this_week', this_week, 'previous_week', prev_week,
                          'rise_pct', CASE WHEN prev_week > 0 THEN
                              round((this_week - prev_week) * 100.0 / prev_week, 1) END,
                          'limit_pct', :spike_pct, 'min_short_visits', :spike_min),
       format('Short visits rose from %s to %s (%s), above +%s%%.', prev_week, this_week,
              CASE WHEN prev_week > 0 THEN '+' || round((this_week - prev_week) * 100.0
                   / prev_week, 1) || '%' ELSE 'from none' END, :spike_pct),
       format('Kunjungan singkat naik dari %s menjadi %s (%s), di atas +%s%%.', prev_week,
              this_week, CASE WHEN prev_week > 0 THEN '+' || round((this_week - prev_week)
                   * 100.0 / prev_week, 1) || '%' ELSE 'dari nol' END, :spike_pct)
FROM cur
WHERE this_week >= :spike_min
  AND (prev_week = 0 OR (this_week - prev_week) * 100.0 / prev_week > :spike_pct)
"""

# visit_count_outlier: this week's visits outside mean ± sigma·σ of the previous
# history_weeks weeks (sample σ), given at least min_history weeks of history.
_COUNT_OUTLIER = f"""
WITH history AS (
    -- n, mean and sigma of the weeks in [week_start - history_weeks, week_start): one
    -- window frame per rep instead of three correlated sub-queries per rep-week
    SELECT rep_id, week_start, visits,
           count(*) OVER h AS n, avg(visits) OVER h AS mean,
           stddev_samp(visits) OVER h AS sigma
    FROM rep_weeks
    WHERE week_start BETWEEN CAST(:week_from AS date) - 7 * :history_weeks AND :week_to
      AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))
    WINDOW h AS (PARTITION BY rep_id ORDER BY week_start
                 RANGE BETWEEN make_interval(days => 7 * :history_weeks) PRECEDING
                           AND interval '1 day' PRECEDING)
),
cur AS (
    SELECT * FROM history WHERE week_start BETWEEN :week_from AND :week_to
)
{_INSERT}
SELECT rep_id, week_start, 'visit_count_outlier',
       jsonb_build_object('this_week', visits, 'mean', round(mean, 2),
                          'sigma', round(sigma, 2), 'history_weeks', n,
                          'limit_sigma', :sigmas),
       format('%s visits this week, outside %s ± %s×%s of the previous %s weeks.', visits,
              round(mean, 1), :sigmas, round(sigma, 1), n),
       format('%s kunjungan minggu ini, di luar %s ± %s×%s dari %s minggu sebelumnya.',
              visits, round(mean, 1), :sigmas, round(sigma, 1), n)
FROM cur
WHERE n >= :min_history AND abs(visits - mean) > :sigmas * sigma
"""

# low_visit_rate: the visit rate (done / planned) stayed below rate_pct for a streak of
# at least `weeks` consecutive weeks ending this week; weeks without plans break it.
_LOW_RATE = f"""
WITH rated AS (
    SELECT rep_id, week_start, planned, planned_done,
           planned_done * 100.0 / NULLIF(planned, 0) AS rate
    FROM rep_weeks
    WHERE week_start BETWEEN CAST(:week_from AS date) - 7 * 104 AND :week_to
      AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))
),
marked AS (
    SELECT *, (rate < :rate_pct) AS low,
           -- islands of consecutive low weeks: a new island starts after a gap in weeks
           -- or after a week that was not low
           week_start - 7 * (row_number() OVER (PARTITION BY rep_id, (rate < :rate_pct)
                                                ORDER BY week_start))::int AS island
    FROM rated
),
streaks AS (
    SELECT *, row_number() OVER (PARTITION BY rep_id, island, low ORDER BY week_start)
              AS streak
    FROM marked WHERE low
)
{_INSERT}
SELECT rep_id, week_start, 'low_visit_rate',
       jsonb_build_object('rate_pct', round(rate, 1), 'planned', planned,
                          'done', planned_done, 'streak_weeks', streak,
                          'limit_pct', :rate_pct),
       format('Visit rate %s%% (%s of %s planned), below %s%% for %s weeks in a row.',
              round(rate, 1), planned_done, planned, :rate_pct, streak),
       format('Tingkat kunjungan %s%% (%s dari %s rencana), di bawah %s%% selama %s minggu '
              'berturut-turut.', round(rate, 1), planned_done, planned, :rate_pct, streak)
FROM streaks
WHERE streak >= :rate_weeks AND week_start BETWEEN :week_from AND :week_to
"""


_RANGE = (
    "FROM weekly_anomalies WHERE week_start BETWEEN :week_from AND :week_to "
    "AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))"
)
_DELETE_RANGE = text(f"DELETE {_RANGE} RETURNING rep_id, week_start, code")
_SELECT_RANGE = text(f"SELECT rep_id, week_start, code, numbers {_RANGE} ORDER BY 2, 1, 3")


def compute_anomalies(
    session: Session,
    *,
    week_from: date,
    week_to: date,
    rep_ids: list[int] | None,
    settings: CompanySettings,
    today: date | None = None,
) -> int:
    """Replace the anomalies of the complete weeks among [week_from, week_to] (Mondays),
    and emit `anomaly.detected` for those the weeks did not have.

    The current week is never judged: half a week of visits would make every rep a
    visit-count outlier and every short-visit count look like a drop."""
    today = today or datetime.now(settings.tz).date()
    last_complete = monday(today) - timedelta(days=7)
    week_to = min(monday(week_to), last_complete)
    if monday(week_from) > week_to:
        return 0
    params = {
        "week_from": monday(week_from),
        "week_to": week_to,
        "rep_ids": rep_ids,
        "all_reps": rep_ids is None,
    }
    before = session.execute(_DELETE_RANGE, params).all()
    inserted = 0
    for sql, extra in [
        (
            _SHORT_SPIKE,
            {
                "spike_pct": settings.short_visits_spike_pct,
                "spike_min": settings.short_visits_spike_min,
            },
        ),
        (
            _COUNT_OUTLIER,
            {
                "history_weeks": settings.visit_count_history_weeks,
                "min_history": settings.visit_count_min_history_weeks,
                "sigmas": settings.visit_count_sigma,
            },
        ),
        (
            _LOW_RATE,
            {"rate_pct": settings.low_visit_rate_pct, "rate_weeks": settings.low_visit_rate_weeks},
        ),
    ]:
        inserted += execute_dml(session, text(sql), params | extra)
    found = session.execute(_SELECT_RANGE, params)
    events.detected(
        session, (((r[0], r[1], r[2]), r[3]) for r in found), {(r[0], r[1], r[2]) for r in before}
    )
    return inserted


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
    session.execute(
        text(
            "UPDATE rep_days SET flags_dirty = false WHERE flags_dirty "
            "AND day BETWEEN :date_from AND :date_to "
            "AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))"
        ),
        scope.params(),
    )
    indicators.recompute_flags(session, scope=scope, settings=settings)
    return refresh_aggregates_and_anomalies(session, scope=scope, settings=settings)


def refresh_aggregates_and_anomalies(
    session: Session, *, scope: Scope, settings: CompanySettings
) -> int:
    """Day and week aggregates of a scope, then the anomalies of its weeks."""
    aggregates.refresh_day_aggregates(session, scope=scope)
    aggregates.refresh_weeks(
        session, week_from=scope.date_from, week_to=scope.date_to, rep_ids=scope.rep_ids
    )
    return compute_anomalies(
        session,
        week_from=scope.date_from,
        week_to=scope.date_to,
        rep_ids=scope.rep_ids,
        settings=settings,
    )


def compute_week(session: Session, *, week_start: dt.date, rep_ids: list[int] | None = None) -> int:
    first = monday(week_start)
    last = first + dt.timedelta(days=6)
    return recompute(session, date_from=first, date_to=last, rep_ids=rep_ids)


@dataclass(frozen=True)
class ParkedDay:
    rep_id: int
    username: str
    day: dt.date
    error: str
    failed_at: dt.datetime
    tracking_stale: bool
    flags_stale: bool


def list_parked_days(
    session: Session, *, principal: Principal, limit: int = 50, offset: int = 0
) -> Page[ParkedDay]:
    """Days the refresh job failed on and set aside, newest failure first (admins)."""
    principal.require_admin()
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT} and offset >= 0")
    rows, total = tracking_repository.parked_days(session, limit=limit, offset=offset)
    return Page(items=[ParkedDay(*row) for row in rows], total=total, limit=limit, offset=offset)


def retry_parked_day(session: Session, *, principal: Principal, rep_id: int, day: dt.date) -> None:
    """Put a parked day back on the refresh job's queue (after a fix, say)."""
    principal.require_admin()
    if not tracking_repository.unpark(session, rep_id, day):
        raise NotFound(f"rep {rep_id} has no parked day {day.isoformat()}")
    audit_service.record(
        session,
        actor=principal.actor,
        entity="rep_day",
        entity_id=f"{rep_id}:{day.isoformat()}",
        action="retry_refresh",
    )
