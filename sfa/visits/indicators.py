"""Suspicious-visit indicators (docs/rules.md), decided set-based in PostGIS SQL.

Each indicator is one INSERT … SELECT into `visit_flags` over the visits of a scope
(window functions over each rep's company-local day, spatial clustering of customers);
no visit is loaded into Python. They are written through sfa.visits.flagging, which
first deletes the scope's flags of these codes and rescores the scope afterwards, so
running it twice gives the same rows. Flags set at check-in (mock_location, too_far,
clock_skew) and by the day recompute (drive_by, not_checked_out) are left alone here.
"""

import json
import math

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.company.settings import CompanySettings
from sfa.db import execute_dml
from sfa.events.service import SYSTEM, Actor
from sfa.visits import flagging
from sfa.visits.repository import Scope

CODES = (
    "consecutive_near",
    "rapid_visits",
    "clustered_customers",
    "overlong",
    "too_short",
    "impossible_speed",
)


# The visits of the scope, with the customer's class; every indicator starts here.
_SCOPED_VISITS = """
    SELECT v.id, v.rep_id, v.local_day, v.check_in_at, v.check_in_position,
           v.check_out_at, v.check_out_position, v.dwell_seconds, v.dwell_source,
           v.customer_id, c.customer_class
    FROM visits v JOIN customers c ON c.id = v.customer_id
    WHERE v.local_day BETWEEN :date_from AND :date_to
      AND (:all_reps OR v.rep_id = ANY(CAST(:rep_ids AS bigint[])))
"""

_INSERT = "INSERT INTO visit_flags (visit_id, code, rep_id, numbers, reason_en, reason_id) "

# consecutive_near: islands of visits whose check-in lies < near_m from the previous
# check-in of the same rep and day; an island of >= count visits flags all of them.
_CONSECUTIVE_NEAR = f"""
WITH v AS ({_SCOPED_VISITS}),
steps AS (
    SELECT id, rep_id, local_day, check_in_at,
           ST_Distance(check_in_position,
                       lag(check_in_position) OVER w) AS step_m
    FROM v WINDOW w AS (PARTITION BY rep_id, local_day ORDER BY check_in_at, id)
),
islands AS (
    SELECT *, sum(CASE WHEN step_m < :near_m THEN 0 ELSE 1 END)
                  OVER (PARTITION BY rep_id, local_day ORDER BY check_in_at, id) AS island
    FROM steps
),
sized AS (
    SELECT *, count(*) OVER (PARTITION BY rep_id, local_day, island) AS run_length,
           max(step_m) FILTER (WHERE step_m < :near_m)
               OVER (PARTITION BY rep_id, local_day, island) AS max_step_m
    FROM islands
)
{_INSERT}
SELECT id, 'consecutive_near', rep_id,
       jsonb_build_object('run_length', run_length, 'max_step_m', round(max_step_m::numeric, 1),
                          'limit_m', :near_m),
       format('%s consecutive check-ins each less than %s m from the previous one '
              '(largest step %s m).', run_length, :near_m, round(max_step_m::numeric, 1)),
       format('%s check-in berturut-turut, masing-masing kurang dari %s m dari sebelumnya '
              '(langkah terbesar %s m).', run_length, :near_m, round(max_step_m::numeric, 1))
FROM sized WHERE run_length >= :near_count
"""

# rapid_visits: >= count check-ins within any window shorter than window_minutes. A
# window opens at each check-in; every visit inside an over-full window is flagged.
# Two window functions over one sort instead of a self-join: `n` counts the check-ins in
# [check_in_at, check_in_at + window) of the same rep and day (RANGE frames include the
# end point, hence one microsecond less, timestamptz's resolution); a visit then takes the
# largest `n` of the windows opened in (check_in_at - window, check_in_at].
_RAPID_VISITS = f"""
WITH v AS ({_SCOPED_VISITS}),
windows AS (
    SELECT id, rep_id, local_day, check_in_at,
           count(*) OVER (PARTITION BY rep_id, local_day ORDER BY check_in_at
                          RANGE BETWEEN CURRENT ROW AND make_interval(mins => :window_minutes)
                                        - interval '1 microsecond' FOLLOWING) AS n
    FROM v
),
members AS (
    SELECT id, rep_id,
           max(n) OVER (PARTITION BY rep_id, local_day ORDER BY check_in_at
                        RANGE BETWEEN make_interval(mins => :window_minutes)
                                      - interval '1 microsecond' PRECEDING AND CURRENT ROW) AS n
    FROM windows
)
{_INSERT}
SELECT id, 'rapid_visits', rep_id,
       jsonb_build_object('visits_in_window', n, 'window_minutes', :window_minutes),
       format('%s check-ins within %s minutes.', n, :window_minutes),
       format('%s check-in dalam %s menit.', n, :window_minutes)
FROM members WHERE n >= :rapid_count
"""

