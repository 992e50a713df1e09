"""Contract queries. Visibility is applied here, once, for every read.

A contract is visible as its customer is (a manager: their teams' customers; a rep: their
team's), and also to the people it names in a role or who own its renewal — an account
manager of another team must see the contracts they are given.
"""

from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, exists, func, or_, select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.contracts import cure
from sfa.contracts.models import (
    OPEN_STATUSES,
    Contract,
    ContractRole,
    ContractStatus,
    ContractUpsellProduct,
    RenewalDecision,
    StaffRole,
)
from sfa.contracts.roles import RenewalRole
from sfa.customers.models import Customer
from sfa.users.models import Role, User


def visibility_condition(principal: Principal) -> ColumnElement[bool] | None:
    """The contracts the principal may see, as a SQL condition (None: every contract)."""
    if principal.team_ids is None:
        return None
    condition: ColumnElement[bool] = Contract.customer_id.in_(
        select(Customer.id).where(Customer.team_id.in_(principal.team_ids))
    )
    if principal.user_id is not None:
        named = exists().where(
            ContractRole.contract_id == Contract.id, ContractRole.user_id == principal.user_id
        )
        condition = or_(condition, Contract.renewal_owner_id == principal.user_id, named)
    return condition


def visible_contracts(principal: Principal) -> Select:
    stmt = select(Contract)
    condition = visibility_condition(principal)
    return stmt if condition is None else stmt.where(condition)


def get_visible(session: Session, principal: Principal, contract_id: int) -> Contract | None:
    return session.scalar(visible_contracts(principal).where(Contract.id == contract_id))


def filter_contracts(
    stmt: Select,
    *,
    status: ContractStatus | None = None,
    customer_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    ending_before=None,
    q: str | None = None,
    statuses: Iterable[ContractStatus] | None = None,
) -> Select:
    if status is not None:
        stmt = stmt.where(Contract.status == status)
    if statuses is not None:
        stmt = stmt.where(Contract.status.in_(list(statuses)))
    if customer_id is not None:
        stmt = stmt.where(Contract.customer_id == customer_id)
    if owner_id is not None:
        stmt = stmt.where(Contract.renewal_owner_id == owner_id)
    if team_id is not None:
        stmt = stmt.where(
            Contract.customer_id.in_(select(Customer.id).where(Customer.team_id == team_id))
        )
    if ending_before is not None:
        stmt = stmt.where(Contract.end_date <= ending_before)
    if q:
        stmt = stmt.where(Contract.title.ilike(f"%{q}%"))
    return stmt.order_by(Contract.end_date, Contract.id)


# --- what a contract names --------------------------------------------------------------


def roles_of(session: Session, contract_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """contract id -> {role: user id}."""
    ids = list(contract_ids)
    result: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return result
    rows = session.execute(
        select(ContractRole.contract_id, ContractRole.role, ContractRole.user_id).where(
            ContractRole.contract_id.in_(ids)
        )
    )
    for contract_id, role, user_id in rows:
        result[contract_id][str(role)] = user_id
    return result


def upsell_products_of(session: Session, contract_ids: Iterable[int]) -> dict[int, list[Product]]:
    ids = list(contract_ids)
    result: dict[int, list[Product]] = {i: [] for i in ids}
    if not ids:
        return result
    rows = session.execute(
        select(ContractUpsellProduct.contract_id, Product)
        .join(Product, Product.id == ContractUpsellProduct.product_id)
        .where(ContractUpsellProduct.contract_id.in_(ids))
        .order_by(Product.name, Product.id)
    )
    for contract_id, product in rows:
        result[contract_id].append(product)
    return result


def successor_ids(session: Session, contract_ids: Iterable[int]) -> dict[int, int]:
    """contract id -> the id of the contract that renews it (where there is one)."""
    ids = list(contract_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(Contract.renewal_of_id, Contract.id).where(Contract.renewal_of_id.in_(ids))
    )
    return {old: new for old, new in rows if old is not None}


def latest_decisions(session: Session, contract_ids: Iterable[int]) -> dict[int, RenewalDecision]:
    ids = list(contract_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(RenewalDecision.id))
        .where(RenewalDecision.contract_id.in_(ids))
        .group_by(RenewalDecision.contract_id)
    )
    stmt = select(RenewalDecision).where(RenewalDecision.id.in_(latest))
    return {d.contract_id: d for d in session.scalars(stmt)}


def decisions(session: Session, contract_id: int) -> list[RenewalDecision]:
    return list(
        session.scalars(
            select(RenewalDecision)
            .where(RenewalDecision.contract_id == contract_id)
            .order_by(RenewalDecision.id.desc())
        )
    )


# --- CURE's candidates ------------------------------------------------------------------


def _people(session: Session, stmt: Select, exclude_contract_id: int) -> list[tuple]:
    load = (
        select(func.count())
        .where(
            Contract.renewal_owner_id == User.id,
            Contract.status.in_(OPEN_STATUSES),
            Contract.renewal_mode == cure.Mode.owned,
            Contract.id != exclude_contract_id,
        )
        .scalar_subquery()
    )
    return [tuple(row) for row in session.execute(stmt.add_columns(User.id, User.full_name, load))]


def candidate_pool(
    session: Session, *, contract: Contract, team_id: int | None
) -> dict[str, list[cure.Person]]:
    """Everyone who could own this renewal, by role, with their open renewals (this one
    left out: re-routing must not count the contract against its current owner)."""
    pool: dict[str, list[cure.Person]] = {}
    staff = _people(
        session,
        select(StaffRole.role)
        .join(User, User.id == StaffRole.user_id)
        .where(User.is_active.is_(True))
        .order_by(User.id),
        contract.id,
    )
    for role, user_id, name, load in staff:
        pool.setdefault(str(role), []).append(cure.Person(user_id, name, load))
    if team_id is not None:
        reps = _people(
            session,
            select()
            .select_from(User)
            .where(User.role == Role.rep, User.team_id == team_id, User.is_active.is_(True))
            .order_by(User.id),
            contract.id,
        )
        pool[RenewalRole.sales_rep] = [cure.Person(u, n, load) for u, n, load in reps]
    return pool


def assigned_people(session: Session, *, contract: Contract) -> dict[str, cure.Person]:
    rows = _people(
        session,
        select(ContractRole.role)
        .join(User, User.id == ContractRole.user_id)
        .where(ContractRole.contract_id == contract.id, User.is_active.is_(True)),
        contract.id,
    )
    return {str(role): cure.Person(user_id, name, load) for role, user_id, name, load in rows}


def staff(session: Session) -> list[tuple[StaffRole, User]]:
    return list(
        session.execute(
            select(StaffRole, User)
            .join(User, User.id == StaffRole.user_id)
            .order_by(StaffRole.role, User.id)
        )
    )


def holds_staff_role(session: Session, user_id: int) -> bool:
    return session.scalar(select(exists().where(StaffRole.user_id == user_id))) or False
