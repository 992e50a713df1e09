"""Pipelines (company configuration), leads and opportunities, and their stage moves."""

from fastapi import APIRouter, Query, Response, status

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ReportFormat
from api.schemas.common import Id, PageOut, Text
from api.schemas.pipeline import (
    MoveIn,
    MoveOut,
    OpportunityCreate,
    OpportunityOut,
    OpportunityUpdate,
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    StageSpanOut,
)
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate
from sfa.pipeline import moves, pipelines
from sfa.pipeline import service as opportunity_service
from sfa.pipeline.models import OpportunityKind, StageOutcome

router = APIRouter(prefix="/v1", tags=["pipeline"])


@router.get("/pipelines", response_model=list[PipelineOut], summary="Pipelines and their stages")
def list_pipelines(session: SessionDep, principal: PrincipalDep):
    return [PipelineOut.of(p, s) for p, s in pipelines.list_pipelines(session, principal=principal)]


@router.post(
    "/pipelines",
    response_model=PipelineOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a pipeline (admin): stages in order, open ones first, then won and lost",
)
def create_pipeline(session: SessionDep, principal: PrincipalDep, body: PipelineCreate):
    pipeline, stages = pipelines.create_pipeline(
        session, principal=principal, data=body.model_dump(mode="json")
    )
    return PipelineOut.of(pipeline, stages)


@router.get("/pipelines/{pipeline_id}", response_model=PipelineOut)
def get_pipeline(session: SessionDep, principal: PrincipalDep, pipeline_id: Id):
    return PipelineOut.of(
        *pipelines.get_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    )


@router.patch(
    "/pipelines/{pipeline_id}",
    response_model=PipelineOut,
    summary="Rename, make default, or edit the stages (admin)",
    description="`stages` is the whole new list in order: stages given with their `id` are "
    "kept (renamed, re-ordered, re-weighted), new ones added, missing ones removed — "
    "refused (409) for a stage any opportunity has ever been in.",
)
def update_pipeline(
    session: SessionDep, principal: PrincipalDep, pipeline_id: Id, body: PipelineUpdate
):
    pipeline, stages = pipelines.update_pipeline(
        session,
        principal=principal,
        pipeline_id=pipeline_id,
        data=body.model_dump(mode="json", exclude_unset=True),
    )
    return PipelineOut.of(pipeline, stages)


@router.get(
    "/opportunities",
    response_model=PageOut[OpportunityOut],
    summary="Leads and opportunities visible to you (a rep: their own)",
    description="`format=csv`: every matching one.",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_opportunities(
    session: SessionDep,
    principal: PrincipalDep,
    pipeline_id: Id | None = None,
    stage_id: Id | None = None,
    owner_id: Id | None = None,
    team_id: Id | None = None,
    customer_id: Id | None = None,
    kind: OpportunityKind | None = None,
    outcome: StageOutcome | None = Query(None, description="open, won or lost"),
    q: Text | None = Query(None, max_length=100, description="matches title or prospect"),
    format: ReportFormat = ReportFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = opportunity_service.opportunities_query(
        principal=principal,
        pipeline_id=pipeline_id,
        stage_id=stage_id,
        owner_id=owner_id,
        team_id=team_id,
        customer_id=customer_id,
        kind=kind,
        outcome=outcome,
        q=q,
    )

    def out(opportunity) -> OpportunityOut:
        return OpportunityOut.of(opportunity_service.view(session, opportunity))

    if format is ReportFormat.csv:
        return csv_export(OpportunityOut, each_batch(session, stmt), "opportunities.csv", out)
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), out)


@router.post(
    "/opportunities",
    response_model=OpportunityOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a lead or opportunity (idempotent by client_id)",
    responses={200: {"description": "replay of one already stored", "model": OpportunityOut}},
)
def create_opportunity(
    session: SessionDep, principal: PrincipalDep, body: OpportunityCreate, response: Response
):
    opportunity, created = opportunity_service.create_opportunity(
        session, principal=principal, data=body.model_dump(exclude_unset=True)
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    return OpportunityOut.of(opportunity_service.view(session, opportunity))


@router.get("/opportunities/{opportunity_id}", response_model=OpportunityOut)
def get_opportunity(session: SessionDep, principal: PrincipalDep, opportunity_id: Id):
    opportunity = opportunity_service.get_opportunity(
        session, principal=principal, opportunity_id=opportunity_id
    )
    return OpportunityOut.of(opportunity_service.view(session, opportunity))


@router.patch(
    "/opportunities/{opportunity_id}",
    response_model=OpportunityOut,
    description="Everything but the stage: stages change through POST .../move.",
)
def update_opportunity(
    session: SessionDep, principal: PrincipalDep, opportunity_id: Id, body: OpportunityUpdate
):
    opportunity = opportunity_service.update_opportunity(
        session,
        principal=principal,
        opportunity_id=opportunity_id,
        data=body.model_dump(exclude_unset=True),
    )
    return OpportunityOut.of(opportunity_service.view(session, opportunity))


@router.post(
    "/opportunities/{opportunity_id}/move",
    response_model=MoveOut,
    status_code=status.HTTP_201_CREATED,
    summary="Move to a stage (written to the stage history; late moves are put in place)",
    description="`at` is when the move happened (default now): a move that arrives after "
    "later ones is inserted where it belongs, so the history stays complete. Moving to a "
    "lost stage needs `lost_reason`. 200 when nothing new was recorded (a replay of the "
    "same `client_id`, or the deal was already in that stage at that time).",
    responses={200: {"description": "nothing new recorded", "model": MoveOut}},
)
def move_opportunity(
    session: SessionDep,
    principal: PrincipalDep,
    opportunity_id: Id,
    body: MoveIn,
    response: Response,
):
    move = moves.move_opportunity(
        session,
        principal=principal,
        opportunity_id=opportunity_id,
        stage_id=body.stage_id,
        at=body.at,
        client_id=body.client_id,
        lost_reason=body.lost_reason,
    )
    if not move.recorded:
        response.status_code = status.HTTP_200_OK
    return MoveOut(
        opportunity=OpportunityOut.of(opportunity_service.view(session, move.opportunity)),
        span=StageSpanOut.of(move.span),
        from_stage_id=move.from_stage_id,
        recorded=move.recorded,
        current=move.current,
    )


@router.get(
    "/opportunities/{opportunity_id}/history",
    response_model=list[StageSpanOut],
    summary="Every stay in a stage, in time order: entered, left, by whom",
)
def stage_history(session: SessionDep, principal: PrincipalDep, opportunity_id: Id):
    return [
        StageSpanOut.of(s)
        for s in moves.history(session, principal=principal, opportunity_id=opportunity_id)
    ]
