"""Journey plan and planned visit queries, filtered by what the principal may see.

Expansion, fulfilment and the visit rate are set-based SQL: one statement per call,
never a Python loop over days.
"""

from collections.abc import Sequence
from datetime import date

from sqlalchemy import Row, Select, delete, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.plans.models import JourneyPlan, PlannedVisit
from sfa.users import repository as user_repository
from sfa.users.models import Role, User


def visible_plans(principal: Principal) -> Select:
    stmt = select(JourneyPlan)
    condition = user_repository.visible_rep_condition(principal, JourneyPlan.rep_id)
    return stmt if condition is None else stmt.where(condition)


def get_visible_plan(session: Session, principal: Principal, plan_id: int) -> JourneyPlan | None:
    return session.scalar(visible_plans(principal).where(JourneyPlan.id == plan_id))


def filter_plans(
    stmt: Select,
    *,
    rep_id: int | None = None,
    customer_id: int | None = None,
    active_on: date | None = None,
    active: bool | None = None,
) -> Select:
    """`active`: the plan has not ended on `active_on` (it may not have started yet)."""
    if rep_id is not None:
        stmt = stmt.where(JourneyPlan.rep_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(JourneyPlan.customer_id == customer_id)
    if active is not None and active_on is not None:
        running = or_(JourneyPlan.valid_to.is_(None), JourneyPlan.valid_to >= active_on)
        stmt = stmt.where(running if active else ~running)
    return stmt.order_by(JourneyPlan.rep_id, JourneyPlan.weekday, JourneyPlan.id)


def visible_planned_visits(principal: Principal) -> Select:
    stmt = select(PlannedVisit)
    condition = user_repository.visible_rep_condition(principal, PlannedVisit.rep_id)
    return stmt if condition is None else stmt.where(condition)


def get_visible_planned_visit(
    session: Session, principal: Principal, planned_visit_id: int
) -> PlannedVisit | None:
    return session.scalar(
        visible_planned_visits(principal).where(PlannedVisit.id == planned_visit_id)
    )


def filter_planned_visits(
    stmt: Select,
    *,
    rep_id: int | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    done: bool | None = None,
    source: str | None = None,
) -> Select:
    if rep_id is not None:
        stmt = stmt.where(PlannedVisit.rep_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(PlannedVisit.customer_id == customer_id)
    if date_from is not None:
        stmt = stmt.where(PlannedVisit.day >= date_from)
    if date_to is not None:
        stmt = stmt.where(PlannedVisit.day <= date_to)
    if done is not None:
        stmt = stmt.where(
            PlannedVisit.visit_id.is_not(None) if done else PlannedVisit.visit_id.is_(None)
        )
    if source is not None:
        stmt = stmt.where(PlannedVisit.source == source)
    return stmt.order_by(PlannedVisit.day, PlannedVisit.rep_id, PlannedVisit.id)


def find_planned_visit(
    session: Session, *, rep_id: int, customer_id: int, day: date
) -> PlannedVisit | None:
    return session.scalar(
        select(PlannedVisit).where(
            PlannedVisit.rep_id == rep_id,
            PlannedVisit.customer_id == customer_id,
            PlannedVisit.day == day,
        )
    )


def visible_rep_ids(session: Session, principal: Principal) -> list[int] | None:
    """Active reps the principal may plan for; None means every rep (admin, API key)."""
    if principal.team_ids is None:
        return None
    reps = (
        user_repository.visible_users(principal)
        .where(User.role == Role.rep, User.is_active.is_(True))
        .with_only_columns(User.id)
        .order_by(User.id)
    )
    return list(session.scalars(reps))


def _id_filter(column: str, name: str, ids: Sequence[int] | None) -> tuple[str, dict]:
    if ids is None:
        return "", {}
    return f" AND {column} = ANY(CAST(:{name} AS bigint[]))", {name: list(ids)}


# Every occurrence of every active journey plan in [date_from, date_to]:
# - the day's ISO weekday (1 = Monday) is the plan's weekday;
# - the Monday of the day's ISO week lies a whole multiple of every_n_weeks weeks from the
#   Monday of the anchor week (both Mondays, so the difference is exact in weeks; before
#   the anchor the pattern continues backwards: PostgreSQL's % keeps the sign, and only
#   exact multiples give 0);
# - the day is within [valid_from, valid_to];
# - the rep is active and the customer is still in the rep's team territory (a rep cannot
#   check in at a customer outside it, so such an occurrence could never be fulfilled).
# Days come from generate_series over integers (no timestamp / session time zone involved).
# The unique (rep_id, customer_id, day) makes the insert idempotent: an occurrence that
# exists already (from an earlier expansion, or planned ad hoc) is left as it is.
_EXPAND_SQL = """
WITH days AS (
    SELECT CAST(:date_from AS date) + i AS day
    FROM generate_series(0, CAST(:date_to AS date) - CAST(:date_from AS date)) AS i
), inserted AS (
    INSERT INTO planned_visits (rep_id, customer_id, day, source, journey_plan_id)
    SELECT jp.rep_id, jp.customer_id, days.day, 'journey', jp.id
    FROM journey_plans AS jp
    JOIN users AS u ON u.id = jp.rep_id AND u.is_active
    JOIN customers AS c ON c.id = jp.customer_id AND c.team_id = u.team_id
    JOIN days ON EXTRACT(ISODOW FROM days.day) = jp.weekday
        AND days.day >= jp.valid_from
        AND (jp.valid_to IS NULL OR days.day <= jp.valid_to)
        AND ((days.day - (jp.weekday - 1))
             - (jp.anchor_week - (CAST(EXTRACT(ISODOW FROM jp.anchor_week) AS int) - 1))
            ) / 7 % jp.every_n_weeks = 0
    WHERE true {filters}
    ORDER BY days.day, jp.rep_id, jp.id
    ON CONFLICT (rep_id, customer_id, day) DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM inserted
"""


def expand(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    rep_ids: Sequence[int] | None = None,
    plan_ids: Sequence[int] | None = None,
) -> int:
    """Insert the journey occurrences of the range; returns how many were new."""
    rep_sql, rep_params = _id_filter("jp.rep_id", "rep_ids", rep_ids)
    plan_sql, plan_params = _id_filter("jp.id", "plan_ids", plan_ids)
    sql = text(_EXPAND_SQL.format(filters=rep_sql + plan_sql))
    params = {"date_from": date_from, "date_to": date_to} | rep_params | plan_params
    return session.scalar(sql, params)


# Open planned visits of the range whose rep already checked in at the customer on that
# company-local day (a check-in stored before the planned visit existed): the earliest
# such visit fulfils it, and the visit points back to the planned visit it fulfilled.
# Both sides are written in one statement (data-modifying CTEs always run to completion).
_LINK_SQL = """
WITH candidate AS (
    SELECT DISTINCT ON (pv.id) pv.id AS planned_visit_id, v.id AS visit_id
    FROM planned_visits AS pv
    JOIN visits AS v ON v.rep_id = pv.rep_id AND v.customer_id = pv.customer_id
        AND v.local_day = pv.day
    WHERE pv.visit_id IS NULL AND pv.day BETWEEN :date_from AND :date_to {filters}
    ORDER BY pv.id, v.check_in_at, v.id
), linked AS (
    UPDATE planned_visits AS pv SET visit_id = candidate.visit_id
    FROM candidate
    WHERE pv.id = candidate.planned_visit_id AND pv.visit_id IS NULL
    RETURNING pv.id, pv.visit_id
), pointed AS (
    UPDATE visits AS v SET planned_visit_id = linked.id
    FROM linked
    WHERE v.id = linked.visit_id AND v.planned_visit_id IS DISTINCT FROM linked.id
)
SELECT count(*) FROM linked
"""


def link_existing_visits(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    rep_ids: Sequence[int] | None = None,
    planned_visit_ids: Sequence[int] | None = None,
) -> int:
    """Fulfil open planned visits by check-ins stored before them; returns how many."""
    rep_sql, rep_params = _id_filter("pv.rep_id", "rep_ids", rep_ids)
    pv_sql, pv_params = _id_filter("pv.id", "planned_visit_ids", planned_visit_ids)
    sql = text(_LINK_SQL.format(filters=rep_sql + pv_sql))
    params = {"date_from": date_from, "date_to": date_to} | rep_params | pv_params
    return session.scalar(sql, params)


def delete_open_occurrences(session: Session, *, plan_id: int, from_day: date) -> list[date]:
    """Remove the plan's not yet fulfilled occurrences on or after `from_day` (fulfilled
    and past ones are history); returns their days."""
    return list(
        session.scalars(
            delete(PlannedVisit)
            .where(
                PlannedVisit.journey_plan_id == plan_id,
                PlannedVisit.day >= from_day,
                PlannedVisit.visit_id.is_(None),
            )
            .returning(PlannedVisit.day)
            .execution_options(synchronize_session="fetch")
        )
    )


# Planned and done visits per rep and period (day, or ISO week starting on Monday) of
# [date_from, date_to]; every period of the range is present, with 0 planned when none.
# `day` of a planned visit is already the company-local day.
_RATE_SQL = """
WITH periods AS (
    SELECT CAST(:first_period AS date) + i * CAST(:step AS int) AS period_start
    FROM generate_series(0, (CAST(:last_period AS date) - CAST(:first_period AS date))
                            / CAST(:step AS int)) AS i
), reps AS (
    SELECT unnest(CAST(:rep_ids AS bigint[])) AS rep_id
), counted AS (
    SELECT pv.rep_id,
           CASE WHEN CAST(:step AS int) = 7
                THEN pv.day - (CAST(EXTRACT(ISODOW FROM pv.day) AS int) - 1)
                ELSE pv.day END AS period_start,
           count(*) AS planned, count(pv.visit_id) AS done
    FROM planned_visits AS pv
    WHERE pv.rep_id = ANY(CAST(:rep_ids AS bigint[]))
      AND pv.day BETWEEN :date_from AND :date_to
    GROUP BY 1, 2
)
SELECT reps.rep_id, periods.period_start,
       COALESCE(counted.planned, 0) AS planned, COALESCE(counted.done, 0) AS done
FROM reps CROSS JOIN periods
LEFT JOIN counted ON counted.rep_id = reps.rep_id
    AND counted.period_start = periods.period_start
ORDER BY reps.rep_id, periods.period_start
"""


def visit_rate_rows(
    session: Session, *, rep_ids: Sequence[int], date_from: date, date_to: date, by: str
) -> list[Row]:
    """Rows (rep_id, period_start, planned, done). With by="week", date_from and date_to
    must be a Monday and a Sunday."""
    step = 7 if by == "week" else 1
    last_period = date_to if step == 1 else date.fromordinal(date_to.toordinal() - 6)
    return list(
        session.execute(
            text(_RATE_SQL),
            {
                "rep_ids": list(rep_ids),
                "date_from": date_from,
                "date_to": date_to,
                "first_period": date_from,
                "last_period": last_period,
                "step": step,
            },
        )
    )


def plan_keys(session: Session, rep_ids: Sequence[int]) -> set[tuple]:
    """(rep_id, customer_id, weekday, every_n_weeks, anchor_week, valid_from, valid_to) of
    every plan of these reps: what makes an imported plan one we already have."""
    rows = session.execute(
        select(
            JourneyPlan.rep_id,
            JourneyPlan.customer_id,
            JourneyPlan.weekday,
            JourneyPlan.every_n_weeks,
            JourneyPlan.anchor_week,
            JourneyPlan.valid_from,
            JourneyPlan.valid_to,
        ).where(JourneyPlan.rep_id.in_(list(rep_ids)))
    )
    return {tuple(row) for row in rows}


def insert_planned_visits(session: Session, rows: Sequence[dict]) -> list[int]:
    """Insert planned visits, leaving alone those whose (rep, customer, day) is planned
    already; returns the ids of the new ones."""
    if not rows:
        return []
    stmt = (
        insert(PlannedVisit)
        .values(list(rows))
        .on_conflict_do_nothing(index_elements=["rep_id", "customer_id", "day"])
        .returning(PlannedVisit.id)
    )
    return list(session.scalars(stmt))


# The visit side of the days of these planned visits (plans and their fulfilment) is stale:
# the scheduler's refresh recomputes days marked flags_dirty. A day without a row yet has
# no pings (ingest would have made one), so its tracking numbers are the zeros below.
_MARK_PLANNED_DAYS = text(
    """
    INSERT INTO rep_days AS r (rep_id, day, dirty, flags_dirty, distance_m, coverage,
                               ping_count, accepted_count, rejected, gaps, trips)
    SELECT DISTINCT rep_id, day, false, true, 0, 0, 0, 0, '{}'::jsonb, '[]'::jsonb, '[]'::jsonb
    FROM planned_visits WHERE id = ANY(CAST(:ids AS bigint[])) AND day <= :until
    ON CONFLICT (rep_id, day) DO UPDATE SET flags_dirty = true
    """
)


def mark_planned_days_stale(
    session: Session, planned_visit_ids: Sequence[int], until: date
) -> None:
    """Have the refresh job recompute the aggregates of these planned visits' days, up
    to `until` (later days have nothing to report yet)."""
    if planned_visit_ids:
        session.execute(_MARK_PLANNED_DAYS, {"ids": list(planned_visit_ids), "until": until})


def journey_occurrence_ids(session: Session, plan_ids: Sequence[int]) -> list[int]:
    return list(
        session.scalars(
            select(PlannedVisit.id).where(PlannedVisit.journey_plan_id.in_(list(plan_ids)))
        )
    )


def day_span(session: Session, planned_visit_ids: Sequence[int]) -> tuple[date, date]:
    """The first and last day of these planned visits (there is at least one)."""
    row = session.execute(
        select(func.min(PlannedVisit.day), func.max(PlannedVisit.day)).where(
            PlannedVisit.id.in_(list(planned_visit_ids))
        )
    ).one()
    return row[0], row[1]


def unfulfilled(session: Session, *, date_from: date, date_to: date) -> list[PlannedVisit]:
    """Planned visits of the days in [date_from, date_to) without a visit, in day order."""
    return list(
        session.scalars(
            select(PlannedVisit)
            .where(
                PlannedVisit.day >= date_from,
                PlannedVisit.day < date_to,
                PlannedVisit.visit_id.is_(None),
            )
            .order_by(PlannedVisit.day, PlannedVisit.rep_id, PlannedVisit.id)
        )
    )
