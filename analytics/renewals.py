"""The renewal audit: the N largest and the N smallest contracts by ACV, each with who
owns its renewal and why, the days left, the step the renewal is in and how long it has
spent in each step so far — where renewals stall.

The steps are the contract's statuses (active → renewal_due → renewed / churned) with
their times from `contract_status_history`; once a "Contract renewal" workflow run
exists for the contract, its steps take over from the run's start (route, each reminder
and the wait before it, the owner's task, the renewal: sfa/workflows/renewals.py), and
the current step is the run's while it runs or waits.
"""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.contracts import repository as contract_repository
from sfa.contracts.models import OPEN_STATUSES, Contract, ContractStatus, ContractStatusSpan
from sfa.customers.models import Customer
from sfa.errors import InvalidInput
from sfa.users import repository as user_repository
from sfa.users.models import Team, User
from sfa.workflows import renewals as renewal_runs

MAX_N = 100


def _step(name: str, entered: datetime, left: datetime | None, now: datetime) -> dict:
    days = round(((left or now) - entered).total_seconds() / 86400, 2)
    return {"step": name, "entered_at": entered, "left_at": left, "days": days}


def _steps(spans: list[ContractStatusSpan], run, now: datetime) -> list[dict]:
    """The statuses, then (from its start) the renewal run's steps, each until the next
    one starts (a step that waits lasts until its wait is over)."""
    if run is None:
        return [_step(str(s.status), s.entered_at, s.left_at, now) for s in spans]
    workflow_run, rows = run
    started = workflow_run.started_at
    steps = [
        _step(str(s.status), s.entered_at, min(s.left_at or started, started), now)
        for s in spans
        if s.entered_at < started
    ]
    for index, row in enumerate(rows):
        after = rows[index + 1].started_at if index + 1 < len(rows) else row.finished_at
        steps.append(_step(row.step_id, row.started_at, after, now))
    if workflow_run.finished_at is not None:
        steps += [
            _step(str(s.status), s.entered_at, s.left_at, now)
            for s in spans[-1:]
            if s.entered_at >= started
        ]
    return steps


def _spans(session: Session, ids: list[int]) -> dict[int, list[ContractStatusSpan]]:
    result: dict[int, list[ContractStatusSpan]] = {i: [] for i in ids}
    stmt = (
        select(ContractStatusSpan)
        .where(ContractStatusSpan.contract_id.in_(ids))
        .order_by(ContractStatusSpan.entered_at, ContractStatusSpan.id)
    )
    for span in session.scalars(stmt):
        result[span.contract_id].append(span)
    return result


def _rows(session: Session, contracts: list[Contract], *, today: date, lang: str) -> list[dict]:
    ids = [c.id for c in contracts]
    if not ids:
        return []
    now = datetime.now(UTC)
    decisions = contract_repository.latest_decisions(session, ids)
    spans = _spans(session, ids)
    runs = renewal_runs.run_steps(session, ids)
    customers = {
        c.id: c
        for c in session.scalars(
            select(Customer).where(Customer.id.in_({c.customer_id for c in contracts}))
        )
    }
    team_ids = {c.team_id for c in customers.values() if c.team_id is not None}
    teams = dict(session.execute(select(Team.id, Team.name).where(Team.id.in_(team_ids))).all())
    owner_ids = {c.renewal_owner_id for c in contracts if c.renewal_owner_id is not None}
    owners = dict(
        session.execute(select(User.id, User.full_name).where(User.id.in_(owner_ids))).all()
    )
    rows = []
    for rank, contract in enumerate(contracts, start=1):
        customer = customers[contract.customer_id]
        decision = decisions.get(contract.id)
        steps = _steps(spans[contract.id], runs.get(contract.id), now)
        current = steps[-1] if steps else None
        rows.append(
            {
                "rank": rank,
                "contract_id": contract.id,
                "title": contract.title,
                "customer_id": customer.id,
                "customer_code": customer.code,
                "customer_name": customer.name,
                "team_id": customer.team_id,
                "team_name": teams.get(customer.team_id) if customer.team_id else None,
                "acv": contract.acv,
                "currency": contract.currency,
                "status": str(contract.status),
                "end_date": contract.end_date,
                "days_to_end": (contract.end_date - today).days,
                "owner_id": contract.renewal_owner_id,
                "owner_name": owners.get(contract.renewal_owner_id)
                if contract.renewal_owner_id
                else None,
                "owner_role": decision.owner_role if decision else None,
                "mode": contract.renewal_mode,
                "routing_reason": (
                    (decision.summary_id if lang == "id" else decision.summary_en)
                    if decision
                    else None
                ),
                "decided_at": decision.decided_at if decision else None,
                "current_step": current["step"] if current else None,
                "current_step_days": current["days"] if current else None,
                "steps": steps,
            }
        )
    return rows


def renewal_rows(session: Session, contracts: list[Contract], *, lang: str) -> list[dict]:
    """The audit's row of each of these contracts (already checked visible), in order:
    owner, routing reason in `lang`, days to the end, steps (the console's renewals)."""
    tz = company_service.get_company_settings(session).tz
    today = datetime.now(UTC).astimezone(tz).date()
    return _rows(session, contracts, today=today, lang=lang)


def renewal_audit(
    session: Session,
    *,
    principal: Principal,
    largest: int = 10,
    smallest: int = 10,
    team_id: int | None = None,
    statuses: list[ContractStatus] | None = None,
    lang: str | None = None,
) -> dict:
    """{"largest": [...], "smallest": [...]} among the visible contracts with these
    statuses (default: the open ones, active and renewal_due); ties by contract id."""
    principal.require("reports:read")
    principal.require("contracts:read")
    for name, n in (("largest", largest), ("smallest", smallest)):
        if not 0 <= n <= MAX_N:
            raise InvalidInput(f"{name} must be between 0 and {MAX_N}, got {n}")
    settings = company_service.get_company_settings(session)
    lang = lang or ("id" if settings.language == "id" else "en")
    stmt = contract_repository.visible_contracts(principal).where(
        Contract.status.in_(statuses or OPEN_STATUSES)
    )
    if team_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_team, session, principal, team_id, what="team"
        )
        stmt = stmt.where(
            Contract.customer_id.in_(select(Customer.id).where(Customer.team_id == team_id))
        )
    today = datetime.now(UTC).astimezone(settings.tz).date()
    top = list(session.scalars(stmt.order_by(Contract.acv.desc(), Contract.id).limit(largest)))
    bottom = list(session.scalars(stmt.order_by(Contract.acv, Contract.id).limit(smallest)))
    return {
        "today": today,
        "largest": _rows(session, top, today=today, lang=lang),
        "smallest": _rows(session, bottom, today=today, lang=lang),
    }
