"""Journey plans, planned visits, their fulfilment by check-ins, and the visit rate.

A journey plan is a recurring weekly pattern (this rep visits this customer on this ISO
weekday, every N weeks counted from an anchor week). Expansion turns it into dated
planned visits (source "journey"); managers also plan single visits (source "adhoc").
A check-in by the rep at the planned customer on the planned company-local day fulfils
the planned visit. The visit rate is fulfilled / planned per day or ISO week.

Who may do what: managers plan for the active reps of the teams they lead, admins (and
API keys with 'plans:write') for every rep; reps read their own plans, managers their
teams'. A plan's customer must be in the rep's team territory.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.customers import repository as customer_repository
from sfa.errors import Conflict, Forbidden, InvalidInput
from sfa.plans import repository
from sfa.plans.models import JourneyPlan, PlannedVisit
from sfa.users import repository as user_repository
from sfa.users.models import User
from sfa.visits.models import Visit
from sfa.weeks import monday

log = logging.getLogger("sfa.plans")

# The scheduler keeps this many days (today included) expanded ahead.
EXPAND_DAYS = 14
# Longest range one expansion or one visit-rate report may cover.
MAX_RANGE_DAYS = 366
# How far ahead a single visit may be planned.
MAX_PLAN_AHEAD_DAYS = 366

_PLAN_FIELDS = (
    "rep_id",
    "customer_id",
    "weekday",
    "every_n_weeks",
    "anchor_week",
    "valid_from",
    "valid_to",
)
_REQUIRED_PLAN_FIELDS = ("rep_id", "customer_id", "weekday", "anchor_week", "valid_from")


class RatePeriod(NamedTuple):
    """One day or ISO week of a rep's visit rate; rate is None when nothing was planned."""

    period_start: date
    planned: int
    done: int
    rate: float | None


@dataclass(frozen=True)
class ExpandResult:
    date_from: date
    date_to: date
    created: int  # new planned visits
    linked: int  # planned visits fulfilled by check-ins stored before them


def company_today(session: Session, now: datetime | None = None) -> date:
    """Today in the company's time zone (a "day" always means the company's day)."""
    settings = company_service.get_company_settings(session)
    return (now or datetime.now(UTC)).astimezone(settings.tz).date()


def _check_range(date_from: date, date_to: date, what: str) -> None:
    if date_from > date_to:
        raise InvalidInput(
            f"date_from {date_from} is after date_to {date_to}", hint="send date_from <= date_to"
        )
    days = (date_to - date_from).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(
            f"{what} covers {days} days; at most {MAX_RANGE_DAYS} are allowed",
            hint="split the range into shorter ones",
        )


def _plan_snapshot(plan: JourneyPlan) -> dict:
    return {
        f: (v.isoformat() if isinstance(v := getattr(plan, f), date) else v) for f in _PLAN_FIELDS
    }


def _planned_snapshot(planned: PlannedVisit) -> dict:
    return {
        "rep_id": planned.rep_id,
        "customer_id": planned.customer_id,
        "day": planned.day.isoformat(),
        "source": planned.source,
        "journey_plan_id": planned.journey_plan_id,
        "visit_id": planned.visit_id,
    }


def _require_planner(principal: Principal) -> None:
    principal.require("plans:write")
    if principal.is_rep:
        raise Forbidden("reps do not plan their own visits", hint="ask your manager")


def _visible_rep(session: Session, principal: Principal, rep_id: int) -> User:
    return get_visible_or_raise(
        user_repository.get_visible_rep,
        session,
        principal,
        rep_id,
        what="rep",
        hint="GET /v1/users?role=rep lists the reps you may plan for",
    )


def _check_assignment(
    session: Session, principal: Principal, rep_id: int, customer_id: int
) -> None:
    """The rep is an active rep the principal plans for; the customer is in their territory."""
    rep = _visible_rep(session, principal, rep_id)
    if not rep.is_active:
        raise InvalidInput(f"rep {rep_id} is deactivated", hint="plan visits for an active rep")
    customer = get_visible_or_raise(
        customer_repository.get_visible, session, principal, customer_id, what="customer"
    )
    if rep.team_id is None or customer.team_id != rep.team_id:
        raise InvalidInput(
            f"customer {customer_id} is not in the territory of rep {rep_id}'s team",
            hint="plan customers whose team_id is the rep's team, or move the customer first",
        )


