"""Pipeline metrics: the numbers of `GET /v1/reports/pipeline` (analytics/pipeline.py, the
same function and the same rows), for the caller's deals, a period of company-local days
and optionally per team or per owner; with the API's CSV for the same filters."""

from fastapi import APIRouter

from analytics import pipeline as pipeline_metrics
from api.console.filters import ReportFilters, choices, read_filters
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.formats import ReportFormat
from api.routers import crm_reports
from api.schemas.crm_reports import PipelineGroupOut
from sfa.errors import InvalidInput
from sfa.pipeline import pipelines

router = APIRouter(
    prefix="/console/pipeline/metrics", route_class=ConsoleRoute, include_in_schema=False
)

DEFAULT_DAYS = 90
GROUPINGS = ("all", "team", "rep")


def _filters(console: Console) -> ReportFilters:
    return read_filters(console, default_days=DEFAULT_DAYS, extra=("pipeline_id", "by"))


def _pipeline_id(f: ReportFilters) -> int | None:
    raw = f.extra.get("pipeline_id", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or len(raw) > 18:
        raise InvalidInput(f"pipeline_id={raw!r} is not a number")
    return int(raw)


def _by(f: ReportFilters) -> str:
    by = f.extra.get("by") or "all"
    if by not in GROUPINGS:
        raise InvalidInput(f"by={by!r} is not one of {', '.join(GROUPINGS)}")
    return by


def _query(f: ReportFilters) -> pipeline_metrics.PipelineQuery:
    return pipeline_metrics.PipelineQuery(
        pipeline_id=_pipeline_id(f),
        team_id=f.team_id,
        rep_id=f.rep_id,
        date_from=f.date_from,
        date_to=f.date_to,
        by=_by(f),
    )


@router.get("")
def metrics_page(console: ConsoleDep):
    f = _filters(console)
    groups = pipeline_metrics.pipeline_report(
        console.db, principal=console.principal, query=_query(f)
    )
    t = console.t
    found = pipelines.list_pipelines(console.db, principal=console.principal)
    return render(
        console,
        "pipeline_metrics.html",
        f=f,
        groups=[PipelineGroupOut.model_validate(g) for g in groups],
        pipeline_options=[(p.id, p.name) for p, _ in found],
        by_options=[(by, t(f"metrics.by.{by}")) for by in GROUPINGS],
        csv_url=f"/console/pipeline/metrics.csv?{f.query()}",
        **choices(console),
    )


@router.get(".csv")
def metrics_csv(console: ConsoleDep):
    f = _filters(console)
    q = _query(f)
    return crm_reports.pipeline_report(
        console.db,
        console.principal,
        pipeline_id=q.pipeline_id,
        team_id=q.team_id,
        rep_id=q.rep_id,
        date_from=q.date_from,
        date_to=q.date_to,
        currency=None,
        by=q.by,
        format=ReportFormat.csv,
    )
