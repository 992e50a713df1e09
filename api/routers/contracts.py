"""Contracts, their renewal routing (CURE) and the company's renewal staff."""

from fastapi import APIRouter, Query, Response, status

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ReportFormat
from api.schemas.common import Day, Id, PageOut, Text
from api.schemas.contracts import (
    ContractCreate,
    ContractCsvRow,
    ContractOut,
    ContractUpdate,
    DecisionOut,
    RenewIn,
    StaffIn,
    StaffOut,
    StatusSpanOut,
)
from api.schemas.reports import Lang
from sfa.contracts import repository as contract_repository
from sfa.contracts import routing, staff
from sfa.contracts import service as contract_service
from sfa.contracts.models import ContractStatus
from sfa.contracts.roles import RenewalRole
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate

router = APIRouter(prefix="/v1", tags=["contracts"])
LangQuery = Query(Lang.en, description="language of the routing reasons")


def _out(session, contract, lang: Lang = Lang.en) -> ContractOut:
    return ContractOut.of(contract_service.details(session, [contract])[0], lang.value)


def _outs(session, contracts, lang: Lang) -> list[ContractOut]:
    return [ContractOut.of(d, lang.value) for d in contract_service.details(session, contracts)]


@router.get(
    "/contracts",
    response_model=PageOut[ContractOut],
    summary="Contracts visible to you (as their customers are), soonest end first",
    description="`format=csv`: every matching contract, one row each, with the routing "
    "reason in `lang`.",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_contracts(
    session: SessionDep,
    principal: PrincipalDep,
    status_: ContractStatus | None = Query(None, alias="status"),
    customer_id: Id | None = None,
    owner_id: Id | None = Query(None, description="the renewal's current owner"),
    team_id: Id | None = Query(None, description="the customer's team"),
    ending_before: Day | None = Query(None, description="end_date on or before"),
    q: Text | None = Query(None, max_length=100, description="matches the title"),
    lang: Lang = LangQuery,
    format: ReportFormat = ReportFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = contract_service.contracts_query(
        principal=principal,
        status=status_,
        customer_id=customer_id,
        owner_id=owner_id,
        team_id=team_id,
        ending_before=ending_before,
        q=q,
    )
    if format is ReportFormat.csv:
        # Each batch's roles, products and decisions are read together (a query each).
        batches = (
            [ContractCsvRow.of(out) for out in _outs(session, batch, lang)]
            for batch in each_batch(session, stmt)
        )
        return csv_export(ContractCsvRow, batches, "contracts.csv")
    page = paginate(session, stmt, limit=limit, offset=offset)
    outs = {out.id: out for out in _outs(session, page.items, lang)}
    return PageOut.of(page, lambda contract: outs[contract.id])


@router.post("/contracts", response_model=ContractOut, status_code=status.HTTP_201_CREATED)
def create_contract(session: SessionDep, principal: PrincipalDep, body: ContractCreate):
    contract = contract_service.create_contract(
        session, principal=principal, data=body.model_dump(exclude_unset=True)
    )
    return _out(session, contract)


@router.get("/contracts/{contract_id}", response_model=ContractOut)
def get_contract(
    session: SessionDep, principal: PrincipalDep, contract_id: Id, lang: Lang = LangQuery
):
    contract = contract_service.get_contract(session, principal=principal, contract_id=contract_id)
    return _out(session, contract, lang)


@router.patch("/contracts/{contract_id}", response_model=ContractOut)
def update_contract(
    session: SessionDep, principal: PrincipalDep, contract_id: Id, body: ContractUpdate
):
    contract = contract_service.update_contract(
        session,
        principal=principal,
        contract_id=contract_id,
        data=body.model_dump(exclude_unset=True),
    )
    return _out(session, contract)


@router.post(
    "/contracts/{contract_id}/route",
    response_model=DecisionOut,
    status_code=status.HTTP_201_CREATED,
    summary="Decide who owns the renewal now (CURE) and store the decision with its reasons",
    description="Contract size (ACV tiers), upsell potential, enterprise, then resources "
    "(the contract's own person in the role, else the holder with the fewest open "
    "renewals, else the fallback order). Settings `renewal_*`; docs/contracts.md.",
)
def route_contract(
    session: SessionDep, principal: PrincipalDep, contract_id: Id, lang: Lang = LangQuery
):
    decision = routing.route_renewal(session, principal=principal, contract_id=contract_id)
    return DecisionOut.of(decision, lang.value)


@router.get("/contracts/{contract_id}/decisions", response_model=list[DecisionOut])
def list_decisions(
    session: SessionDep, principal: PrincipalDep, contract_id: Id, lang: Lang = LangQuery
):
    contract_service.get_contract(session, principal=principal, contract_id=contract_id)
    return [
        DecisionOut.of(d, lang.value) for d in contract_repository.decisions(session, contract_id)
    ]


@router.get(
    "/contracts/{contract_id}/history",
    response_model=list[StatusSpanOut],
    summary="The contract's statuses, each with when it was entered and left",
)
def status_history(session: SessionDep, principal: PrincipalDep, contract_id: Id):
    contract_service.get_contract(session, principal=principal, contract_id=contract_id)
    return [StatusSpanOut.of(s) for s in contract_service.status_history(session, contract_id)]


@router.post(
    "/contracts/{contract_id}/renew",
    response_model=ContractOut,
    status_code=status.HTTP_201_CREATED,
    summary="Renew: create the successor contract (the renewal chain); safe to retry",
    responses={200: {"description": "already renewed: its successor", "model": ContractOut}},
)
def renew_contract(
    session: SessionDep,
    principal: PrincipalDep,
    contract_id: Id,
    response: Response,
    body: RenewIn | None = None,
):
    successor, created = contract_service.renew_contract(
        session,
        principal=principal,
        contract_id=contract_id,
        data=body.model_dump(exclude_unset=True) if body else {},
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return _out(session, successor)


@router.get(
    "/contract-staff",
    response_model=list[StaffOut],
    summary="Who holds a renewal role company-wide (CURE's candidates)",
)
def list_staff(session: SessionDep, principal: PrincipalDep):
    return [
        StaffOut.of(held, user) for held, user in staff.list_staff(session, principal=principal)
    ]


@router.post("/contract-staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
def add_staff(session: SessionDep, principal: PrincipalDep, body: StaffIn):
    held, user = staff.add_staff(session, principal=principal, user_id=body.user_id, role=body.role)
    return StaffOut.of(held, user)


@router.delete("/contract-staff/{staff_user_id}/{role}", status_code=status.HTTP_204_NO_CONTENT)
def remove_staff(
    session: SessionDep, principal: PrincipalDep, staff_user_id: Id, role: RenewalRole
):
    staff.remove_staff(session, principal=principal, user_id=staff_user_id, role=role)
