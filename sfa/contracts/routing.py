"""Renewal routing: gather a contract's facts and candidates, ask CURE (sfa.contracts.cure),
store the decision with its reasons, and record the owner on the contract."""

from dataclasses import asdict

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.contracts import cure, repository
from sfa.contracts import service as contract_service
from sfa.contracts.models import OPEN_STATUSES, Contract, RenewalDecision
from sfa.customers.models import Customer
from sfa.errors import Conflict


def policy_from_settings(settings: CompanySettings, **overrides) -> cure.Policy:
    """The company's CURE policy; `overrides` (e.g. a workflow's parameters) win."""
    values = {
        "low_tier_max": settings.renewal_low_tier_max,
        "enterprise_tier_min": settings.renewal_enterprise_tier_min,
        "enterprise_min_stakeholders": settings.renewal_enterprise_min_stakeholders,
        "upsell_min_score": settings.renewal_upsell_min_score,
        "upsell_roles": tuple(settings.renewal_upsell_roles),
        "fallback_order": tuple(settings.renewal_fallback_order),
        "reminder_days": tuple(settings.renewal_reminder_days),
    }
    return cure.Policy(**(values | overrides))


def facts_of(session: Session, contract: Contract) -> cure.Facts:
    customer = session.get(Customer, contract.customer_id)
    products = repository.upsell_products_of(session, [contract.id])[contract.id]
    return cure.Facts(
        acv=contract.acv,
        auto_renew=contract.auto_renew,
        enterprise_flag=contract.enterprise,
        stakeholders=contract.stakeholders,
        upsell_score=contract.upsell_score,
        upsell_products=tuple(p.name for p in products),
        assigned=repository.assigned_people(session, contract=contract),
        pool=repository.candidate_pool(
            session, contract=contract, team_id=customer.team_id if customer else None
        ),
    )


def _json(value):
    """Dataclasses, Decimals and tuples as JSON-able values."""
    if isinstance(value, dict):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def route(
    session: Session, contract: Contract, *, actor: str, policy: cure.Policy | None = None
) -> RenewalDecision:
    """Decide who owns `contract`'s renewal and store the decision (the current one is
    also on the contract: renewal_owner_id, renewal_mode)."""
    if contract.status not in OPEN_STATUSES:
        raise Conflict(
            f"contract {contract.id} is {contract.status}: its renewal is closed",
            hint="only active or renewal_due contracts are routed",
        )
    policy = policy or policy_from_settings(company_service.get_company_settings(session))
    facts = facts_of(session, contract)
    decision = cure.decide(facts, policy)
    stored = RenewalDecision(
        contract_id=contract.id,
        actor=actor,
        tier=decision.tier,
        mode=decision.mode,
        owner_id=decision.owner.user_id if decision.owner else None,
        owner_name=decision.owner.name if decision.owner else None,
        owner_role=decision.owner_role,
        enterprise=decision.enterprise,
        upsell=decision.upsell,
        create_opportunity=decision.create_opportunity,
        auto_renew=decision.auto_renew,
        reminder_days=list(decision.reminder_days),
        reasons=[_json(asdict(r)) for r in decision.reasons],
        summary_en=decision.summary["en"],
        summary_id=decision.summary["id"],
        facts=_json(asdict(facts)),
        policy=_json(asdict(policy)),
    )
    session.add(stored)
    contract.renewal_owner_id = stored.owner_id
    contract.renewal_mode = decision.mode
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="contract",
        entity_id=contract.id,
        action="route_renewal",
        new={"decision_id": stored.id, "owner_id": stored.owner_id, "summary": stored.summary_en},
    )
    return stored


def route_renewal(session: Session, *, principal: Principal, contract_id: int) -> RenewalDecision:
    contract = contract_service.writable_contract(
        session, principal=principal, contract_id=contract_id
    )
    return route(session, contract, actor=principal.actor)