# Customers registered from one spot: >= min_customers locations that fit in a circle of
# cluster_area_m2. Clustered in metres (each point's UTM zone), DBSCAN with eps = the
# circle's diameter finds candidates, and the minimum bounding circle confirms them.
_CUSTOMER_CLUSTERS = """
WITH pts AS (
    SELECT id,
           (CASE WHEN ST_Y(location::geometry) >= 0 THEN 32600 ELSE 32700 END
            + floor((ST_X(location::geometry) + 180) / 6)::int + 1) AS utm
    FROM customers WHERE location IS NOT NULL
),
projected AS (
    SELECT p.id, p.utm, ST_Transform(c.location::geometry, p.utm) AS g
    FROM pts p JOIN customers c ON c.id = p.id
),
clustered AS (
    SELECT id, utm, g,
           ST_ClusterDBSCAN(g, eps => 2 * :radius_m, minpoints => 2)
               OVER (PARTITION BY utm) AS cluster
    FROM projected
),
circles AS (
    SELECT utm, cluster, count(*) AS n,
           (ST_MinimumBoundingRadius(ST_Collect(g))).radius AS radius
    FROM clustered WHERE cluster IS NOT NULL
    GROUP BY utm, cluster
)
INSERT INTO customer_flags (customer_id, code, numbers, reason_en, reason_id)
SELECT c.id, 'clustered_customers',
       jsonb_build_object('customers_in_circle', k.n,
                          'circle_radius_m', round(k.radius::numeric, 2),
                          'limit_area_m2', :area_m2),
       format('One of %s customers whose locations fit in a circle of %s m²: '
              'likely registered from one spot.', k.n, :area_m2),
       format('Salah satu dari %s pelanggan yang lokasinya muat dalam lingkaran %s m²: '
              'kemungkinan didaftarkan dari satu tempat.', k.n, :area_m2)
FROM clustered c JOIN circles k ON k.utm = c.utm AND k.cluster = c.cluster
WHERE k.n >= :min_customers AND k.radius <= :radius_m + 1e-6
"""

_CLUSTERED_VISITS = f"""
WITH v AS ({_SCOPED_VISITS})
{_INSERT}
SELECT v.id, 'clustered_customers', v.rep_id, f.numbers,
       'Visit to ' || f.reason_en, 'Kunjungan ke ' || f.reason_id
FROM v JOIN customer_flags f ON f.customer_id = v.customer_id
    AND f.code = 'clustered_customers'
"""

# Durations against the standard of the customer's class (company default otherwise).
# A visit closed only because the rep never checked out has no real duration to judge.
_DURATIONS = f"""
WITH v AS ({_SCOPED_VISITS}),
judged AS (
    SELECT id, rep_id, dwell_seconds / 60.0 AS minutes,
           COALESCE((CAST(:classes AS jsonb) -> customer_class ->> 'min_minutes')::float,
                    :min_minutes) AS min_m,
           COALESCE((CAST(:classes AS jsonb) -> customer_class ->> 'max_minutes')::float,
                    :max_minutes) AS max_m
    FROM v WHERE dwell_seconds IS NOT NULL AND dwell_source <> 'not_checked_out'
)
{_INSERT}
SELECT id, CASE WHEN minutes > max_m THEN 'overlong' ELSE 'too_short' END, rep_id,
       jsonb_build_object('minutes', round(minutes::numeric, 1), 'min_minutes', min_m,
                          'max_minutes', max_m),
       CASE WHEN minutes > max_m
            THEN format('Visit lasted %s min, above the standard %s min.',
                        round(minutes::numeric, 1), max_m)
            ELSE format('Visit lasted %s min, below the standard minimum %s min.',
                        round(minutes::numeric, 1), min_m) END,
       CASE WHEN minutes > max_m
            THEN format('Kunjungan %s menit, di atas standar %s menit.',
                        round(minutes::numeric, 1), max_m)
            ELSE format('Kunjungan %s menit, di bawah standar minimum %s menit.',
                        round(minutes::numeric, 1), min_m) END
FROM judged WHERE minutes > max_m OR minutes < min_m
"""

