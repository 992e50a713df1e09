"""What the "Contract renewal" workflow (sfa/workflows/defaults/contract_renewal.json)
asks of the contracts domain: route a renewal with CURE when it enters the alert window,
and renew an automated one at its end. The decision is `routing.route`'s — the same
function as `POST /v1/contracts/{id}/route` — so there is one CURE, stored with its
reasons either way.

`start` gives the run what its later steps read (`vars.renewal`): the decision's
outcome, the upsell products as words for the owner's task, and the reminders still
ahead as a chain (`{date, days_before, later}`): a step reads the next one as
`vars.reminder.date` and moves on with `vars.reminder.later`, since JsonLogic paths are
literal and cannot index a list by a counter.
"""

from dataclasses import fields
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.contracts import cure, repository, routing
from sfa.contracts import service as contract_service
from sfa.contracts.models import Contract, ContractStatus, RenewalDecision

POLICY_FIELDS = frozenset(f.name for f in fields(cure.Policy))


def reminder_chain(end: date, days: list[int], today: date) -> dict | None:
    """The reminders from `today` on, soonest first: {date, days_before, later}."""
    chain: dict | None = None
    for before in sorted(set(days)):  # 7, 30, 60: built from the last one back
        when = end - timedelta(days=before)
        if when >= today:
            chain = {"date": when.isoformat(), "days_before": before, "later": chain}
    return chain


def policy_of(session: Session, overrides: dict | None) -> cure.Policy:
    """The company's CURE policy with a workflow's numbers over it."""
    given = {k: v for k, v in (overrides or {}).items() if k in POLICY_FIELDS}
    for key in ("upsell_roles", "fallback_order", "reminder_days"):
        if key in given:
            given[key] = tuple(given[key])
    settings = company_service.get_company_settings(session)
    return routing.policy_from_settings(settings, **given)


def plan(session: Session, contract: Contract, decision: RenewalDecision, today: date) -> dict:
    products = repository.upsell_products_of(session, [contract.id])[contract.id]
    names = [p.name for p in products]
    return {
        "decision_id": decision.id,
        "tier": decision.tier,
        "mode": decision.mode,
        "owner_id": decision.owner_id,
        "owner_name": decision.owner_name,
        "owner_role": decision.owner_role,
        "enterprise": decision.enterprise,
        "upsell": decision.upsell,
        "create_opportunity": decision.create_opportunity,
        "auto_renew": decision.auto_renew,
        "summary_en": decision.summary_en,
        "summary_id": decision.summary_id,
        "upsell_products": names,
        # For a task title: "" or " (upsell: Teh Botol, Kopi)".
        "upsell_note": f" (upsell: {', '.join(names)})" if names else "",
        "reminders": reminder_chain(contract.end_date, decision.reminder_days, today),
    }


def start(
    session: Session, contract: Contract, *, actor: str, now: datetime, policy: dict | None = None
) -> dict:
    """Route the renewal (stored with its reasons), move an active contract to
    renewal_due, and return the run's plan."""
    decision = routing.route(session, contract, actor=actor, policy=policy_of(session, policy))
    if contract.status is ContractStatus.active:
        contract_service.change_status(
            session, contract, ContractStatus.renewal_due, actor=actor, at=now
        )
    today = now.astimezone(company_service.get_company_settings(session).tz).date()
    return plan(session, contract, decision, today)


def renew_at_end(session: Session, contract: Contract, *, actor: str) -> tuple[Contract, bool]:
    """The automated renewal: the successor through the renew service (the existing one
    when it was renewed already, e.g. by a person)."""
    return contract_service.renew(session, contract, actor=actor, data={})
