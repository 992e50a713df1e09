"""Pipeline metrics (DESIGN §3 "Pipeline"; docs/pipeline.md), per pipeline and per group
(everyone, each team, or each rep), over a period of company-local days.

Five statements (analytics/pipeline_sql.py), each over the deals the caller may see:

- funnel (deals opened in the period): how many reached each stage, the conversion from
  each stage to the next, the drop-off between them, and how many were lost after it;
- outcomes (deals closed in the period): won, lost, win rate = won ÷ (won + lost),
  average deal size (mean amount of the won deals), sales cycle (mean days from opening
  to closing of the won deals);
- lost reasons of the deals lost in the period;
- time in stage (stays that ended in the period): median and p90, in days;
- open deals (now): count, amount, weighted pipeline (Σ amount × probability), forecast
  by expected close month — and pipeline velocity = open deals × win rate × average deal
  size ÷ cycle days (money per day).

Money is summed in one currency (`currency`, default the company's); deals in another
are counted in `other_currency_deals` and never added in.
"""

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from analytics import pipeline_sql as sql
from analytics.reports import _Where
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.errors import InvalidInput, NotFound
from sfa.pipeline.models import Pipeline, Stage, StageOutcome
from sfa.users import repository as user_repository
from sfa.users.models import Team, User

GROUPINGS = {"all": "CAST(0 AS bigint)", "team": "o.team_id", "rep": "o.owner_id"}
# (A bare 0 in GROUP BY would mean "the first column".)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PipelineQuery:
    pipeline_id: int | None = None
    team_id: int | None = None
    rep_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    currency: str | None = None
    by: str = "all"


def _scope(session: Session, principal: Principal, query: PipelineQuery) -> _Where:
    principal.require("reports:read")
    principal.require("pipeline:read")
    if query.by not in GROUPINGS:
        raise InvalidInput(f"by={query.by!r} is not one of {', '.join(GROUPINGS)}")
    where = _Where()
    if query.pipeline_id is not None:
        if session.get(Pipeline, query.pipeline_id) is None:
            raise NotFound(f"pipeline {query.pipeline_id} does not exist", hint="GET /v1/pipelines")
        where.add("o.pipeline_id = :pipeline_id", pipeline_id=query.pipeline_id)
    if query.team_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_team, session, principal, query.team_id, what="team"
        )
        where.add("o.team_id = :team_id", team_id=query.team_id)
    if query.rep_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_user, session, principal, query.rep_id, what="user"
        )
        where.add("o.owner_id = :rep_id", rep_id=query.rep_id)
    if principal.team_ids is not None:
        if principal.is_rep:
            where.add("o.owner_id = :scope_me", scope_me=principal.id)
        else:
            where.add(
                "(o.team_id = ANY(:scope_teams) OR o.owner_id = :scope_me)",
                scope_teams=sorted(principal.team_ids),
                scope_me=principal.id,
            )
    return where


def _period(session: Session, query: PipelineQuery) -> tuple[datetime | None, datetime | None]:
    if query.date_from and query.date_to and query.date_to < query.date_from:
        raise InvalidInput("the period ends before it starts", hint="date_to >= date_from")
    tz = company_service.get_company_settings(session).tz

    def midnight(day: date) -> datetime:
        return datetime.combine(day, time(0), tz).astimezone(UTC)

    t0 = midnight(query.date_from) if query.date_from else None
    t1 = midnight(query.date_to + timedelta(days=1)) if query.date_to else None
    return t0, t1


def _in_period(column: str, t0, t1) -> str:
    parts = ([f"{column} >= :t0"] if t0 else []) + ([f"{column} < :t1"] if t1 else [])
    return " AND ".join(parts) or "TRUE"


def _rows(session: Session, statement: str, where: _Where, grp: str, period: str, params):
    # Only the stage-times statement reads the history first; it needs the opportunity
    # for the filters (every clause is on `o`) and the per-team/rep key.
    join = sql.JOIN_OPPORTUNITY if where.clauses or grp.startswith("o.") else ""
    stmt = statement.format(where=where.sql, grp=grp, in_period=period, join=join)
    return session.execute(text(stmt), where.params | params).mappings().all()


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(value) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(CENT)


