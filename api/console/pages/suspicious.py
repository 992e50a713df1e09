"""Suspicious visits: filters, the reasons in the user's language with their numbers, and
a link to each visit on its rep's day map."""

from fastapi import APIRouter

from analytics import reports
from api.console.downloads import csv_link, report_query, report_routes
from api.console.filters import choices, read_filters
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.deps import reads_from_replica
from api.schemas.reports import Lang, SuspiciousVisitOut
from sfa.visits.flags import WEIGHTS

router = APIRouter(prefix="/console/suspicious", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/suspicious", label="nav.suspicious", order=20)

PAGE_SIZE = 50
DEFAULT_DAYS = 7


def _filters(console: Console):
    return read_filters(console, default_days=DEFAULT_DAYS, extra=("code", "max_trust"))


def _codes(f) -> list[str] | None:
    return [f.extra["code"]] if f.extra.get("code") else None


def _max_trust(f) -> int | None:
    raw = f.extra.get("max_trust", "")
    return min(100, int(raw)) if raw.isdigit() else None


@router.get("")
@reads_from_replica
def suspicious_page(console: ConsoleDep):
    f = _filters(console)
    page = reports.suspicious_visits(
        console.db,
        principal=console.principal,
        filters=f.filters(),
        codes=_codes(f),
        max_trust=_max_trust(f),
        lang=console.lang,
    ).page(console.db, limit=PAGE_SIZE, offset=f.offset)
    return render(
        console,
        "suspicious.html",
        f=f,
        page=page,
        rows=[SuspiciousVisitOut.model_validate(row) for row in page.items],
        code_options=[(code, code) for code in sorted(WEIGHTS)],
        csv_url=csv_link("/console/suspicious", f),
        **choices(console),
    )


@router.get(".csv")
@reads_from_replica
def suspicious_csv(console: ConsoleDep):
    f = _filters(console)
    return report_routes.suspicious_visits(
        console.db,
        console.principal,
        report_query(f),
        code=_codes(f),
        max_trust=_max_trust(f),
        lang=Lang(console.lang),
    )