# impossible_speed: from the previous visit's last event (its check-out, else its
# check-in) to this check-in, faster than max_speed_kmh.
_IMPOSSIBLE_SPEED = f"""
WITH v AS ({_SCOPED_VISITS}),
legs AS (
    SELECT id, rep_id, check_in_at, check_in_position,
           lag(COALESCE(check_out_at, check_in_at)) OVER w AS prev_at,
           lag(COALESCE(check_out_position, check_in_position)) OVER w AS prev_pos
    FROM v WINDOW w AS (PARTITION BY rep_id, local_day ORDER BY check_in_at, id)
),
speeds AS (
    SELECT id, rep_id, ST_Distance(prev_pos, check_in_position) AS metres,
           extract(epoch FROM check_in_at - prev_at) AS seconds
    FROM legs WHERE prev_pos IS NOT NULL AND check_in_position IS NOT NULL
)
{_INSERT}
SELECT id, 'impossible_speed', rep_id,
       jsonb_build_object('distance_m', round(metres::numeric, 1),
                          'minutes', round((seconds / 60)::numeric, 1),
                          'speed_kmh', CASE WHEN seconds > 0
                              THEN round((metres / seconds * 3.6)::numeric, 1) END,
                          'limit_kmh', :max_speed_kmh),
       format('%s m from the previous visit in %s min: faster than %s km/h.',
              round(metres::numeric), round((seconds / 60)::numeric, 1), :max_speed_kmh),
       format('%s m dari kunjungan sebelumnya dalam %s menit: lebih cepat dari %s km/jam.',
              round(metres::numeric), round((seconds / 60)::numeric, 1), :max_speed_kmh)
FROM speeds
-- metres > 0 and (seconds <= 0 or faster than the limit), with `metres` named once: the
-- CTE is inlined, and each mention is another geodesic ST_Distance per leg
WHERE metres * 3.6 > :max_speed_kmh * greatest(seconds, 0)
"""


def cluster_radius_m(area_m2: float) -> float:
    return math.sqrt(area_m2 / math.pi)


def refresh_customer_clusters(session: Session, settings: CompanySettings) -> int:
    """Company-wide: customers registered from one spot (fake-customer pattern)."""
    session.execute(text("DELETE FROM customer_flags WHERE code = 'clustered_customers'"))
    return execute_dml(
        session,
        text(_CUSTOMER_CLUSTERS),
        {
            "radius_m": cluster_radius_m(settings.cluster_area_m2),
            "area_m2": settings.cluster_area_m2,
            "min_customers": settings.cluster_min_customers,
        },
    )


def recompute_flags(
    session: Session,
    *,
    scope: Scope,
    settings: CompanySettings,
    refresh_clusters: bool = True,
    actor: Actor = SYSTEM,
) -> None:
    """Replace this module's flags for the visits of `scope` (and their trust scores);
    `actor` is whose action made the recompute (the events of new flags name it)."""
    if refresh_clusters:
        refresh_customer_clusters(session, settings)
    classes = {k: v.model_dump() for k, v in settings.visit_duration_by_class.items()}
    statements: list[tuple[str, dict[str, object]]] = [
        (
            _CONSECUTIVE_NEAR,
            {"near_m": settings.consecutive_near_m, "near_count": settings.consecutive_near_count},
        ),
        (
            _RAPID_VISITS,
            {
                "window_minutes": settings.rapid_visits_window_minutes,
                "rapid_count": settings.rapid_visits_count,
            },
        ),
        (_CLUSTERED_VISITS, {}),
        (
            _DURATIONS,
            {
                "classes": json.dumps(classes),
                "min_minutes": settings.visit_min_minutes,
                "max_minutes": settings.visit_max_minutes,
            },
        ),
        (_IMPOSSIBLE_SPEED, {"max_speed_kmh": settings.max_speed_kmh}),
    ]
    flagging.replace_scope_flags(session, scope, CODES, statements, actor=actor)
