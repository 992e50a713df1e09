from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.bodies import json_body, request_body_doc
from api.csv_export import csv_export
from api.deps import (
    LoopPrincipalDep,
    LoopSessionDep,
    PrincipalDep,
    SessionDep,
    exports_from_replica,
)
from api.formats import CSV_RESPONSES, ListFormat
from api.schemas.common import Day, Id, PageOut
from api.schemas.visits import (
    CheckInIn,
    CheckOutIn,
    LocationProposalIn,
    LocationProposalOut,
    VisitOut,
)
from sfa.customers import locations
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate
from sfa.visits import repository as visit_repository
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn

router = APIRouter(prefix="/v1", tags=["visits"])

# Read after authentication, strictly typed (api/bodies.py).
CheckInBody = Annotated[CheckInIn, json_body(CheckInIn, LoopPrincipalDep)]
CheckOutBody = Annotated[CheckOutIn, json_body(CheckOutIn, PrincipalDep)]
ProposalBody = Annotated[LocationProposalIn, json_body(LocationProposalIn, PrincipalDep)]


def visit_out(session, visit) -> VisitOut:
    return VisitOut.of(visit, visit_repository.flags_for(session, [visit.id])[visit.id])


def visits_out(session, visits: list) -> list[VisitOut]:
    """Visits with their flags, read in one query."""
    flags = visit_repository.flags_for(session, [v.id for v in visits])
    return [VisitOut.of(v, flags[v.id]) for v in visits]


@router.post(
    "/visits/check-in",
    response_model=VisitOut,
    status_code=status.HTTP_201_CREATED,
    summary="Check in at a customer (idempotent by client_id)",
    openapi_extra=request_body_doc(CheckInIn),
    responses={
        200: {"description": "replay of a check-in already stored", "model": VisitOut},
        409: {"description": "client_id reused with different content"},
    },
)
async def check_in(
    session: LoopSessionDep,
    principal: LoopPrincipalDep,
    body: CheckInBody,
    response: Response,
):
    # On the event loop (api.deps.session_dependency): the hottest write of the API.
    visit, created, flags = visit_service.check_in_with_flags(
        session,
        principal=principal,
        data=CheckIn(
            client_id=body.client_id,
            customer_id=body.customer_id,
            position=body.position(),
            device_id=body.device_id,
            planned_visit_id=body.planned_visit_id,
            sent_at=body.sent_at,
        ),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    if flags is None:
        return visit_out(session, visit)
    # A new visit's flags are the ones check-in just wrote: no need to read them back.
    return VisitOut.of(visit, flags)


@router.post(
    "/visits/{visit_id}/check-out",
    response_model=VisitOut,
    summary="Check out of a visit (idempotent: the same body may be resent)",
    openapi_extra=request_body_doc(CheckOutIn),
)
def check_out(
    session: SessionDep,
    principal: PrincipalDep,
    visit_id: Id,
    body: CheckOutBody,
):
    visit, _ = visit_service.check_out(
        session, principal=principal, visit_id=visit_id, position=body.position()
    )
    return visit_out(session, visit)


@router.get(
    "/visits",
    response_model=PageOut[VisitOut],
    summary="Visits visible to you",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_visits(
    session: SessionDep,
    principal: PrincipalDep,
    rep_id: Id | None = None,
    customer_id: Id | None = None,
    date_from: Day | None = None,
    date_to: Day | None = None,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = visit_service.visits_query(
        principal=principal,
        rep_id=rep_id,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
    )
    if format is ListFormat.csv:
        batches = (visits_out(session, batch) for batch in each_batch(session, stmt))
        return csv_export(VisitOut, batches, "visits.csv")
    page = paginate(session, stmt, limit=limit, offset=offset)
    flags = visit_repository.flags_for(session, [v.id for v in page.items])
    return PageOut.of(page, lambda v: VisitOut.of(v, flags[v.id]))


@router.get("/visits/{visit_id}", response_model=VisitOut)
def get_visit(session: SessionDep, principal: PrincipalDep, visit_id: Id):
    return visit_out(
        session, visit_service.get_visit(session, principal=principal, visit_id=visit_id)
    )


@router.get(
    "/customers/{customer_id}/location-proposals",
    response_model=list[LocationProposalOut],
    tags=["customers"],
    summary="Location history and pending proposals of a customer",
)
def list_proposals(session: SessionDep, principal: PrincipalDep, customer_id: Id):
    return [
        LocationProposalOut.of(p)
        for p in locations.list_proposals(session, principal=principal, customer_id=customer_id)
    ]


@router.post(
    "/customers/{customer_id}/location-proposals",
    response_model=LocationProposalOut,
    status_code=status.HTTP_201_CREATED,
    tags=["customers"],
    summary="Propose a new location for a customer (a manager decides)",
    openapi_extra=request_body_doc(LocationProposalIn),
)
def propose_location(
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: Id,
    body: ProposalBody,
):
    return LocationProposalOut.of(
        locations.propose(
            session,
            principal=principal,
            customer_id=customer_id,
            lat=body.lat,
            lon=body.lon,
            accuracy_m=body.accuracy_m,
            note=body.note,
            visit_id=body.visit_id,
        )
    )


@router.post(
    "/customers/{customer_id}/location-proposals/{proposal_id}/approve",
    response_model=LocationProposalOut,
    tags=["customers"],
)
def approve_location(
    session: SessionDep, principal: PrincipalDep, customer_id: Id, proposal_id: Id
):
    return LocationProposalOut.of(
        locations.decide(
            session,
            principal=principal,
            customer_id=customer_id,
            proposal_id=proposal_id,
            approve=True,
        )
    )


@router.post(
    "/customers/{customer_id}/location-proposals/{proposal_id}/reject",
    response_model=LocationProposalOut,
    tags=["customers"],
)
def reject_location(session: SessionDep, principal: PrincipalDep, customer_id: Id, proposal_id: Id):
    return LocationProposalOut.of(
        locations.decide(
            session,
            principal=principal,
            customer_id=customer_id,
            proposal_id=proposal_id,
            approve=False,
        )
    )
