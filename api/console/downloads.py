"""CSV downloads of the console's reports: the JSON API's own CSV (api/routers/reports.py),
for the same filters and the console's session, so both give the same file."""

from api.console.filters import ReportFilters
from api.formats import ReportFormat
from api.routers import reports as report_routes


def report_query(f: ReportFilters) -> report_routes.ReportQuery:
    return report_routes.ReportQuery(
        team_id=f.team_id,
        rep_id=f.rep_id,
        date_from=f.date_from,
        date_to=f.date_to,
        week=None,
        week_from=None,
        week_to=None,
        format=ReportFormat.csv,
        limit=1,
        offset=0,
    )


def csv_link(path: str, f: ReportFilters) -> str:
    return f"{path}.csv?{f.query()}"
