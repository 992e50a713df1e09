"""Team pulse: the eNPS of each team and period from the pulse surveys, the numbers of
`GET /v1/reports/enps` (`sfa.surveys.results`). A team and period with fewer answers
than the company's minimum group size shows only how many answered, by design: a small
team's distribution would tell who answered what."""

from fastapi import APIRouter

from api.console.filters import choices, int_param
from api.console.nav import NavEntry
from api.console.web import ConsoleDep, ConsoleRoute, render
from api.schemas.surveys import EnpsRowOut
from sfa.surveys import results

router = APIRouter(prefix="/console/pulse", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/pulse", label="nav.pulse", order=84)

PERIOD_LENGTH = 10  # 2026-W47, 2026-11, 2026-Q4


@router.get("")
def pulse_page(console: ConsoleDep):
    team_id = int_param(console.request, "team_id")
    rows = [
        EnpsRowOut.model_validate(r)
        for r in results.enps_report(console.db, principal=console.principal, team_id=team_id)
    ]
    # Newest period first: the latest pulse is what a manager opens the page for.
    rows.sort(key=lambda r: (r.period, -r.team_id), reverse=True)
    return render(
        console,
        "pulse.html",
        rows=rows,
        team_id=team_id,
        min_group_size=console.settings.survey_min_group_size,
        **choices(console),
    )
