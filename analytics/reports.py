"""Manager reports: suspicious visits, weekly anomalies, plan compliance and team days.

Every report is one parameterised SQL statement (plus a count for a page), returned as
a `Report`: `.page()` for JSON, `.batches()` for an export of every row through a
server-side cursor. Three of
them read only the pre-aggregated tables that analytics keeps up to date — rep_days,
rep_weeks, weekly_anomalies — joined with users and teams, so their cost grows with
reps × days of the answer, never with visits or pings. The suspicious-visits report lists
single visits, so it reads visits, but only those of the visible reps in the period
(through ix_visits_rep_id_local_day) and their flags (through the visit_flags primary key).

Visibility (docs/architecture.md): the rows are the reps'. An admin and a company-wide API key see
every rep; a manager the reps whose team they lead; a rep only their own rows. A rep's
team is their current `users.team_id` (reports do not keep team history). A `team_id` or
`rep_id` filter that names something the caller cannot see is a 404, exactly as if it did
not exist.

Periods are company-local days (`rep_days.day`, `visits.local_day`) and ISO weeks
starting on Monday (`rep_weeks.week_start`, `weekly_anomalies.week_start`). A period given
as weeks covers Monday of the first week to Sunday of the last; a weekly report includes
every week that overlaps the period.

Only fixed SQL fragments are ever put into a statement; every value the caller gives is
a bound parameter. The one column chosen at run time, the reason's language, comes from
a fixed mapping.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.errors import InvalidInput
from sfa.pagination import EXPORT_BATCH, MAX_LIMIT, Page
from sfa.users import repository as user_repository
from sfa.weeks import iso_week_label, monday, parse_week

LANGUAGES = ("en", "id")
# Language -> the column holding reasons in it (never built from the request).
_REASON_COLUMN = {"en": "reason_en", "id": "reason_id"}


# --- periods --------------------------------------------------------------------------


@dataclass(frozen=True)
class Filters:
    """What a report is narrowed to; None means no limit on that side."""

    team_id: int | None = None
    rep_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None


def make_filters(
    *,
    team_id: int | None = None,
    rep_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    week: str | None = None,
    week_from: str | None = None,
    week_to: str | None = None,
) -> Filters:
    """Validate the request's filters; a period is given one way only: days
    (date_from/date_to), one week (week) or a range of weeks (week_from/week_to)."""
    styles = [
        name
        for name, given in (
            ("date_from/date_to", date_from is not None or date_to is not None),
            ("week", week is not None),
            ("week_from/week_to", week_from is not None or week_to is not None),
        )
        if given
    ]
    if len(styles) > 1:
        raise InvalidInput(
            f"give the period one way only, not {' and '.join(styles)}",
            hint="use date_from/date_to (days), week=2026-W47, or week_from/week_to",
        )
    if week is not None:
        date_from = parse_week(week, name="week")
        date_to = date_from + timedelta(days=6)
    if week_from is not None:
        date_from = parse_week(week_from, name="week_from")
    if week_to is not None:
        date_to = parse_week(week_to, name="week_to") + timedelta(days=6)
    if date_from is not None and date_to is not None and date_to < date_from:
        raise InvalidInput(
            f"the period ends ({date_to.isoformat()}) before it starts ({date_from.isoformat()})",
            hint="the end (date_to / week_to) must be on or after the start "
            "(date_from / week_from)",
        )
    return Filters(team_id=team_id, rep_id=rep_id, date_from=date_from, date_to=date_to)


def reason_language(lang: str | None, *, company_language: str) -> str:
    """The requested language, else the company's when reasons exist in it, else English."""
    if lang is not None:
        if lang not in LANGUAGES:
            raise InvalidInput(
                f"lang={lang!r} is not supported", hint=f"choose one of: {', '.join(LANGUAGES)}"
            )
        return lang
    return company_language if company_language in LANGUAGES else "en"


# --- the WHERE clause -----------------------------------------------------------------


@dataclass
class _Where:
    """AND-ed SQL conditions made only of fixed fragments, with their bound values."""

    clauses: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    @property
    def sql(self) -> str:
        return " AND ".join(self.clauses) or "TRUE"


