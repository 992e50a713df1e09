"""Renewals: the open contracts (active or renewal due) ending within the alert window,
soonest first, each with who owns its renewal and why (the current CURE decision, its
summary and every lens's reason in the user's language) and a button to route it (again)
through the API's own routing service."""

from dataclasses import dataclass
from datetime import timedelta

from fastapi import APIRouter

from analytics import renewals
from api.console.filters import choices, int_param
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.schemas.common import Id
from api.schemas.contracts import DecisionOut
from api.schemas.crm_reports import RenewalRowOut
from sfa.contracts import routing
from sfa.contracts import service as contract_service
from sfa.contracts.models import OPEN_STATUSES, Contract, ContractStatus
from sfa.errors import InvalidInput
from sfa.pagination import paginate

router = APIRouter(prefix="/console/renewals", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/renewals", label="nav.renewals", order=82)

PAGE_SIZE = 30
MAX_DAYS = 3660


@dataclass(frozen=True)
class Renewal:
    row: RenewalRowOut
    decision: DecisionOut | None


def _status(console: Console) -> ContractStatus | None:
    raw = console.request.query_params.get("status", "")
    if not raw:
        return None
    try:
        status = ContractStatus(raw)
    except ValueError:
        status = None
    if status not in OPEN_STATUSES:
        raise InvalidInput(
            f"status={raw!r} is not an open contract status",
            hint=f"choose one of: {', '.join(OPEN_STATUSES)}",
        )
    return status


def _within(console: Console) -> int:
    days = int_param(console.request, "within_days")
    if days is None:
        return console.settings.renewal_alert_days
    if days > MAX_DAYS:
        raise InvalidInput(f"within_days must be at most {MAX_DAYS}")
    return days


def renewals_of(console: Console, contracts: list[Contract]) -> list[Renewal]:
    rows = renewals.renewal_rows(console.db, contracts, lang=console.lang)
    details = contract_service.details(console.db, contracts)
    return [
        Renewal(
            RenewalRowOut.model_validate(row),
            DecisionOut.of(d.decision, console.lang) if d.decision else None,
        )
        for row, d in zip(rows, details, strict=True)
    ]


@router.get("")
def renewals_page(console: ConsoleDep):
    status = _status(console)
    within = _within(console)
    team_id = int_param(console.request, "team_id")
    stmt = contract_service.contracts_query(
        principal=console.principal,
        statuses=[status] if status else OPEN_STATUSES,
        team_id=team_id,
        ending_before=console.now().date() + timedelta(days=within),
    )
    page = paginate(
        console.db, stmt, limit=PAGE_SIZE, offset=int_param(console.request, "offset") or 0
    )
    t = console.t
    return render(
        console,
        "renewals.html",
        page=page,
        items=renewals_of(console, list(page.items)),
        status=status.value if status else "",
        within=within,
        team_id=team_id,
        status_options=[(s.value, t(f"renewals.status.{s.value}")) for s in OPEN_STATUSES],
        **choices(console),
    )


@router.post("/contracts/{contract_id}/route")
def route(console: CsrfDep, contract_id: Id):
    """Decide who owns the renewal now (CURE), as `POST /v1/contracts/{id}/route`."""
    routing.route_renewal(console.db, principal=console.principal, contract_id=contract_id)
    contract = contract_service.get_contract(
        console.db, principal=console.principal, contract_id=contract_id
    )
    return render(
        console, "renewal_card.html", item=renewals_of(console, [contract])[0], routed=True
    )
