"""Pulse surveys: a manager schedules one for a team; its reps answer once per period.

Anonymity (docs/pipeline.md): an answer is stored without its author or a timestamp,
under a random id; that a rep answered is stored apart, without the answer. Managers see
results only for a team and period with at least `survey_min_group_size` answers.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.errors import Conflict, Forbidden, NotFound
from sfa.pagination import Page, paginate
from sfa.surveys import periods, questions
from sfa.surveys.models import Cadence, Participation, Response, Survey
from sfa.users import repository as user_repository
from sfa.users.models import User


def company_today(session: Session) -> date:
    return datetime.now(UTC).astimezone(company_service.get_company_settings(session).tz).date()


def _visible(principal: Principal):
    stmt = select(Survey)
    if principal.team_ids is not None:
        stmt = stmt.where(Survey.team_id.in_(principal.team_ids))
    return stmt


def get_survey(session: Session, *, principal: Principal, survey_id: int) -> Survey:
    principal.require("surveys:read")
    return get_visible_or_raise(_get_visible, session, principal, survey_id, what="survey")


def _get_visible(session: Session, principal: Principal, survey_id: int) -> Survey | None:
    return session.scalar(_visible(principal).where(Survey.id == survey_id))


def list_surveys(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[Survey]:
    principal.require("surveys:read")
    stmt = _visible(principal)
    if team_id is not None:
        stmt = stmt.where(Survey.team_id == team_id)
    return paginate(session, stmt.order_by(Survey.id), limit=limit, offset=offset)


def _snapshot(survey: Survey) -> dict:
    return {
        "team_id": survey.team_id,
        "title": survey.title,
        "cadence": str(survey.cadence),
        "questions": survey.questions,
        "starts_on": survey.starts_on.isoformat(),
        "active": survey.active,
    }


def create_survey(session: Session, *, principal: Principal, data: dict) -> Survey:
    principal.require("surveys:write")
    get_visible_or_raise(
        user_repository.get_visible_team, session, principal, data["team_id"], what="team"
    )
    checked = questions.normalise(data["questions"])
    survey = Survey(
        team_id=data["team_id"],
        title=data["title"],
        cadence=Cadence(data["cadence"]),
        questions=checked,
        enps_key=questions.enps_key(checked),
        starts_on=data.get("starts_on") or company_today(session),
        active=data.get("active", True),
        created_by=principal.user_id,
    )
    session.add(survey)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="survey",
        entity_id=survey.id,
        action="create",
        new=_snapshot(survey),
    )
    return survey


def update_survey(session: Session, *, principal: Principal, survey_id: int, data: dict) -> Survey:
    principal.require("surveys:write")
    survey = get_survey(session, principal=principal, survey_id=survey_id)
    before = _snapshot(survey)
    if "questions" in data:
        answered = session.scalar(
            select(func.count()).select_from(Response).where(Response.survey_id == survey.id)
        )
        if answered:
            raise Conflict(
                "the survey has answers: its questions can no longer change",
                hint="deactivate it (active=false) and schedule a new survey",
            )
        survey.questions = questions.normalise(data["questions"])
        survey.enps_key = questions.enps_key(survey.questions)
    for field in ("title", "active", "starts_on"):
        if field in data:
            setattr(survey, field, data[field])
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="survey",
        entity_id=survey.id,
        action="update",
        old=before,
        new=_snapshot(survey),
    )
    return survey


# --- the rep's side ---------------------------------------------------------------------


@dataclass(frozen=True)
class OpenSurvey:
    survey: Survey
    period: str
    answered: bool


def _rep(session: Session, principal: Principal) -> User:
    if not principal.is_rep:
        raise Forbidden("only reps answer pulse surveys", hint="managers read the results")
    principal.require("surveys:answer")
    rep = session.get(User, principal.id)
    if rep is None:  # a token outliving its user is refused before this
        raise NotFound(f"user {principal.id} does not exist")
    return rep


def my_surveys(session: Session, *, principal: Principal) -> list[OpenSurvey]:
    """The active surveys of the rep's team, with the current period and whether the
    rep has answered it."""
    rep = _rep(session, principal)
    today = company_today(session)
    found = session.scalars(
        select(Survey)
        .where(Survey.team_id == rep.team_id, Survey.active.is_(True), Survey.starts_on <= today)
        .order_by(Survey.id)
    )
    result = []
    for survey in found:
        period = periods.label(survey.cadence, today)
        done = session.get(Participation, (survey.id, period, rep.id)) is not None
        result.append(OpenSurvey(survey, period, done))
    return result


def answer(session: Session, *, principal: Principal, survey_id: int, answers: dict) -> OpenSurvey:
    rep = _rep(session, principal)
    today = company_today(session)
    survey = session.get(Survey, survey_id)
    if survey is None or survey.team_id != rep.team_id:
        raise NotFound(f"survey {survey_id} does not exist or is not for your team")
    if not survey.active or survey.starts_on > today:
        raise Conflict(f"survey {survey_id} is not open", hint="GET /v1/me/surveys lists open ones")
    checked = questions.check_answers(survey.questions, answers)
    period = periods.label(survey.cadence, today)
    try:
        with session.begin_nested():
            session.add(Participation(survey_id=survey.id, period=period, user_id=rep.id))
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"you have already answered this survey for {period}",
            hint="each rep answers once per period; answers cannot be changed (they are "
            "anonymous, so nobody can tell which one was yours)",
        ) from None
    session.add(
        Response(survey_id=survey.id, period=period, team_id=survey.team_id, answers=checked)
    )
    session.flush()
    return OpenSurvey(survey, period, True)


def check_period(survey: Survey, period: str | None, today: date) -> str:
    if period is None:
        return periods.label(survey.cadence, today)
    periods.first_day(survey.cadence, period)
    return period


def responses(session: Session, survey: Survey, period: str) -> list[dict]:
    return list(
        session.scalars(
            select(Response.answers).where(
                Response.survey_id == survey.id, Response.period == period
            )
        )
    )
