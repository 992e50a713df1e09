"""Day and week aggregates, and weekly anomalies (docs/rules.md), in SQL.

rep_days gets the visit side of each day (counts, dwell, flags, plan fulfilment) so that
reports never scan visits; rep_weeks sums the days per company ISO week; anomalies
compare a week with the rep's own history.
"""

from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from analytics.suspicious import Scope
from sfa.company.settings import CompanySettings
from sfa.db import execute_dml
from sfa.weeks import monday

# Visit side of every (rep, day) of the scope that has visits or plans. Days with
# neither keep their tracking numbers and get zeros here.
_DAY_AGGREGATES = """
WITH visit_numbers AS (
    SELECT v.rep_id, v.local_day AS day, count(*) AS visits,
           count(*) FILTER (WHERE v.verification_status = 'verified') AS verified,
           COALESCE(sum(v.dwell_seconds), 0) AS dwell,
           count(*) FILTER (WHERE EXISTS (SELECT 1 FROM visit_flags f
                                          WHERE f.visit_id = v.id)) AS flagged,
           min(v.check_in_at) AS first_at,
           max(COALESCE(v.check_out_at, v.check_in_at)) AS last_at
    FROM visits v
    WHERE v.local_day BETWEEN :date_from AND :date_to
      AND (:all_reps OR v.rep_id = ANY(CAST(:rep_ids AS bigint[])))
    GROUP BY v.rep_id, v.local_day
),
flag_numbers AS (
    SELECT rep_id, day, jsonb_object_agg(code, n) AS counts
    FROM (SELECT v.rep_id, v.local_day AS day, f.code, count(*) AS n
          FROM visits v JOIN visit_flags f ON f.visit_id = v.id
          WHERE v.local_day BETWEEN :date_from AND :date_to
            AND (:all_reps OR v.rep_id = ANY(CAST(:rep_ids AS bigint[])))
          GROUP BY v.rep_id, v.local_day, f.code) per_code
    GROUP BY rep_id, day
),
plan_numbers AS (
    SELECT p.rep_id, p.day, count(*) AS planned, count(p.visit_id) AS done
    FROM planned_visits p
    WHERE p.day BETWEEN :date_from AND :date_to
      AND (:all_reps OR p.rep_id = ANY(CAST(:rep_ids AS bigint[])))
    GROUP BY p.rep_id, p.day
),
-- Every (rep, day) with visits or plans, and those that already have a row: the union
-- of the aggregated keys (one row per day), not of every visit and plan.
days AS (
    SELECT rep_id, day FROM visit_numbers
    UNION
    SELECT rep_id, day FROM plan_numbers
    UNION
    SELECT rep_id, day FROM rep_days
    WHERE day BETWEEN :date_from AND :date_to
      AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))
)
INSERT INTO rep_days AS r (rep_id, day, dirty, distance_m, coverage, ping_count,
    accepted_count, rejected, gaps, trips, flags_dirty, visits, verified_visits,
    dwell_seconds, flagged_visits, flag_counts, planned, planned_done, first_activity_at,
    last_activity_at)
SELECT d.rep_id, d.day, false, 0, 0, 0, 0, '{}', '[]', '[]', false,
       COALESCE(vn.visits, 0), COALESCE(vn.verified, 0), COALESCE(vn.dwell, 0),
       COALESCE(vn.flagged, 0), COALESCE(fn.counts, '{}'), COALESCE(pn.planned, 0),
       COALESCE(pn.done, 0), vn.first_at, vn.last_at
FROM days d
LEFT JOIN visit_numbers vn ON vn.rep_id = d.rep_id AND vn.day = d.day
LEFT JOIN flag_numbers fn ON fn.rep_id = d.rep_id AND fn.day = d.day
LEFT JOIN plan_numbers pn ON pn.rep_id = d.rep_id AND pn.day = d.day
ON CONFLICT (rep_id, day) DO UPDATE SET
    flags_dirty = false, visits = EXCLUDED.visits, verified_visits = EXCLUDED.verified_visits,
    dwell_seconds = EXCLUDED.dwell_seconds, flagged_visits = EXCLUDED.flagged_visits,
    flag_counts = EXCLUDED.flag_counts, planned = EXCLUDED.planned,
    planned_done = EXCLUDED.planned_done,
    first_activity_at = LEAST(EXCLUDED.first_activity_at, r.first_at),
    last_activity_at = GREATEST(EXCLUDED.last_activity_at, r.last_at)
"""

# Weeks are ISO weeks of the company-local day: Monday = day - (isodow - 1).
_WEEK_AGGREGATES = """
WITH weeks AS (
    SELECT rep_id, day - (extract(isodow FROM day)::int - 1) AS week_start,
           visits, COALESCE((flag_counts ->> 'too_short')::int, 0) AS short_visits,
           planned, planned_done
    FROM rep_days
    WHERE day BETWEEN :week_from AND :week_to + 6
      AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))
)
INSERT INTO rep_weeks AS w (rep_id, week_start, iso_year, iso_week, visits, short_visits,
                            planned, planned_done)
SELECT rep_id, week_start, extract(isoyear FROM week_start)::int,
       extract(week FROM week_start)::int, sum(visits), sum(short_visits), sum(planned),
       sum(planned_done)
FROM weeks GROUP BY rep_id, week_start
ON CONFLICT (rep_id, week_start) DO UPDATE SET
    visits = EXCLUDED.visits, short_visits = EXCLUDED.short_visits,
    planned = EXCLUDED.planned, planned_done = EXCLUDED.planned_done
"""

_INSERT = "INSERT INTO weekly_anomalies (rep_id, week_start, code, numbers, reason_en, reason_id) "

# short_visits_spike: short visits rose more than spike_pct over the previous week, and
# there are at least spike_min of them. From zero to >= spike_min counts as a spike.
_SHORT_SPIKE = f"""
WITH cur AS (
    SELECT w.rep_id, w.week_start, w.short_visits AS this_week,
           COALESCE(p.short_visits, 0) AS prev_week
    FROM rep_weeks w
    LEFT JOIN rep_weeks p ON p.rep_id = w.rep_id AND p.week_start = w.week_start - 7
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


def refresh_day_aggregates(session: Session, *, scope: Scope) -> None:
    session.execute(text(_DAY_AGGREGATES), scope.params())


def refresh_weeks(
    session: Session, *, week_from: date, week_to: date, rep_ids: list[int] | None
) -> None:
    params = {
        "week_from": monday(week_from),
        "week_to": monday(week_to),
        "rep_ids": rep_ids,
        "all_reps": rep_ids is None,
    }
    session.execute(text(_WEEK_AGGREGATES), params)


def compute_anomalies(
    session: Session,
    *,
    week_from: date,
    week_to: date,
    rep_ids: list[int] | None,
    settings: CompanySettings,
    today: date | None = None,
) -> int:
    """Replace the anomalies of the complete weeks among [week_from, week_to] (Mondays).

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
    session.execute(
        text(
            "DELETE FROM weekly_anomalies WHERE week_start BETWEEN :week_from AND :week_to "
            "AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))"
        ),
        params,
    )
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
    return inserted
