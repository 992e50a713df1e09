"""Targets: visits and sales a manager sets per rep and period, and their progress. The
daily progress note (rule 5) is the job target-progress emitting `target.progress`
(sfa/notifications/events.py) and the built-in workflow target-progress sending it.

Progress: visits = the rep's visits whose company-local day is in the period; sales =
net amount of the rep's orders from `approved` to `paid` submitted in the period.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.errors import Conflict, Forbidden, InvalidInput
from sfa.notifications import repository
from sfa.notifications.models import Target
from sfa.pagination import Page, paginate
from sfa.users import repository as user_repository
from sfa.users.models import Role


@dataclass(frozen=True)
class Progress:
    target: Target
    visits_done: int
    sales_done: Decimal
    days_total: int
    days_elapsed: int  # including `today`, within the period

    @property
    def visits_pct(self) -> float:
        return _pct(Decimal(self.visits_done), Decimal(self.target.visits_target))

    @property
    def sales_pct(self) -> float:
        return _pct(self.sales_done, self.target.sales_target)


def _pct(done: Decimal, target: Decimal) -> float:
    return round(float(done / target * 100), 1) if target else 100.0


def create_target(
    session: Session,
    *,
    principal: Principal,
    rep_id: int,
    period_start: date,
    period_end: date,
    visits_target: int,
    sales_target: Decimal,
) -> Target:
    principal.require("plans:write")
    if principal.is_rep:
        raise Forbidden("reps cannot set targets", hint="ask your manager")
    if period_end < period_start:
        raise InvalidInput("period_end is before period_start")
    rep = get_visible_or_raise(
        user_repository.get_visible_user, session, principal, rep_id, what="user"
    )
    if rep.role is not Role.rep:
        raise InvalidInput(f"user {rep_id} is not a rep", hint="targets are set for reps")
    target = Target(
        rep_id=rep_id,
        period_start=period_start,
        period_end=period_end,
        visits_target=visits_target,
        sales_target=sales_target,
        created_by=principal.user_id,
    )
    try:
        with session.begin_nested():
            session.add(target)
    except IntegrityError as exc:
        raise Conflict(
            f"rep {rep_id} already has a target for {period_start} to {period_end}",
            hint="GET /v1/targets?rep_id= lists it",
        ) from exc
    return target


def list_targets(
    session: Session, *, principal: Principal, rep_id: int | None, limit: int, offset: int
) -> Page[Target]:
    principal.require("plans:read")
    stmt = repository.visible_targets(principal)
    if rep_id is not None:
        stmt = stmt.where(Target.rep_id == rep_id)
    return paginate(
        session, stmt.order_by(Target.period_start.desc(), Target.id), limit=limit, offset=offset
    )


def get_target(session: Session, *, principal: Principal, target_id: int) -> Target:
    principal.require("plans:read")
    return get_visible_or_raise(
        repository.get_visible_target, session, principal, target_id, what="target"
    )


def progress(session: Session, *, target: Target, today: date | None = None) -> Progress:
    settings = company_service.get_company_settings(session)
    today = today or datetime.now(UTC).astimezone(settings.tz).date()
    days_total = (target.period_end - target.period_start).days + 1
    elapsed = min(max((today - target.period_start).days + 1, 0), days_total)
    return Progress(
        target=target,
        visits_done=repository.visits_in_period(
            session, rep_id=target.rep_id, start=target.period_start, end=target.period_end
        ),
        sales_done=Decimal(
            repository.sales_in_period(
                session,
                rep_id=target.rep_id,
                start=target.period_start,
                end=target.period_end,
                timezone=settings.timezone,
            )
        ),
        days_total=days_total,
        days_elapsed=elapsed,
    )