def _days(seconds) -> float | None:
    return None if seconds is None else round(float(seconds) / 86400, 2)


class _Group:
    """What the five statements found for one pipeline and group."""

    def __init__(self) -> None:
        self.funnel: dict[int | None, tuple[int, int]] = {}
        self.outcomes: dict[str, dict] = {}
        self.lost_reasons: list[dict] = []
        self.stage_times: dict[int, dict] = {}
        self.open: list[dict] = []


def _collect(session: Session, where: _Where, query: PipelineQuery, currency: str):
    t0, t1 = _period(session, query)
    # For this report's statements only (SET LOCAL: until the transaction ends). A
    # company-wide report may sort every stay's duration: in memory, not on disk (~60 MB
    # for a million stays). JIT compiling and parallel workers cost more than they save
    # on these statements: a team's are small, the company's are index walks and hash
    # aggregates; bench/pipeline_metrics.py measured a team's quarter 2-4x and the
    # company 1.5x faster without workers on a 2-core machine.
    session.execute(text("SET LOCAL work_mem = '64MB'"))
    session.execute(text("SET LOCAL jit = off"))
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    grp = GROUPINGS[query.by]
    params = {"currency": currency} | ({"t0": t0} if t0 else {}) | ({"t1": t1} if t1 else {})
    groups: dict[tuple[int, object], _Group] = {}

    def group(row) -> _Group:
        return groups.setdefault((row["pipeline_id"], row["grp"]), _Group())

    for row in _rows(session, sql.FUNNEL, where, grp, _in_period("o.opened_at", t0, t1), params):
        group(row).funnel[row["position"]] = (row["deals"], row["lost"])
    closed = _in_period("o.closed_at", t0, t1)
    for row in _rows(session, sql.OUTCOMES, where, grp, closed, params):
        group(row).outcomes[row["outcome"]] = dict(row)
    for row in _rows(session, sql.LOST_REASONS, where, grp, closed, params):
        group(row).lost_reasons.append(
            {"reason": row["reason"], "deals": row["deals"], "amount": _money(row["amount"])}
        )
    pipeline_of = dict(session.execute(select(Stage.id, Stage.pipeline_id)).all())
    for row in _stage_times(session, where, query, grp, (t0, t1), params, pipeline_of):
        group(row).stage_times[row["stage_id"]] = row
    for row in _rows(session, sql.OPEN, where, grp, "TRUE", params):
        group(row).open.append(dict(row))
    return groups


def percentile(around: list[float], fraction: float, count: int) -> float:
    """percentile_cont from the two values around the rank fraction × (count - 1)."""
    position = fraction * (count - 1)
    low = around[0]
    high = around[1] if len(around) > 1 else low
    return low + (position - math.floor(position)) * (high - low)


def _stage_times(session, where: _Where, query, grp: str, period, params, pipeline_of):
    t0, t1 = period
    company_wide = not where.clauses or where.clauses == ["o.pipeline_id = :pipeline_id"]
    if company_wide and query.by == "all" and t0 is None and t1 is None:
        stage_ids = [s for s, p in pipeline_of.items() if query.pipeline_id in (None, p)]
        rows = session.execute(text(sql.STAGE_TIMES_BY_RANK), {"stage_ids": stage_ids})
        return [
            {
                "pipeline_id": pipeline_of[r.stage_id],
                "grp": 0,
                "stage_id": r.stage_id,
                "stays": r.stays,
                "p": [
                    percentile(r.around_p50, 0.5, r.stays),
                    percentile(r.around_p90, 0.9, r.stays),
                ],
            }
            for r in rows
        ]
    rows = _rows(session, sql.STAGE_TIMES, where, grp, _in_period("h.left_at", t0, t1), params)
    return [dict(r) | {"pipeline_id": pipeline_of[r["stage_id"]]} for r in rows]


