"""On-demand analytics: recompute a date range, compute any week's anomalies; the days
the refresh job parked after a failure."""

from datetime import timedelta

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, SessionDep
from api.schemas.analytics import ComputedOut, ParkedDayOut, RecomputeIn, WeekIn
from api.schemas.common import Day, Id, PageOut
from sfa.anomalies import service as anomaly_service
from sfa.errors import Forbidden
from sfa.limits import INT64_MAX
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
    count = anomaly_service.recompute(
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
    count = anomaly_service.compute_week(session, week_start=monday, rep_ids=rep_ids)
    return ComputedOut(
        date_from=monday,
        date_to=monday + timedelta(days=6),
        reps=None if rep_ids is None else len(rep_ids),
        anomalies=count,
    )


@router.get(
    "/analytics/parked-days",
    response_model=PageOut[ParkedDayOut],
    summary="Rep-days the refresh job failed on, set aside with the reason (admin)",
    description=(
        "One failing day never stops the minute job for the others: it is parked here "
        "until new data arrives for it or an administrator retries it."
    ),
)
def parked_days(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page = anomaly_service.list_parked_days(
        session, principal=principal, limit=limit, offset=offset
    )
    return PageOut[ParkedDayOut].of(page, lambda item: ParkedDayOut(**vars(item)))


@router.post(
    "/analytics/parked-days/{rep_id}/{day}/retry",
    status_code=204,
    summary="Put a parked rep-day back on the refresh job's queue (admin)",
)
def retry_parked_day(session: SessionDep, principal: PrincipalDep, rep_id: Id, day: Day):
    anomaly_service.retry_parked_day(session, principal=principal, rep_id=rep_id, day=day)