def _rep_scope(
    session: Session, *, principal: Principal, filters: Filters, rep_column: str
) -> _Where:
    """Who the caller may see, narrowed by the team and rep filters.

    `rep_column` is the fact table's rep id (e.g. `d.rep_id`); the reps are `u` (users)
    joined on it. Conditions on the fact table's rep id let its (rep_id, …) key serve."""
    principal.require("reports:read")
    where = _Where()
    if filters.team_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_team,
            session,
            principal,
            filters.team_id,
            what="team",
            hint="GET /v1/teams lists the teams you can see",
        )
    if filters.rep_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_rep,
            session,
            principal,
            filters.rep_id,
            what="rep",
            hint="GET /v1/users?role=rep lists the reps you can see",
        )
    if principal.team_ids is not None:
        if principal.is_rep:
            # A rep sees their own rows only, whatever their team shows.
            where.add(f"{rep_column} = :scope_rep_id", scope_rep_id=principal.id)
        else:
            # A manager: the reps of the teams they lead (none: no rows).
            where.add("u.team_id = ANY(:scope_team_ids)", scope_team_ids=sorted(principal.team_ids))
    if filters.team_id is not None:
        where.add("u.team_id = :team_id", team_id=filters.team_id)
    if filters.rep_id is not None:
        where.add(f"{rep_column} = :rep_id", rep_id=filters.rep_id)
    return where


def _day_range(where: _Where, filters: Filters, *, day_column: str) -> None:
    """Rows whose company-local day is inside the period."""
    if filters.date_from is not None:
        where.add(f"{day_column} >= :date_from", date_from=filters.date_from)
    if filters.date_to is not None:
        where.add(f"{day_column} <= :date_to", date_to=filters.date_to)


def _week_range(where: _Where, filters: Filters, *, week_column: str) -> None:
    """Weeks (by their Monday) that overlap the period."""
    if filters.date_from is not None:
        where.add(f"{week_column} >= :week_from", week_from=monday(filters.date_from))
    if filters.date_to is not None:
        where.add(f"{week_column} <= :week_to", week_to=filters.date_to)


# --- running a report -----------------------------------------------------------------


@dataclass(frozen=True)
class Report:
    """One report's statement, narrowed to what the caller may see, and how a row is
    shaped for the answer: `page` for JSON, `batches` for an export of every row."""

    select_sql: str
    from_sql: str
    where: _Where
    order_by: str  # must make the order total (end with a unique key)
    row_joins: str = ""  # columns for the rows returned, not needed to count them
    shape: Callable[[dict], dict] = field(default=lambda row: row)

    @property
    def _rows_sql(self) -> str:
        return (
            f"SELECT {self.select_sql} FROM {self.from_sql} {self.row_joins} "
            f"WHERE {self.where.sql} ORDER BY {self.order_by}"
        )

    def page(self, session: Session, *, limit: int = 50, offset: int = 0) -> Page[dict]:
        """One page; the count runs on `from_sql` and the WHERE alone."""
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
        if offset < 0:
            raise InvalidInput(f"offset cannot be negative, got {offset}")
        total = session.execute(
            text(f"SELECT count(*) FROM {self.from_sql} WHERE {self.where.sql}"),
            self.where.params,
        ).scalar_one()
        rows = session.execute(
            text(self._rows_sql + " LIMIT :limit OFFSET :offset"),
            self.where.params | {"limit": limit, "offset": offset},
        ).mappings()
        items = [self.shape(dict(row)) for row in rows]
        return Page(items=items, total=total, limit=limit, offset=offset)

    def batches(self, session: Session, *, size: int = EXPORT_BATCH) -> Iterator[list[dict]]:
        """Every row (an export), `size` at a time through a server-side cursor."""
        result = session.execute(
            text(self._rows_sql), self.where.params, execution_options={"yield_per": size}
        )
        for part in result.mappings().partitions(size):
            yield [self.shape(dict(row)) for row in part]


def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz) if value is not None else None


def _rate(done: int, planned: int) -> float | None:
    return round(done / planned, 4) if planned else None


# The rep and their team, for every report.
_REP_COLUMNS = """u.username AS rep_username, u.full_name AS rep_name,
       u.team_id, t.name AS team_name"""


# --- suspicious visits ----------------------------------------------------------------

# A visit is suspicious when it has at least one flag (its trust score is 100 minus the
# flags' weights, so a score below 100 always comes with a flag). Visits come through
# ix_visits_rep_id_local_day (rep, day range); the flag test and the per-visit
# aggregation go through the visit_flags primary key (visit_id, code).
_SUSPICIOUS_FROM = """visits v
JOIN users u ON u.id = v.rep_id
LEFT JOIN teams t ON t.id = u.team_id"""

_SUSPICIOUS_SELECT = """v.id AS visit_id, v.rep_id, {rep},
       v.customer_id, c.code AS customer_code, c.name AS customer_name,
       v.local_day, v.check_in_at, v.check_out_at, v.dwell_seconds,
       v.verification_status::text AS verification_status, v.distance_to_customer_m,
       v.trust_score, fl.codes, fl.flags"""

# Customers and the flag list are only needed for the rows returned, not for the count.
_SUSPICIOUS_ROW_JOINS = """
JOIN customers c ON c.id = v.customer_id
CROSS JOIN LATERAL (
    -- All flags of the visit, by code, each with its numbers and its reason in the
    -- requested language.
    SELECT COALESCE(array_agg(f.code ORDER BY f.code), '{{}}') AS codes,
           COALESCE(jsonb_agg(jsonb_build_object('code', f.code, 'numbers', f.numbers,
                                                 'reason', f.{reason_column})
                              ORDER BY f.code), '[]') AS flags
    FROM visit_flags f WHERE f.visit_id = v.id
) fl"""


