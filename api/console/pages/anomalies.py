"""Weekly anomalies: filters, the reasons in the user's language with their numbers, and
each anomaly's week against the rep's history (a small server-rendered chart)."""

from datetime import timedelta

from fastapi import APIRouter

from analytics import reports
from api.console.charts import HISTORY_WEEKS, METRIC, week_chart
from api.console.downloads import csv_link, report_query, report_routes
from api.console.filters import choices, read_filters
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.deps import reads_from_replica
from api.schemas.reports import Lang, WeeklyAnomalyOut

router = APIRouter(prefix="/console/anomalies", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/anomalies", label="nav.anomalies", order=30)

PAGE_SIZE = 50
DEFAULT_DAYS = 8 * 7


def _filters(console: Console):
    return read_filters(console, default_days=DEFAULT_DAYS, extra=("code",))


def _codes(f) -> list[str] | None:
    return [f.extra["code"]] if f.extra.get("code") else None


@router.get("")
@reads_from_replica
def anomalies_page(console: ConsoleDep):
    f = _filters(console)
    page = reports.weekly_anomalies(
        console.db,
        principal=console.principal,
        filters=f.filters(),
        codes=_codes(f),
        lang=console.lang,
    ).page(console.db, limit=PAGE_SIZE, offset=f.offset)
    rows = [WeeklyAnomalyOut.model_validate(row) for row in page.items]
    history = {}
    if rows:
        history = reports.rep_week_history(
            console.db,
            principal=console.principal,
            rep_ids=[r.rep_id for r in rows],
            week_from=min(r.week_start for r in rows) - timedelta(weeks=HISTORY_WEEKS),
            week_to=max(r.week_start for r in rows),
        )
    charts = {
        (r.rep_id, r.week_start, r.code): week_chart(
            history.get(r.rep_id, []), r.week_start, r.code
        )
        for r in rows
    }
    return render(
        console,
        "anomalies.html",
        f=f,
        page=page,
        rows=rows,
        charts=charts,
        code_options=[(code, code) for code in METRIC],
        csv_url=csv_link("/console/anomalies", f),
        **choices(console),
    )


@router.get(".csv")
@reads_from_replica
def anomalies_csv(console: ConsoleDep):
    f = _filters(console)
    return report_routes.weekly_anomalies(
        console.db, console.principal, report_query(f), code=_codes(f), lang=Lang(console.lang)
    )