def check_plan(plan: JourneyPlan) -> None:
    """Rules on the merged plan (a PATCH may change one side of a pair)."""
    for field in (*_REQUIRED_PLAN_FIELDS, "every_n_weeks"):
        if getattr(plan, field) is None:
            raise InvalidInput(f"{field} is required and cannot be null")
    if not 1 <= plan.weekday <= 7:
        raise InvalidInput(
            f"weekday must be an ISO weekday 1 (Monday) .. 7 (Sunday), got {plan.weekday}"
        )
    if not 1 <= plan.every_n_weeks <= 52:
        raise InvalidInput(f"every_n_weeks must be between 1 and 52, got {plan.every_n_weeks}")
    if plan.anchor_week.isoweekday() != 1:
        raise InvalidInput(
            f"anchor_week {plan.anchor_week} is a {plan.anchor_week:%A}, not a Monday",
            hint=f"send the Monday of that week: {monday(plan.anchor_week)}",
        )
    if plan.valid_to is not None and plan.valid_to < plan.valid_from:
        raise InvalidInput(
            f"valid_to {plan.valid_to} is before valid_from {plan.valid_from}",
            hint="send valid_to >= valid_from, or null for no end",
        )


# --- journey plans -------------------------------------------------------------------


def get_plan(session: Session, *, principal: Principal, plan_id: int) -> JourneyPlan:
    principal.require("plans:read")
    return get_visible_or_raise(
        repository.get_visible_plan, session, principal, plan_id, what="journey plan"
    )


def plans_query(
    session: Session,
    *,
    principal: Principal,
    rep_id: int | None = None,
    customer_id: int | None = None,
    active: bool | None = None,
) -> Select:
    """Visible journey plans (for `paginate` or an export). `active`: True for plans not
    ended today (including ones starting later)."""
    principal.require("plans:read")
    return repository.filter_plans(
        repository.visible_plans(principal),
        rep_id=rep_id,
        customer_id=customer_id,
        active=active,
        active_on=company_today(session) if active is not None else None,
    )


def plan_is_active(plan: JourneyPlan, today: date) -> bool:
    return plan.valid_to is None or plan.valid_to >= today


def _expand_plan_ahead(
    session: Session, plan_id: int, today: date, until: date | None = None
) -> int:
    last = today + timedelta(days=EXPAND_DAYS - 1)
    return expand_plans(
        session, date_from=today, date_to=max(last, until or last), plan_ids=[plan_id]
    )


def create_plan(session: Session, *, principal: Principal, data: dict) -> JourneyPlan:
    """Creates the plan and expands it over the upcoming days (today included) right away."""
    _require_planner(principal)
    plan = JourneyPlan(**{f: data.get(f) for f in _PLAN_FIELDS})
    if plan.every_n_weeks is None:
        plan.every_n_weeks = 1
    check_plan(plan)
    _check_assignment(session, principal, plan.rep_id, plan.customer_id)
    session.add(plan)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="journey_plan",
        entity_id=plan.id,
        action="create",
        new=_plan_snapshot(plan),
    )
    _expand_plan_ahead(session, plan.id, company_today(session))
    return plan


def update_plan(session: Session, *, principal: Principal, plan_id: int, data: dict) -> JourneyPlan:
    """Past and fulfilled occurrences stay; open ones from today on are re-expanded."""
    _require_planner(principal)
    plan = get_plan(session, principal=principal, plan_id=plan_id)
    before = _plan_snapshot(plan)
    unknown = sorted(set(data) - set(_PLAN_FIELDS))
    if unknown:
        raise InvalidInput(f"unknown field(s): {', '.join(unknown)}")
    for field, value in data.items():
        setattr(plan, field, value)
    check_plan(plan)
    if "rep_id" in data or "customer_id" in data:
        _check_assignment(session, principal, plan.rep_id, plan.customer_id)
    session.flush()
    if _plan_snapshot(plan) == before:
        return plan
    today = company_today(session)
    removed = repository.delete_open_occurrences(session, plan_id=plan.id, from_day=today)
    _expand_plan_ahead(session, plan.id, today, max(removed, default=None))
    audit_service.record(
        session,
        actor=principal.actor,
        entity="journey_plan",
        entity_id=plan.id,
        action="update",
        old=before,
        new=_plan_snapshot(plan),
    )
    return plan