def _stages(stages: list[Stage], found: _Group) -> list[dict]:
    funnel = [s for s in stages if s.outcome is not StageOutcome.lost]

    def reached(position: int) -> int:
        return sum(n for p, (n, _) in found.funnel.items() if p is not None and p >= position)

    result = []
    for stage in stages:
        times = found.stage_times.get(stage.id, {})
        row: dict = {
            "stage_id": stage.id,
            "name": stage.name,
            "position": stage.position,
            "outcome": str(stage.outcome),
            "probability": stage.probability,
            "reached": None,
            "conversion_to_next": None,
            "drop_off": None,
            "lost_after": None,
            "stays": times.get("stays", 0),
            "median_days": _days(times["p"][0]) if times else None,
            "p90_days": _days(times["p"][1]) if times else None,
        }
        if stage in funnel:
            here = reached(stage.position)
            following = funnel[funnel.index(stage) + 1 :]
            row["reached"] = here
            row["lost_after"] = found.funnel.get(stage.position, (0, 0))[1]
            if following:
                there = reached(following[0].position)
                row["conversion_to_next"] = _rate(there, here)
                row["drop_off"] = here - there
        result.append(row)
    return result


def _summary(found: _Group) -> dict:
    won = found.outcomes.get("won", {})
    lost = found.outcomes.get("lost", {})
    won_n, lost_n = won.get("deals", 0), lost.get("deals", 0)
    win_rate = _rate(won_n, won_n + lost_n)
    average = _money(won.get("average_amount"))
    cycle = won.get("cycle_days")
    open_deals = sum(r["deals"] for r in found.open)
    open_other = sum(r["other_currency"] for r in found.open)
    in_currency = open_deals - open_other
    velocity = None
    if win_rate is not None and average is not None and cycle:
        velocity = _money(
            Decimal(in_currency) * Decimal(str(win_rate)) * average / Decimal(str(cycle))
        )
    return {
        "cohort_deals": sum(n for n, _ in found.funnel.values()),
        "won": won_n,
        "lost": lost_n,
        "win_rate": win_rate,
        "won_amount": _money(won.get("amount")) or Decimal("0.00"),
        "average_deal_size": average,
        "cycle_days": None if cycle is None else round(float(cycle), 2),
        "open_deals": open_deals,
        "open_amount": _money(sum((r["amount"] for r in found.open), Decimal(0))),
        "weighted_pipeline": _money(sum((r["weighted"] for r in found.open), Decimal(0))),
        "velocity_per_day": velocity,
        "other_currency_deals": open_other
        + won.get("other_currency", 0)
        + lost.get("other_currency", 0),
    }


def _names(session: Session, by: str, ids: set) -> dict:
    ids = {i for i in ids if i is not None}
    if by == "team" and ids:
        return dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(ids))).all())
    if by == "rep" and ids:
        return dict(session.execute(select(User.id, User.full_name).where(User.id.in_(ids))).all())
    return {}


def pipeline_report(session: Session, *, principal: Principal, query: PipelineQuery) -> list[dict]:
    """One entry per pipeline and group, pipelines by id, groups by id (none last)."""
    where = _scope(session, principal, query)
    currency = query.currency or company_service.get_company_settings(session).currency
    groups = _collect(session, where, query, currency)
    stmt = select(Pipeline).order_by(Pipeline.id)
    if query.pipeline_id is not None:
        stmt = stmt.where(Pipeline.id == query.pipeline_id)
    pipelines = list(session.scalars(stmt))
    stages = {
        p.id: list(
            session.scalars(select(Stage).where(Stage.pipeline_id == p.id).order_by(Stage.position))
        )
        for p in pipelines
    }
    if query.by == "all":
        for p in pipelines:
            groups.setdefault((p.id, 0), _Group())
    names = _names(session, query.by, {g for _, g in groups})
    result = []
    for pipeline in pipelines:
        keys = sorted((g for p, g in groups if p == pipeline.id), key=lambda g: (g is None, g or 0))
        for key in keys:
            found = groups[(pipeline.id, key)]
            result.append(
                {
                    "pipeline_id": pipeline.id,
                    "pipeline_name": pipeline.name,
                    "group_by": query.by,
                    "group_id": None if query.by == "all" else key,
                    "group_name": names.get(key) if query.by != "all" else None,
                    "currency": currency,
                    "summary": _summary(found),
                    "stages": _stages(stages[pipeline.id], found),
                    "forecast": [
                        {
                            "month": r["month"],
                            "deals": r["deals"],
                            "amount": _money(r["amount"]),
                            "weighted": _money(r["weighted"]),
                        }
                        for r in found.open
                    ],
                    "lost_reasons": found.lost_reasons,
                }
            )
    return result
