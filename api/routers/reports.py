"""Manager reports as JSON pages or CSV files (`format=csv`: every matching row).

The SQL and the visibility rules live in `analytics/reports.py`; this module only reads
the query, calls it and shapes the answer.
"""

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from analytics import reports
from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, reads_from_replica
from api.formats import CSV_RESPONSES, ReportFormat
from api.schemas.common import Day, Id, PageOut, Text
from api.schemas.reports import (
    Lang,
    PlanComplianceOut,
    PlanGrouping,
    ReportRow,
    SuspiciousVisitOut,
    TeamDayOut,
    WeeklyAnomalyOut,
)
from sfa.limits import INT64_MAX

router = APIRouter(prefix="/v1/reports", tags=["reports"])

_PERIOD = """

**Who sees what**: an admin or an API key with `reports:read` every rep; a manager the reps
of the teams they lead; a rep only their own rows. `team_id` / `rep_id` naming a team or rep
you cannot see is a 404.

**Period** (company-local days), one way only: `date_from`/`date_to` (inclusive),
`week=2026-W47` (Monday to Sunday), or `week_from`/`week_to` (ISO weeks or dates in them).
Without a period, all time.

**Formats**: JSON pages (`limit`, `offset`, `total`, `next_offset`), or `format=csv` with
every matching row, however many (`limit`/`offset` are ignored)."""


@dataclass(frozen=True)
class ReportQuery:
    """Query parameters every report takes (see `report_query`)."""

    team_id: int | None
    rep_id: int | None
    date_from: date | None
    date_to: date | None
    week: str | None
    week_from: str | None
    week_to: str | None
    format: ReportFormat
    limit: int
    offset: int

    def filters(self) -> reports.Filters:
        return reports.make_filters(
            team_id=self.team_id,
            rep_id=self.rep_id,
            date_from=self.date_from,
            date_to=self.date_to,
            week=self.week,
            week_from=self.week_from,
            week_to=self.week_to,
        )


def report_query(
    team_id: Id | None = Query(None, description="only reps of this team"),
    rep_id: Id | None = Query(None, description="only this rep"),
    date_from: Day | None = Query(None, description="first company-local day"),
    date_to: Day | None = Query(None, description="last company-local day (inclusive)"),
    week: Text | None = Query(None, description="one ISO week, e.g. 2026-W47, or a date in it"),
    week_from: Text | None = Query(None, description="first ISO week (or a date in it)"),
    week_to: Text | None = Query(None, description="last ISO week (or a date in it)"),
    format: ReportFormat = Query(ReportFormat.json, description="json pages or a csv file"),
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
) -> ReportQuery:
    return ReportQuery(
        team_id=team_id,
        rep_id=rep_id,
        date_from=date_from,
        date_to=date_to,
        week=week,
        week_from=week_from,
        week_to=week_to,
        format=format,
        limit=limit,
        offset=offset,
    )


QueryDep = Annotated[ReportQuery, Depends(report_query)]
CodesQuery = Query(None, description="only these codes; repeat for several (code=a&code=b)")
LangQuery = Query(None, description="language of the reasons; default: the company's")


def _answer(session, report: reports.Report, model: type[ReportRow], query: ReportQuery, name: str):
    """A JSON page, or every row of the report as a CSV file."""
    if query.format is ReportFormat.csv:
        return csv_export(model, report.batches(session), name, model.model_validate)
    page = report.page(session, limit=query.limit, offset=query.offset)
    return PageOut.of(page, model.model_validate)


@router.get(
    "/suspicious-visits",
    response_model=PageOut[SuspiciousVisitOut],
    responses=CSV_RESPONSES,
    summary="Visits with flags: who, where, when, trust score and reasons",
    description="Visits with at least one flag, oldest first, each with all its "
    "flag codes and their reasons in `lang`. `code` keeps "
    "visits with one of these flags; `max_trust` those scored at most this (visits "
    "not yet scored are left out). Times are in the company's timezone." + _PERIOD,
)
@reads_from_replica
def suspicious_visits(
    session: SessionDep,
    principal: PrincipalDep,
    query: QueryDep,
    code: list[Text] | None = CodesQuery,
    max_trust: int | None = Query(None, ge=0, le=100, description="trust score at most"),
    lang: Lang | None = LangQuery,
):
    report = reports.suspicious_visits(
        session,
        principal=principal,
        filters=query.filters(),
        codes=code,
        max_trust=max_trust,
        lang=lang and lang.value,
    )
    return _answer(session, report, SuspiciousVisitOut, query, "suspicious-visits.csv")


@router.get(
    "/weekly-anomalies",
    response_model=PageOut[WeeklyAnomalyOut],
    responses=CSV_RESPONSES,
    summary="Weekly anomalies per rep, with their numbers and reasons",
    description="Anomalies of every ISO week overlapping the period, oldest week "
    "first; `code` keeps only these anomaly codes." + _PERIOD,
)
@reads_from_replica
def weekly_anomalies(
    session: SessionDep,
    principal: PrincipalDep,
    query: QueryDep,
    code: list[Text] | None = CodesQuery,
    lang: Lang | None = LangQuery,
):
    report = reports.weekly_anomalies(
        session,
        principal=principal,
        filters=query.filters(),
        codes=code,
        lang=lang and lang.value,
    )
    return _answer(session, report, WeeklyAnomalyOut, query, "weekly-anomalies.csv")


@router.get(
    "/plan-compliance",
    response_model=PageOut[PlanComplianceOut],
    responses=CSV_RESPONSES,
    summary="Planned visits done, per rep per week (or per day)",
    description="From the weekly (`by=week`, every week overlapping the period) or "
    "daily (`by=day`) aggregates: planned visits, how many were done, and the rate "
    "done / planned (null when nothing was planned)." + _PERIOD,
)
@reads_from_replica
def plan_compliance(
    session: SessionDep,
    principal: PrincipalDep,
    query: QueryDep,
    by: PlanGrouping = Query(PlanGrouping.week, description="one row per rep per week or day"),
):
    report = reports.plan_compliance(
        session,
        principal=principal,
        filters=query.filters(),
        by=by.value,
    )
    return _answer(session, report, PlanComplianceOut, query, f"plan-compliance-by-{by.value}.csv")


@router.get(
    "/team-days",
    response_model=PageOut[TeamDayOut],
    responses=CSV_RESPONSES,
    summary="Per rep per day: visits, distance, dwell, coverage, activity, flags",
    description="From the daily aggregates only (never single visits or pings), by "
    "day then rep. In CSV, flag counts are one column per code (`flags.too_far`, "
    "...)." + _PERIOD,
)
@reads_from_replica
def team_days(session: SessionDep, principal: PrincipalDep, query: QueryDep):
    report = reports.team_days(
        session,
        principal=principal,
        filters=query.filters(),
    )
    return _answer(session, report, TeamDayOut, query, "team-days.csv")
