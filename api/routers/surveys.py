"""Pulse surveys: managers schedule them for a team; reps answer at /v1/me/surveys."""

from fastapi import APIRouter, Query, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, PageOut, Text
from api.schemas.surveys import (
    AnswersIn,
    MySurveyOut,
    SurveyCreate,
    SurveyOut,
    SurveyResultsOut,
    SurveyUpdate,
)
from sfa.limits import INT64_MAX
from sfa.surveys import results
from sfa.surveys import service as survey_service

router = APIRouter(prefix="/v1", tags=["surveys"])


@router.get("/surveys", response_model=PageOut[SurveyOut], summary="Surveys of your teams")
def list_surveys(
    session: SessionDep,
    principal: PrincipalDep,
    team_id: Id | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page = survey_service.list_surveys(
        session, principal=principal, team_id=team_id, limit=limit, offset=offset
    )
    return PageOut.of(page, SurveyOut.of)


@router.post(
    "/surveys",
    response_model=SurveyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Schedule a pulse survey (at most 10 questions) for a team you lead",
)
def create_survey(session: SessionDep, principal: PrincipalDep, body: SurveyCreate):
    data = body.model_dump(exclude_unset=True)
    data["questions"] = [q.model_dump(exclude_none=True) for q in body.questions]
    return SurveyOut.of(survey_service.create_survey(session, principal=principal, data=data))


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
def get_survey(session: SessionDep, principal: PrincipalDep, survey_id: Id):
    return SurveyOut.of(
        survey_service.get_survey(session, principal=principal, survey_id=survey_id)
    )


@router.patch("/surveys/{survey_id}", response_model=SurveyOut)
def update_survey(session: SessionDep, principal: PrincipalDep, survey_id: Id, body: SurveyUpdate):
    data = body.model_dump(exclude_unset=True)
    if body.questions is not None:
        data["questions"] = [q.model_dump(exclude_none=True) for q in body.questions]
    return SurveyOut.of(
        survey_service.update_survey(session, principal=principal, survey_id=survey_id, data=data)
    )


@router.get(
    "/surveys/{survey_id}/results",
    response_model=SurveyResultsOut,
    summary="Anonymous results of a period (hidden below the minimum group size)",
)
def survey_results(
    session: SessionDep,
    principal: PrincipalDep,
    survey_id: Id,
    period: Text | None = Query(None, max_length=10, description="default: the current one"),
):
    return results.survey_results(session, principal=principal, survey_id=survey_id, period=period)


@router.get(
    "/me/surveys",
    response_model=list[MySurveyOut],
    summary="Your team's open surveys, with the period to answer and whether you have",
)
def my_surveys(session: SessionDep, principal: PrincipalDep):
    return [MySurveyOut.of(o) for o in survey_service.my_surveys(session, principal=principal)]


@router.post(
    "/me/surveys/{survey_id}/responses",
    response_model=MySurveyOut,
    status_code=status.HTTP_201_CREATED,
    summary="Answer a survey for the current period (once; stored without your name)",
)
def answer_survey(session: SessionDep, principal: PrincipalDep, survey_id: Id, body: AnswersIn):
    return MySurveyOut.of(
        survey_service.answer(
            session, principal=principal, survey_id=survey_id, answers=body.answers
        )
    )
