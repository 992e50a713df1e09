"""Contracts: create, change, renew (the renewal chain), and their status history."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.contracts import events, repository
from sfa.contracts.models import (
    FINAL_STATUSES,
    Contract,
    ContractRole,
    ContractStatus,
    ContractStatusSpan,
    ContractUpsellProduct,
    RenewalDecision,
)
from sfa.contracts.roles import RenewalRole
from sfa.customers import repository as customer_repository
from sfa.errors import Conflict, InvalidInput, NotFound
from sfa.events.service import Actor
from sfa.users import repository as user_repository
from sfa.users.models import Role, User

_PLAIN_FIELDS = (
    "title",
    "acv",
    "start_date",
    "end_date",
    "auto_renew",
    "notice_days",
    "upsell_score",
    "enterprise",
    "stakeholders",
    "note",
)

# Columns that cannot be emptied by an update (a JSON null for them is a mistake).
_REQUIRED = ("title", "acv", "start_date", "end_date", "auto_renew", "notice_days", "status")

# Which status may follow which (renewed only through renew_contract).
_NEXT = {
    ContractStatus.draft: {ContractStatus.active, ContractStatus.cancelled},
    ContractStatus.active: {
        ContractStatus.renewal_due,
        ContractStatus.churned,
        ContractStatus.cancelled,
    },
    ContractStatus.renewal_due: {
        ContractStatus.active,
        ContractStatus.churned,
        ContractStatus.cancelled,
    },
}


@dataclass(frozen=True)
class ContractDetails:
    """A contract with what it names: roles, upsell products, successor, decision."""

    contract: Contract
    roles: dict[str, int]
    upsell_products: list[Product]
    successor_id: int | None
    decision: RenewalDecision | None


def details(session: Session, contracts: list[Contract]) -> list[ContractDetails]:
    ids = [c.id for c in contracts]
    roles = repository.roles_of(session, ids)
    products = repository.upsell_products_of(session, ids)
    successors = repository.successor_ids(session, ids)
    decisions = repository.latest_decisions(session, ids)
    return [
        ContractDetails(c, roles[c.id], products[c.id], successors.get(c.id), decisions.get(c.id))
        for c in contracts
    ]


def snapshot(session: Session, contract: Contract) -> dict:
    data = {f: getattr(contract, f) for f in _PLAIN_FIELDS}
    data |= {
        "acv": str(contract.acv),
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
        "customer_id": contract.customer_id,
        "status": str(contract.status),
        "roles": repository.roles_of(session, [contract.id])[contract.id],
    }
    return data


def get_contract(session: Session, *, principal: Principal, contract_id: int) -> Contract:
    principal.require("contracts:read")
    return get_visible_or_raise(
        repository.get_visible, session, principal, contract_id, what="contract"
    )


def contracts_query(
    *,
    principal: Principal,
    status: ContractStatus | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    ending_before: date | None = None,
    q: str | None = None,
    statuses: Sequence[ContractStatus] | None = None,
) -> Select:
    """The visible contracts asked for, soonest end first (for `paginate` or an export);
    `statuses`: any of these (the console's renewals: the open ones)."""
    principal.require("contracts:read")
    return repository.filter_contracts(
        repository.visible_contracts(principal),
        status=status,
        customer_id=customer_id,
        owner_id=owner_id,
        team_id=team_id,
        ending_before=ending_before,
        q=q,
        statuses=statuses,
    )


# --- checks -----------------------------------------------------------------------------


def writable_contract(session: Session, *, principal: Principal, contract_id: int) -> Contract:
    principal.require("contracts:write")
    contract = get_contract(session, principal=principal, contract_id=contract_id)
    _check_customer(session, principal, contract.customer_id)
    return contract


def _check_customer(session: Session, principal: Principal, customer_id: int) -> None:
    get_visible_or_raise(
        customer_repository.get_visible, session, principal, customer_id, what="customer"
    )


def _check_not_null(data: dict) -> None:
    if nulls := [f for f in _REQUIRED if f in data and data[f] is None]:
        raise InvalidInput(
            f"{', '.join(nulls)} cannot be null", hint="leave a field out to keep it"
        )


def _check_dates(start: date, end: date) -> None:
    if end < start:
        raise InvalidInput(
            f"end_date {end.isoformat()} is before start_date {start.isoformat()}",
            hint="a contract ends on or after the day it starts",
        )


def _check_currency(session: Session, currency: str | None) -> str:
    company = company_service.get_company_settings(session).currency
    if currency is not None and currency != company:
        raise InvalidInput(
            f"ACV must be in the company currency {company}, not {currency}",
            hint="convert the value, or leave currency out",
        )
    return company


def _check_person(session: Session, principal: Principal, role: str, user_id: int) -> User:
    """A person named on a contract: visible to the caller, or a company-wide renewal
    staff member (account managers serve every team); a sales rep must be a rep."""
    user = session.get(User, user_id)
    visible = user is not None and (
        user_repository.get_visible_user(session, principal, user_id) is not None
        or repository.holds_staff_role(session, user_id)
    )
    if not visible or user is None:
        raise NotFound(f"user {user_id} (as {role}) does not exist or is not visible to you")
    if not user.is_active:
        raise InvalidInput(f"user {user_id} (as {role}) is deactivated")
    if role == RenewalRole.sales_rep and user.role is not Role.rep:
        raise InvalidInput(f"user {user_id} is not a rep and cannot be the contract's sales rep")
    return user


def _set_roles(
    session: Session, principal: Principal, contract: Contract, roles: dict[str, int | None]
) -> None:
    for role, user_id in roles.items():
        session.execute(
            delete(ContractRole).where(
                ContractRole.contract_id == contract.id, ContractRole.role == role
            )
        )
        if user_id is not None:
            _check_person(session, principal, role, user_id)
            session.add(ContractRole(contract_id=contract.id, role=role, user_id=user_id))


def _set_upsell_products(session: Session, contract: Contract, product_ids: list[int]) -> None:
    wanted = set(product_ids)
    found = set(session.scalars(select(Product.id).where(Product.id.in_(wanted))))
    if missing := sorted(wanted - found):
        raise InvalidInput(
            f"unknown product(s) {', '.join(map(str, missing))} in upsell_product_ids",
            hint="GET /v1/products lists the catalog",
        )
    session.execute(
        delete(ContractUpsellProduct).where(ContractUpsellProduct.contract_id == contract.id)
    )
    session.add_all(ContractUpsellProduct(contract_id=contract.id, product_id=p) for p in wanted)


# --- status history ---------------------------------------------------------------------


def _enter_status(
    session: Session, contract: Contract, status: ContractStatus, actor: str, at: datetime
) -> None:
    current = session.scalar(
        select(ContractStatusSpan).where(
            ContractStatusSpan.contract_id == contract.id, ContractStatusSpan.left_at.is_(None)
        )
    )
    if current is not None:
        current.left_at = at
    contract.status = status
    session.add(
        ContractStatusSpan(contract_id=contract.id, status=status, entered_at=at, actor=actor)
    )


def change_status(
    session: Session, contract: Contract, status: ContractStatus, *, actor: str, at: datetime
) -> None:
    """Move a contract to `status` if the lifecycle allows it (also used by workflows)."""
    if status == contract.status:
        return
    if status not in _NEXT.get(contract.status, set()):
        allowed = ", ".join(sorted(_NEXT.get(contract.status, set()))) or "none (final)"
        raise Conflict(
            f"a {contract.status} contract cannot become {status}",
            hint=f"allowed next statuses: {allowed}; renewed only through POST .../renew",
        )
    _enter_status(session, contract, status, actor, at)


# --- writes -----------------------------------------------------------------------------


def create_contract(session: Session, *, principal: Principal, data: dict) -> Contract:
    principal.require("contracts:write")
    _check_customer(session, principal, data["customer_id"])
    _check_dates(data["start_date"], data["end_date"])
    status = data.get("status") or ContractStatus.active
    if status not in (ContractStatus.draft, ContractStatus.active):
        raise InvalidInput("a new contract is draft or active", hint="leave status out: active")
    contract = Contract(
        **{f: data[f] for f in _PLAIN_FIELDS if f in data},
        customer_id=data["customer_id"],
        currency=_check_currency(session, data.get("currency")),
        status=status,
        created_by=principal.actor,
    )
    session.add(contract)
    session.flush()
    _enter_status(session, contract, status, principal.actor, datetime.now(UTC))
    _set_roles(session, principal, contract, data.get("roles") or {})
    _set_upsell_products(session, contract, data.get("upsell_product_ids") or [])
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="contract",
        entity_id=contract.id,
        action="create",
        new=snapshot(session, contract),
    )
    events.created(session, contract, Actor.of(principal))
    return contract


