"""Moving a customer's location: a proposal that a manager approves or rejects.

Proposals are never deleted: approved and rejected rows are the location history."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa import geo
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.customers import events
from sfa.customers import repository as customer_repository
from sfa.customers import service as customer_service
from sfa.customers.models import Customer, LocationProposal, LocationStatus, ProposalStatus
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound
from sfa.events.service import Actor
from sfa.pagination import Page, paginate


def propose(
    session: Session,
    *,
    principal: Principal,
    customer_id: int,
    lat: float,
    lon: float,
    accuracy_m: float | None,
    note: str | None,
    visit_id: int | None,
) -> LocationProposal:
    principal.require("customers:write")
    customer = customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    if visit_id is not None:
        visit_customer = customer_repository.visible_visit_customer(session, principal, visit_id)
        if visit_customer is None:
            raise InvalidInput(
                f"visit {visit_id} does not exist or is not visible to you",
                details={"field": "visit_id"},
            )
        if visit_customer != customer.id:
            raise InvalidInput(
                f"visit {visit_id} was at customer {visit_customer}, not {customer.id}",
                details={"field": "visit_id"},
            )
    proposal = LocationProposal(
        customer_id=customer.id,
        proposed_by=principal.id,
        visit_id=visit_id,
        position=geo.to_geography(lat, lon),
        accuracy_m=accuracy_m,
        note=note,
        previous_position=customer.location,
    )
    session.add(proposal)
    session.flush()
    return proposal


def list_proposals(
    session: Session, *, principal: Principal, customer_id: int
) -> list[LocationProposal]:
    customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    return list(
        session.scalars(
            select(LocationProposal)
            .where(LocationProposal.customer_id == customer_id)
            .order_by(LocationProposal.id)
        )
    )


def decide(
    session: Session, *, principal: Principal, customer_id: int, proposal_id: int, approve: bool
) -> LocationProposal:
    if principal.is_rep or principal.role is None:
        raise Forbidden("only a manager or an administrator approves location changes")
    customer = customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    proposal = session.get(LocationProposal, proposal_id)
    if proposal is None or proposal.customer_id != customer.id:
        raise NotFound(f"location proposal {proposal_id} does not exist for customer {customer_id}")
    if proposal.status is not ProposalStatus.pending:
        raise Conflict(f"location proposal {proposal_id} was already {proposal.status}")
    proposal.status = ProposalStatus.approved if approve else ProposalStatus.rejected
    proposal.decided_by = principal.id
    proposal.decided_at = datetime.now(UTC)
    if approve:
        old = geo.lat_lon(customer.location)
        proposal.previous_position = customer.location
        customer.location = proposal.position
        customer.location_status = LocationStatus.approved
        new = geo.lat_lon(proposal.position)
        audit_service.record(
            session,
            actor=principal.actor,
            entity="customer",
            entity_id=customer.id,
            action="move_location",
            old={"location": old},
            new={"location": new, "proposal_id": proposal.id},
        )
        events.location_changed(
            session,
            customer.id,
            old=old,
            new=new,
            actor=Actor.of(principal),
            proposal_id=proposal.id,
        )
    session.flush()
    return proposal


def list_pending(
    session: Session, *, principal: Principal, limit: int = 50, offset: int = 0
) -> Page[tuple[LocationProposal, Customer]]:
    """Proposals waiting for a decision on the customers the caller may see, oldest first."""
    if principal.is_rep or principal.role is None:
        raise Forbidden("only a manager or an administrator approves location changes")
    stmt = (
        select(LocationProposal, Customer)
        .join(Customer, Customer.id == LocationProposal.customer_id)
        .where(
            LocationProposal.status == ProposalStatus.pending,
            Customer.id.in_(
                customer_repository.visible_customers(principal).with_only_columns(Customer.id)
            ),
        )
        .order_by(LocationProposal.created_at, LocationProposal.id)
    )
    return paginate(session, stmt, limit=limit, offset=offset)