def suspicious_visits(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
    codes: list[str] | None = None,
    max_trust: int | None = None,
    lang: str | None = None,
) -> Report:
    """Visits with at least one flag, oldest first.

    `codes`: only visits with one of these flags (every flag of the visit is listed).
    `max_trust`: only visits whose computed trust score is at most this (visits not yet
    scored are left out). Times are in the company's timezone."""
    where = _rep_scope(session, principal=principal, filters=filters, rep_column="v.rep_id")
    settings = company_service.get_company_settings(session)
    language = reason_language(lang, company_language=settings.language)
    if max_trust is not None and not 0 <= max_trust <= 100:
        raise InvalidInput(f"max_trust must be between 0 and 100, got {max_trust}")
    _day_range(where, filters, day_column="v.local_day")
    # A plain EXISTS (no OR) lets the planner semi-join through the visit_flags key
    # instead of hashing every flag of the company.
    where.add("EXISTS (SELECT 1 FROM visit_flags f WHERE f.visit_id = v.id)")
    if codes:
        where.add(
            "EXISTS (SELECT 1 FROM visit_flags f WHERE f.visit_id = v.id AND f.code = ANY(:codes))",
            codes=sorted(set(codes)),
        )
    if max_trust is not None:
        where.add("v.trust_score <= :max_trust", max_trust=max_trust)
    tz = settings.tz

    def shape(row: dict) -> dict:
        row["check_in_at"] = _local(row["check_in_at"], tz)
        row["check_out_at"] = _local(row["check_out_at"], tz)
        row["codes"] = list(row["codes"])
        if row["distance_to_customer_m"] is not None:
            row["distance_to_customer_m"] = round(row["distance_to_customer_m"], 1)
        return row

    return Report(
        select_sql=_SUSPICIOUS_SELECT.format(rep=_REP_COLUMNS),
        from_sql=_SUSPICIOUS_FROM,
        row_joins=_SUSPICIOUS_ROW_JOINS.format(reason_column=_REASON_COLUMN[language]),
        where=where,
        order_by="v.local_day, v.check_in_at, v.id",
        shape=shape,
    )


# --- weekly anomalies -----------------------------------------------------------------

# weekly_anomalies' primary key (rep_id, week_start, code) serves the rep and week range.
_ANOMALIES_FROM = """weekly_anomalies a
JOIN users u ON u.id = a.rep_id
LEFT JOIN teams t ON t.id = u.team_id"""

_ANOMALIES_SELECT = """a.rep_id, {rep}, a.week_start, a.code, a.numbers,
       a.{reason_column} AS reason, a.computed_at"""


def weekly_anomalies(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
    codes: list[str] | None = None,
    lang: str | None = None,
) -> Report:
    """Weekly anomalies of the weeks overlapping the period, oldest week first."""
    where = _rep_scope(session, principal=principal, filters=filters, rep_column="a.rep_id")
    settings = company_service.get_company_settings(session)
    language = reason_language(lang, company_language=settings.language)
    _week_range(where, filters, week_column="a.week_start")
    if codes:
        where.add("a.code = ANY(:codes)", codes=sorted(set(codes)))
    tz = settings.tz

    def shape(row: dict) -> dict:
        row["week"] = iso_week_label(row["week_start"])
        row["computed_at"] = _local(row["computed_at"], tz)
        return row

    return Report(
        select_sql=_ANOMALIES_SELECT.format(
            rep=_REP_COLUMNS, reason_column=_REASON_COLUMN[language]
        ),
        from_sql=_ANOMALIES_FROM,
        where=where,
        order_by="a.week_start, u.username, a.rep_id, a.code",
        shape=shape,
    )


# --- plan compliance ------------------------------------------------------------------

# Per rep per week: rep_weeks, primary key (rep_id, week_start).
_PLAN_WEEKS_FROM = """rep_weeks w
JOIN users u ON u.id = w.rep_id
LEFT JOIN teams t ON t.id = u.team_id"""

_PLAN_WEEKS_SELECT = """w.rep_id, {rep}, w.week_start, NULL::date AS day,
       w.planned, w.planned_done AS done"""

# Per rep per day: rep_days, primary key (rep_id, day).
_PLAN_DAYS_FROM = """rep_days d
JOIN users u ON u.id = d.rep_id
LEFT JOIN teams t ON t.id = u.team_id"""

_PLAN_DAYS_SELECT = """d.rep_id, {rep}, d.day, d.planned, d.planned_done AS done"""