def update_contract(
    session: Session, *, principal: Principal, contract_id: int, data: dict
) -> Contract:
    contract = writable_contract(session, principal=principal, contract_id=contract_id)
    if contract.status in FINAL_STATUSES:
        raise Conflict(f"contract {contract_id} is {contract.status} and can no longer change")
    before = snapshot(session, contract)
    _check_not_null(data)
    _check_currency(session, data.get("currency"))
    _check_dates(
        data.get("start_date", contract.start_date), data.get("end_date", contract.end_date)
    )
    for field in _PLAIN_FIELDS:
        if field in data:
            setattr(contract, field, data[field])
    if "roles" in data:
        _set_roles(session, principal, contract, data["roles"])
    if "upsell_product_ids" in data:
        _set_upsell_products(session, contract, data["upsell_product_ids"])
    if "status" in data:
        change_status(
            session, contract, data["status"], actor=principal.actor, at=datetime.now(UTC)
        )
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="contract",
        entity_id=contract.id,
        action="update",
        old=before,
        new=snapshot(session, contract),
    )
    return contract


def renew(session: Session, contract: Contract, *, actor: str, data: dict) -> tuple[Contract, bool]:
    """The successor of `contract` (created, True) — or the one that exists (False): a
    retried renewal never makes a second successor. Also used by automated renewals."""
    existing = repository.successor_ids(session, [contract.id]).get(contract.id)
    if existing is not None:
        return session.get_one(Contract, existing), False
    if contract.status not in (ContractStatus.active, ContractStatus.renewal_due):
        raise Conflict(f"a {contract.status} contract cannot be renewed")
    start = data.get("start_date") or contract.end_date + timedelta(days=1)
    end = data.get("end_date") or start + (contract.end_date - contract.start_date)
    _check_dates(start, end)
    successor = Contract(
        **{f: getattr(contract, f) for f in _PLAIN_FIELDS},
        customer_id=contract.customer_id,
        currency=contract.currency,
        status=ContractStatus.active,
        renewal_of_id=contract.id,
        created_by=actor,
    )
    successor.start_date, successor.end_date = start, end
    for field in ("acv", "title", "auto_renew", "notice_days"):
        if data.get(field) is not None:
            setattr(successor, field, data[field])
    session.add(successor)
    session.flush()
    now = datetime.now(UTC)
    _enter_status(session, successor, ContractStatus.active, actor, now)
    for role, user_id in repository.roles_of(session, [contract.id])[contract.id].items():
        session.add(ContractRole(contract_id=successor.id, role=role, user_id=user_id))
    _enter_status(session, contract, ContractStatus.renewed, actor, now)
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="contract",
        entity_id=contract.id,
        action="renew",
        new={
            "successor_id": successor.id,
            "start_date": start.isoformat(),
            "end_date": end.isoformat(),
        },
    )
    events.created(session, successor, events.actor_of(actor))
    return successor, True


def renew_contract(
    session: Session, *, principal: Principal, contract_id: int, data: dict
) -> tuple[Contract, bool]:
    contract = writable_contract(session, principal=principal, contract_id=contract_id)
    return renew(session, contract, actor=principal.actor, data=data)


def status_history(session: Session, contract_id: int) -> list[ContractStatusSpan]:
    return list(
        session.scalars(
            select(ContractStatusSpan)
            .where(ContractStatusSpan.contract_id == contract_id)
            .order_by(ContractStatusSpan.entered_at, ContractStatusSpan.id)
        )
    )
