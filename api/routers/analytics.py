"""On-demand analytics: recompute a date range, compute any week's anomalies."""

from datetime import timedelta

from fastapi import APIRouter

from analytics import refresh
from api.deps import PrincipalDep, SessionDep
from api.schemas.analytics import ComputedOut, RecomputeIn, WeekIn
from sfa.errors import Forbidden
from sfa.users import repository as user_repository
from sfa.users.models import Role, User
from sfa.weeks import parse_week

router = APIRouter(prefix="/v1", tags=["analytics"])


def _rep_scope(session, principal) -> list[int] | None:
    """Admins compute for everyone, managers for the reps of their teams."""
    if principal.is_admin:
        return None
    if principal.role is not Role.manager:
        raise Forbidden("only managers and administrators compute analytics")
    stmt = user_repository.visible_users(principal).where(User.role == Role.rep)
    return [u.id for u in session.scalars(stmt)]


@router.post(
    "/analytics/recompute",
    response_model=ComputedOut,
    summary="Recompute flags, day/week aggregates and anomalies for a date range",
)
def recompute(session: SessionDep, principal: PrincipalDep, body: RecomputeIn):
    rep_ids = _rep_scope(session, principal)
    count = refresh.recompute(
        session, date_from=body.date_from, date_to=body.date_to, rep_ids=rep_ids
    )
    return ComputedOut(
        date_from=body.date_from,
        date_to=body.date_to,
        reps=None if rep_ids is None else len(rep_ids),
        anomalies=count,
    )


@router.post(
    "/weekly-anomalies/compute",
    response_model=ComputedOut,
    summary="Compute one ISO week's anomalies now (the Monday job does last week)",
)
def compute_week(session: SessionDep, principal: PrincipalDep, body: WeekIn):
    rep_ids = _rep_scope(session, principal)
    monday = parse_week(body.week)
    count = refresh.compute_week(session, week_start=monday, rep_ids=rep_ids)
    return ComputedOut(
        date_from=monday,
        date_to=monday + timedelta(days=6),
        reps=None if rep_ids is None else len(rep_ids),
        anomalies=count,
    )
