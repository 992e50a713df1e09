"""Plan compliance: planned visits done per rep per week (or day), with a CSV download."""

from fastapi import APIRouter

from analytics import reports
from api.console.downloads import csv_link, report_query, report_routes
from api.console.filters import choices, read_filters
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.deps import reads_from_replica
from api.schemas.reports import PlanComplianceOut, PlanGrouping

router = APIRouter(
    prefix="/console/plan-compliance", route_class=ConsoleRoute, include_in_schema=False
)
NAV = NavEntry(path="/console/plan-compliance", label="nav.plan_compliance", order=40)

PAGE_SIZE = 100
DEFAULT_DAYS = 4 * 7


def _filters(console: Console):
    return read_filters(console, default_days=DEFAULT_DAYS, extra=("by",))


def _by(f) -> PlanGrouping:
    return PlanGrouping.day if f.extra.get("by") == "day" else PlanGrouping.week


@router.get("")
@reads_from_replica
def plan_compliance_page(console: ConsoleDep):
    f = _filters(console)
    page = reports.plan_compliance(
        console.db,
        principal=console.principal,
        filters=f.filters(),
        by=_by(f).value,
    ).page(console.db, limit=PAGE_SIZE, offset=f.offset)
    t = console.t
    return render(
        console,
        "plan_compliance.html",
        f=f,
        by=_by(f).value,
        page=page,
        rows=[PlanComplianceOut.model_validate(row) for row in page.items],
        by_options=[("week", t("by.week")), ("day", t("by.day"))],
        csv_url=csv_link("/console/plan-compliance", f),
        **choices(console),
    )


@router.get(".csv")
@reads_from_replica
def plan_compliance_csv(console: ConsoleDep):
    f = _filters(console)
    return report_routes.plan_compliance(console.db, console.principal, report_query(f), by=_by(f))