@dataclass(frozen=True)
class Deactivation:
    plan: JourneyPlan
    deleted: bool  # the plan had not started: it is removed instead of ended
    removed_planned_visits: int


def deactivate_plan(session: Session, *, principal: Principal, plan_id: int) -> Deactivation:
    """End the plan yesterday (company day): its open occurrences from today on are
    removed; past and fulfilled ones stay as history. A plan that has not started yet
    (valid_from today or later) has no history and is deleted."""
    _require_planner(principal)
    plan = get_plan(session, principal=principal, plan_id=plan_id)
    before = _plan_snapshot(plan)
    today = company_today(session)
    removed = repository.delete_open_occurrences(session, plan_id=plan.id, from_day=today)
    yesterday = today - timedelta(days=1)
    if plan.valid_from > yesterday:
        session.delete(plan)
        session.flush()
        audit_service.record(
            session,
            actor=principal.actor,
            entity="journey_plan",
            entity_id=plan_id,
            action="delete",
            old=before,
        )
        return Deactivation(plan, True, len(removed))
    if plan.valid_to is None or plan.valid_to > yesterday:
        plan.valid_to = yesterday
        session.flush()
        audit_service.record(
            session,
            actor=principal.actor,
            entity="journey_plan",
            entity_id=plan_id,
            action="deactivate",
            old=before,
            new=_plan_snapshot(plan),
        )
    return Deactivation(plan, False, len(removed))


# --- planned visits ------------------------------------------------------------------


def get_planned_visit(
    session: Session, *, principal: Principal, planned_visit_id: int
) -> PlannedVisit:
    principal.require("plans:read")
    return get_visible_or_raise(
        repository.get_visible_planned_visit,
        session,
        principal,
        planned_visit_id,
        what="planned visit",
    )


def planned_visits_query(
    *,
    principal: Principal,
    rep_id: int | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    done: bool | None = None,
    source: str | None = None,
) -> Select:
    """Visible planned visits by day (for `paginate` or an export)."""
    principal.require("plans:read")
    if date_from is not None and date_to is not None and date_from > date_to:
        raise InvalidInput(f"date_from {date_from} is after date_to {date_to}")
    return repository.filter_planned_visits(
        repository.visible_planned_visits(principal),
        rep_id=rep_id,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
        done=done,
        source=source,
    )


def create_planned_visit(
    session: Session, *, principal: Principal, rep_id: int, customer_id: int, day: date
) -> PlannedVisit:
    """Plan one visit (source "adhoc"), today or later. A check-in already stored for
    that rep, customer and day fulfils it at once."""
    _require_planner(principal)
    today = company_today(session)
    if day < today:
        raise InvalidInput(
            f"day {day} is in the past (today is {today})", hint="plan visits for today or later"
        )
    if day > today + timedelta(days=MAX_PLAN_AHEAD_DAYS):
        raise InvalidInput(f"day {day} is more than {MAX_PLAN_AHEAD_DAYS} days ahead")
    _check_assignment(session, principal, rep_id, customer_id)
    existing = repository.find_planned_visit(
        session, rep_id=rep_id, customer_id=customer_id, day=day
    )
    if existing is not None:
        raise Conflict(
            f"rep {rep_id} already has planned visit {existing.id} at customer {customer_id} "
            f"on {day}",
            hint="one planned visit per rep, customer and day",
            details={"planned_visit_id": existing.id},
        )
    planned = PlannedVisit(rep_id=rep_id, customer_id=customer_id, day=day, source="adhoc")
    session.add(planned)
    session.flush()
    repository.link_existing_visits(
        session, date_from=day, date_to=day, planned_visit_ids=[planned.id]
    )
    expire_linked(session)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="planned_visit",
        entity_id=planned.id,
        action="create",
        new=_planned_snapshot(planned),
    )
    return planned


