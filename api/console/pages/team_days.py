"""Team days: per rep per day, visits, distance, dwell, coverage and flags, with CSV."""

from fastapi import APIRouter

from analytics import reports
from api.console.downloads import csv_link, report_query, report_routes
from api.console.filters import choices, read_filters
from api.console.nav import NavEntry
from api.console.web import ConsoleDep, ConsoleRoute, render
from api.deps import reads_from_replica
from api.schemas.reports import TeamDayOut

router = APIRouter(prefix="/console/team-days", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/team-days", label="nav.team_days", order=50)

PAGE_SIZE = 100
DEFAULT_DAYS = 7


@router.get("")
@reads_from_replica
def team_days_page(console: ConsoleDep):
    f = read_filters(console, default_days=DEFAULT_DAYS)
    page = reports.team_days(
        console.db,
        principal=console.principal,
        filters=f.filters(),
    ).page(console.db, limit=PAGE_SIZE, offset=f.offset)
    return render(
        console,
        "team_days.html",
        f=f,
        page=page,
        rows=[TeamDayOut.model_validate(row) for row in page.items],
        csv_url=csv_link("/console/team-days", f),
        **choices(console),
    )


@router.get(".csv")
@reads_from_replica
def team_days_csv(console: ConsoleDep):
    f = read_filters(console, default_days=DEFAULT_DAYS)
    return report_routes.team_days(console.db, console.principal, report_query(f))