PLAN_GROUPINGS = ("week", "day")


def plan_compliance(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
    by: str = "week",
) -> Report:
    """Planned visits and how many were done, per rep per week (or per day with
    by="day"); rate = done / planned, None when nothing was planned."""
    if by not in PLAN_GROUPINGS:
        raise InvalidInput(
            f"by={by!r} is not a grouping of this report",
            hint=f"choose one of: {', '.join(PLAN_GROUPINGS)}",
        )

    def shape(row: dict) -> dict:
        if by == "day":
            row["week_start"] = monday(row["day"])
        row["week"] = iso_week_label(row["week_start"])
        row["rate"] = _rate(row["done"], row["planned"])
        return row

    if by == "week":
        where = _rep_scope(session, principal=principal, filters=filters, rep_column="w.rep_id")
        _week_range(where, filters, week_column="w.week_start")
        return Report(
            select_sql=_PLAN_WEEKS_SELECT.format(rep=_REP_COLUMNS),
            from_sql=_PLAN_WEEKS_FROM,
            where=where,
            order_by="w.week_start, u.username, w.rep_id",
            shape=shape,
        )
    where = _rep_scope(session, principal=principal, filters=filters, rep_column="d.rep_id")
    _day_range(where, filters, day_column="d.day")
    return Report(
        select_sql=_PLAN_DAYS_SELECT.format(rep=_REP_COLUMNS),
        from_sql=_PLAN_DAYS_FROM,
        where=where,
        order_by="d.day, u.username, d.rep_id",
        shape=shape,
    )


# --- team days ------------------------------------------------------------------------

# Per rep per day, from rep_days only (primary key (rep_id, day)): for a team, users'
# ix_users_team_id gives the reps and the key gives each rep's days in the period. The
# first/last activity fall back to the first/last ping while analytics has not yet
# filled the visit side of the day (`pending_recompute` says so).
_TEAM_DAYS_FROM = _PLAN_DAYS_FROM

_TEAM_DAYS_SELECT = """d.rep_id, {rep}, d.day, d.visits, d.verified_visits,
       d.distance_m, d.coverage, d.dwell_seconds,
       COALESCE(d.first_activity_at, d.first_at) AS first_activity_at,
       COALESCE(d.last_activity_at, d.last_at) AS last_activity_at,
       d.flagged_visits, d.flag_counts, d.planned, d.planned_done,
       (d.dirty OR d.flags_dirty) AS pending_recompute"""


def team_days(
    session: Session,
    *,
    principal: Principal,
    filters: Filters,
) -> Report:
    """One row per rep per day that has a rep_days row, by day then rep."""
    where = _rep_scope(session, principal=principal, filters=filters, rep_column="d.rep_id")
    _day_range(where, filters, day_column="d.day")
    tz = company_service.get_company_settings(session).tz

    def shape(row: dict) -> dict:
        row["verified_share"] = _rate(row["verified_visits"], row["visits"])
        row["distance_m"] = round(row["distance_m"], 1)
        row["coverage"] = round(row["coverage"], 4)
        row["first_activity_at"] = _local(row["first_activity_at"], tz)
        row["last_activity_at"] = _local(row["last_activity_at"], tz)
        row["flag_counts"] = {code: int(n) for code, n in sorted(row["flag_counts"].items())}
        return row

    return Report(
        select_sql=_TEAM_DAYS_SELECT.format(rep=_REP_COLUMNS),
        from_sql=_TEAM_DAYS_FROM,
        where=where,
        order_by="d.day, u.username, d.rep_id",
        shape=shape,
    )


# --- a rep's weeks, for the console's anomaly charts -----------------------------------


def rep_week_history(
    session: Session,
    *,
    principal: Principal,
    rep_ids: list[int],
    week_from: date,
    week_to: date,
) -> dict[int, list[dict]]:
    """The weekly numbers (rep_weeks) of these reps, oldest first, for the weeks whose
    Monday is in [week_from, week_to]; reps the caller cannot see are left out."""
    if not rep_ids:
        return {}
    where = _rep_scope(session, principal=principal, filters=Filters(), rep_column="w.rep_id")
    where.add("w.rep_id = ANY(:rep_ids)", rep_ids=sorted(set(rep_ids)))
    where.add("w.week_start BETWEEN :first AND :last", first=monday(week_from), last=week_to)
    rows = session.execute(
        text(
            "SELECT w.rep_id, w.week_start, w.visits, w.short_visits, w.planned, "
            "w.planned_done FROM rep_weeks w JOIN users u ON u.id = w.rep_id "
            f"WHERE {where.sql} ORDER BY w.rep_id, w.week_start"
        ),
        where.params,
    ).mappings()
    history: dict[int, list[dict]] = {}
    for row in rows:
        history.setdefault(row["rep_id"], []).append(dict(row))
    return history