def delete_planned_visit(session: Session, *, principal: Principal, planned_visit_id: int) -> None:
    """Only an open ad-hoc planned visit can be removed: a fulfilled one is history, and
    a journey occurrence would come back at the next expansion (change the plan)."""
    _require_planner(principal)
    planned = get_planned_visit(session, principal=principal, planned_visit_id=planned_visit_id)
    if planned.visit_id is not None:
        raise Conflict(
            f"planned visit {planned_visit_id} was fulfilled by visit "
            f"{planned.visit_id}; it is kept for the visit rate"
        )
    if planned.journey_plan_id is not None:
        raise Conflict(
            f"planned visit {planned_visit_id} comes from journey plan "
            f"{planned.journey_plan_id} and would be re-created by the next expansion",
            hint=f"change or end the plan: PATCH or DELETE "
            f"/v1/journey-plans/{planned.journey_plan_id}",
        )
    before = _planned_snapshot(planned)
    session.delete(planned)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="planned_visit",
        entity_id=planned_visit_id,
        action="delete",
        old=before,
    )


# --- expansion and fulfilment ----------------------------------------------------------


def expire_linked(session: Session) -> None:
    """Linking writes planned_visits and visits in SQL: reload loaded rows on next access."""
    for obj in list(session.identity_map.values()):
        if isinstance(obj, PlannedVisit | Visit):
            session.expire(obj)


def _expand(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    rep_ids: list[int] | None,
    plan_ids: list[int] | None = None,
) -> tuple[int, int]:
    _check_range(date_from, date_to, "the expansion")
    session.flush()
    created = repository.expand(
        session, date_from=date_from, date_to=date_to, rep_ids=rep_ids, plan_ids=plan_ids
    )
    linked = repository.link_existing_visits(
        session, date_from=date_from, date_to=date_to, rep_ids=rep_ids
    )
    expire_linked(session)
    return created, linked


def expand_plans(
    session: Session,
    *,
    date_from: date,
    date_to: date,
    rep_ids: list[int] | None = None,
    plan_ids: list[int] | None = None,
) -> int:
    """Create the planned visits (source "journey") of every active plan occurrence in
    [date_from, date_to] and link check-ins already stored for them; idempotent. Returns
    how many planned visits were created. No authorisation: for jobs and services."""
    created, _ = _expand(
        session, date_from=date_from, date_to=date_to, rep_ids=rep_ids, plan_ids=plan_ids
    )
    return created


def expand_upcoming(session: Session, now: datetime | None = None) -> int:
    """Scheduler job: keep the next EXPAND_DAYS company days (today included) expanded."""
    today = company_today(session, now)
    return expand_plans(session, date_from=today, date_to=today + timedelta(days=EXPAND_DAYS - 1))


def expand_for(
    session: Session, *, principal: Principal, date_from: date, date_to: date
) -> ExpandResult:
    """Expansion on request: a manager's reps, or every rep for an admin."""
    _require_planner(principal)
    rep_ids = repository.visible_rep_ids(session, principal)
    created, linked = _expand(session, date_from=date_from, date_to=date_to, rep_ids=rep_ids)
    return ExpandResult(date_from, date_to, created, linked)


# --- visit rate ------------------------------------------------------------------------


def visit_rate(
    session: Session,
    *,
    principal: Principal,
    rep_id: int,
    date_from: date,
    date_to: date,
    by: str = "day",
) -> list[RatePeriod]:
    """Planned and fulfilled visits of a rep per company day, or per ISO week (Monday).

    With by="week" the range is widened to whole ISO weeks (date_from to its Monday,
    date_to to its Sunday), so that no week is counted partly.
    """
    principal.require("plans:read")
    if by not in ("day", "week"):
        raise InvalidInput(f"by must be 'day' or 'week', got {by!r}")
    _check_range(date_from, date_to, "the visit rate")
    _visible_rep(session, principal, rep_id)
    if by == "week":
        date_from, date_to = week_range(date_from, date_to)
    rows = repository.visit_rate_rows(
        session, rep_ids=[rep_id], date_from=date_from, date_to=date_to, by=by
    )
    return [
        RatePeriod(
            row.period_start,
            row.planned,
            row.done,
            round(row.done / row.planned, 4) if row.planned else None,
        )
        for row in rows
    ]


def week_range(date_from: date, date_to: date) -> tuple[date, date]:
    """The range widened to whole ISO weeks: Monday of the first, Sunday of the last."""
    return monday(date_from), monday(date_to) + timedelta(days=6)
