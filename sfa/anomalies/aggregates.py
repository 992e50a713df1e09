"""Day and week aggregates of visits and plans, in SQL (DESIGN §6).

rep_days gets the visit side of each day (counts, dwell, flags, plan fulfilment) so that
reports never scan visits; rep_weeks sums the days per company ISO week, and weekly
anomalies (sfa.anomalies.service) compare a week with the rep's own history. Both are
upserts per scope: running them twice gives the same rows.
"""

from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.visits.repository import Scope
from sfa.weeks import monday

# Visit side of every (rep, day) of the scope that has visits or plans. Days with
# neither keep their tracking numbers and get zeros here. flags_dirty is left alone on
# existing rows: whoever computes a scope clears it first (a claim), so that a check-in
# arriving meanwhile marks its day again instead of being overwritten.
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
    visits = EXCLUDED.visits, verified_visits = EXCLUDED.verified_visits,
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
