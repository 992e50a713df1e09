"""Intake, alias, conversion and hint queries; visibility of intakes by principal."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.purchase_orders.models import (
    IntakeState,
    LayoutHint,
    PoIntake,
    PoIntakeFile,
    ProductAlias,
    UnitConversion,
)
from sfa.tax.models import CustomerTaxIdentity


def visible_intakes(principal: Principal) -> Select:
    """Admin and company-wide keys: every intake. A manager: what they uploaded, and the
    intakes of their teams' customers (an unmatched e-mailed PO waits for an admin)."""
    stmt = select(PoIntake)
    if principal.team_ids is None:
        return stmt
    team_customers = select(Customer.id).where(Customer.team_id.in_(principal.team_ids))
    return stmt.where(
        or_(PoIntake.uploaded_by == principal.id, PoIntake.customer_id.in_(team_customers))
    )


def get_visible(
    session: Session, principal: Principal, intake_id: int, *, for_update: bool = False
) -> PoIntake | None:
    stmt = visible_intakes(principal).where(PoIntake.id == intake_id)
    if for_update:
        stmt = stmt.with_for_update(of=PoIntake).execution_options(populate_existing=True)
    return session.scalar(stmt)


def find_by_hash(session: Session, sha256: str) -> PoIntake | None:
    return session.scalar(select(PoIntake).where(PoIntake.sha256 == sha256))


def content_of(session: Session, intake_id: int) -> bytes:
    return session.execute(
        select(PoIntakeFile.content).where(PoIntakeFile.intake_id == intake_id)
    ).scalar_one()


def filter_intakes(stmt: Select, *, state: str | None = None) -> Select:
    if state is not None:
        stmt = stmt.where(PoIntake.state == state)
    return stmt.order_by(PoIntake.created_at.desc(), PoIntake.id.desc())


def claim_next(session: Session, *, now: datetime, lease_before: datetime) -> PoIntake | None:
    """The oldest intake waiting for the job (or left 'processing' by a crashed run
    longer than the lease), locked; SKIP LOCKED so that runs never wait for each other."""
    stmt = (
        select(PoIntake)
        .where(
            or_(
                PoIntake.state == IntakeState.received,
                (PoIntake.state == IntakeState.processing) & (PoIntake.claimed_at < lease_before),
            )
        )
        .order_by(PoIntake.created_at, PoIntake.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    intake = session.scalar(stmt)
    if intake is not None:
        intake.state = IntakeState.processing
        intake.claimed_at = now
        intake.attempts += 1
        session.flush()
    return intake


def customer_by_tax_number(session: Session, number: str) -> int | None:
    return session.scalar(
        select(CustomerTaxIdentity.customer_id).where(CustomerTaxIdentity.number == number).limit(1)
    )


def buyer_candidates(
    session: Session, queries: list[str], *, limit: int = 25
) -> dict[int, tuple[str, str | None]]:
    """Customers whose name is most like one of the queries (pg_trgm trigram similarity,
    served by ix_customers_name_trgm): a bounded set for rapidfuzz to rank, whatever
    the number of customers. {id: (name, address)}."""
    found: dict[int, tuple[str, str | None]] = {}
    name = func.lower(Customer.name)
    for query in queries:
        rows = session.execute(
            select(Customer.id, Customer.name, Customer.address)
            .where(name.op("%")(query))
            .order_by(func.similarity(name, query).desc(), Customer.id)
            .limit(limit)
        )
        found.update({cid: (n, address) for cid, n, address in rows})
    return found


def salable_products(session: Session) -> dict[int, tuple[str | None, str, str]]:
    rows = session.execute(
        select(Product.id, Product.code, Product.name, Product.unit).where(
            Product.active.is_(True), Product.salable.is_(True)
        )
    )
    return {pid: (code, name, unit) for pid, code, name, unit in rows}


def aliases_for(session: Session, customer_id: int) -> dict[str, int]:
    rows = session.execute(
        select(ProductAlias.key, ProductAlias.product_id).where(
            ProductAlias.customer_id == customer_id
        )
    )
    return {key: pid for key, pid in rows}


def unit_conversions(session: Session) -> dict[tuple[int, str], Decimal]:
    rows = session.execute(
        select(UnitConversion.product_id, UnitConversion.unit, UnitConversion.factor)
    )
    return {(pid, unit): factor for pid, unit, factor in rows}


def save_alias(
    session: Session, *, customer_id: int, key: str, product_id: int, user_id: int | None
) -> None:
    stmt = insert(ProductAlias).values(
        customer_id=customer_id, key=key, product_id=product_id, created_by=user_id
    )
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["customer_id", "key"],
            set_={"product_id": product_id, "created_by": user_id},
        )
    )


def save_conversion(session: Session, *, product_id: int, unit: str, factor: Decimal) -> None:
    stmt = insert(UnitConversion).values(product_id=product_id, unit=unit, factor=factor)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["product_id", "unit"], set_={"factor": factor})
    )


def hints_for(session: Session, customer_id: int | None) -> dict:
    if customer_id is None:
        return {}
    return (
        session.scalar(select(LayoutHint.hints).where(LayoutHint.customer_id == customer_id)) or {}
    )


def save_hints(session: Session, customer_id: int, hints: dict) -> None:
    stmt = insert(LayoutHint).values(customer_id=customer_id, hints=hints)
    session.execute(
        stmt.on_conflict_do_update(index_elements=["customer_id"], set_={"hints": hints})
    )


def release(session: Session, intake_id: int) -> None:
    """Back to 'received' (a run that could not finish, e.g. stopped mid-read)."""
    session.execute(
        update(PoIntake)
        .where(PoIntake.id == intake_id, PoIntake.state == IntakeState.processing)
        .values(state=IntakeState.received)
    )
