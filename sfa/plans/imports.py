"""Bulk import of journey plans and planned visits, history included.

A company moving from another system brings its plans and its past: this takes a CSV or
JSON file of rows, each a journey plan or a dated planned visit, with the same rules as
the API except that past dates are allowed (up to MAX_HISTORY_DAYS back) and that a
past planned visit may name a rep who has left. Reps are named by username, customers
by code, so the file needs none of our ids.

Every row is checked on its own: a bad row is reported with its reason and the others
are stored. Importing the same file again stores nothing twice: a journey plan equal to
one the rep has (same customer, weekday, every, anchor, validity) is "unchanged", and a
planned visit for a (rep, customer, day) that is planned already is "unchanged" too.
New journey plans are expanded over their whole validity up to the usual two weeks
ahead; check-ins already stored fulfil the new planned visits; the days touched are
marked for the scheduler's refresh (aggregates, visit rate, anomalies).
"""

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.customers import repository as customer_repository
from sfa.errors import DomainError, Forbidden, InvalidInput
from sfa.plans import repository, service
from sfa.plans.import_file import JourneyPlanRow, PlannedVisitRow, RawRow, parse_row
from sfa.plans.models import JourneyPlan
from sfa.users import repository as user_repository
from sfa.users.models import Role, User
from sfa.weeks import monday

# How far back an imported date may go.
MAX_HISTORY_DAYS = 3660

Progress = Callable[[str, int, int], None]


def _noop(step: str, done: int, total: int) -> None:
    pass


@dataclass
class ImportResult:
    rows: int = 0
    journey_plans_created: int = 0
    journey_plans_unchanged: int = 0
    planned_visits_created: int = 0  # dated rows and journey occurrences
    planned_visits_unchanged: int = 0
    fulfilled: int = 0  # new planned visits fulfilled by check-ins stored before
    rejected: list[tuple[RawRow, str]] = field(default_factory=list)
    dry_run: bool = False


@dataclass
class _Context:
    today: date
    reps: dict[str, User]
    customers: dict[str, Any]
    plan_keys: set[tuple]

    def rep_and_customer(
        self, row: JourneyPlanRow | PlannedVisitRow, *, active_needed: bool
    ) -> tuple[User, int]:
        rep = self.reps.get(row.rep)
        if rep is None or rep.role is not Role.rep:
            raise InvalidInput(f"rep {row.rep!r} is not a rep's username")
        if active_needed and not rep.is_active:
            raise InvalidInput(
                f"rep {row.rep!r} is deactivated",
                hint="only history (days before today) can be imported for a rep who left",
            )
        customer = self.customers.get(row.customer)
        if customer is None:
            raise InvalidInput(f"customer code {row.customer!r} does not exist")
        if rep.team_id is None or customer.team_id != rep.team_id:
            raise InvalidInput(
                f"customer {row.customer!r} is not in the territory of the team of rep {row.rep!r}"
            )
        return rep, customer.id

    def check_day(self, day: date, name: str) -> None:
        earliest = self.today - timedelta(days=MAX_HISTORY_DAYS)
        latest = self.today + timedelta(days=service.MAX_PLAN_AHEAD_DAYS)
        if not earliest <= day <= latest:
            raise InvalidInput(f"{name} {day} is outside {earliest} .. {latest}")


def _journey_plan(ctx: _Context, row: JourneyPlanRow) -> JourneyPlan | None:
    """A new plan for the row, or None when the rep has this plan already."""
    rep, customer_id = ctx.rep_and_customer(row, active_needed=True)
    ctx.check_day(row.valid_from, "valid_from")
    if row.valid_to is not None:
        ctx.check_day(row.valid_to, "valid_to")
    plan = JourneyPlan(
        rep_id=rep.id,
        customer_id=customer_id,
        weekday=row.weekday,
        every_n_weeks=row.every_n_weeks,
        anchor_week=row.anchor_week or monday(row.valid_from),
        valid_from=row.valid_from,
        valid_to=row.valid_to,
    )
    service.check_plan(plan)
    key = (
        plan.rep_id,
        plan.customer_id,
        plan.weekday,
        plan.every_n_weeks,
        plan.anchor_week,
        plan.valid_from,
        plan.valid_to,
    )
    if key in ctx.plan_keys:
        return None
    ctx.plan_keys.add(key)
    return plan


def _planned_visit(ctx: _Context, row: PlannedVisitRow) -> dict:
    rep, customer_id = ctx.rep_and_customer(row, active_needed=row.day >= ctx.today)
    ctx.check_day(row.day, "day")
    return {"rep_id": rep.id, "customer_id": customer_id, "day": row.day, "source": "imported"}


def _context(session: Session, rows: Sequence[JourneyPlanRow | PlannedVisitRow], today: date):
    reps = user_repository.find_by_usernames(session, [r.rep for r in rows])
    customers = customer_repository.find_by_codes(session, [r.customer for r in rows])
    keys = repository.plan_keys(session, [u.id for u in reps.values()])
    return _Context(today=today, reps=reps, customers=customers, plan_keys=keys)


# --- the import ------------------------------------------------------------------------


def require_importer(principal: Principal) -> None:
    """Imports are company-wide: an administrator, or an API key with 'plans:write'."""
    principal.require("plans:write")
    if principal.team_ids is not None:
        raise Forbidden(
            "only an administrator (or a company-wide API key) imports plans",
            hint="managers plan with /v1/journey-plans and /v1/planned-visits",
        )


def import_plans(
    session: Session,
    *,
    principal: Principal,
    rows: Sequence[RawRow],
    dry_run: bool = False,
    progress: Progress = _noop,
) -> ImportResult:
    """Check every row, store the good ones (unless `dry_run`), report the others."""
    require_importer(principal)
    today = service.company_today(session)
    result = ImportResult(rows=len(rows), dry_run=dry_run)
    parsed: list[tuple[RawRow, JourneyPlanRow | PlannedVisitRow]] = []
    for raw in rows:
        try:
            parsed.append((raw, parse_row(raw)))
        except DomainError as exc:
            result.rejected.append((raw, exc.message))
    ctx = _context(session, [row for _, row in parsed], today)
    plans: list[JourneyPlan] = []
    visits: list[dict] = []
    for done, (raw, row) in enumerate(parsed, start=1):
        try:
            if isinstance(row, JourneyPlanRow):
                plan = _journey_plan(ctx, row)
                if plan is None:
                    result.journey_plans_unchanged += 1
                else:
                    plans.append(plan)
            else:
                visits.append(_planned_visit(ctx, row))
        except DomainError as exc:
            result.rejected.append((raw, exc.message))
        if done % 1000 == 0 or done == len(parsed):
            progress("checking rows", done, len(parsed))
    result.rejected.sort(key=lambda pair: pair[0].index)
    # A savepoint: a dry run does all the work, reports it, and leaves nothing behind.
    savepoint = session.begin_nested()
    _store(session, result, plans, visits, today, progress)
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
        _audit(session, principal, result, today)
    return result


def _store(
    session: Session,
    result: ImportResult,
    plans: list[JourneyPlan],
    visits: list[dict],
    today: date,
    progress: Progress,
) -> None:
    session.add_all(plans)
    session.flush()
    result.journey_plans_created = len(plans)
    dated = repository.insert_planned_visits(session, _unique(visits))
    result.planned_visits_unchanged = len(visits) - len(dated)
    occurrences = _expand(session, plans, today, progress)
    new_ids = [*dated, *occurrences]
    result.planned_visits_created = len(new_ids)
    if new_ids:
        result.fulfilled = _link(session, new_ids, progress)
        repository.mark_planned_days_stale(session, new_ids, until=today)
    service.expire_linked(session)


def _unique(visits: Iterable[dict]) -> list[dict]:
    """One row per (rep, customer, day): a file may repeat a visit."""
    return list({(v["rep_id"], v["customer_id"], v["day"]): v for v in visits}.values())


def _windows(first: date, last: date) -> list[tuple[date, date]]:
    step = timedelta(days=service.MAX_RANGE_DAYS)
    windows, start = [], first
    while start <= last:
        windows.append((start, min(last, start + step - timedelta(days=1))))
        start += step
    return windows


def _expand(
    session: Session, plans: list[JourneyPlan], today: date, progress: Progress
) -> list[int]:
    """The new plans' occurrences from their first day to the usual horizon ahead."""
    if not plans:
        return []
    horizon = today + timedelta(days=service.EXPAND_DAYS - 1)
    windows = _windows(min(p.valid_from for p in plans), horizon)
    ids = [p.id for p in plans]
    for done, (start, end) in enumerate(windows, start=1):
        repository.expand(session, date_from=start, date_to=end, plan_ids=ids)
        progress("expanding journey plans", done, len(windows))
    return repository.journey_occurrence_ids(session, ids)


def _link(session: Session, planned_visit_ids: list[int], progress: Progress) -> int:
    """Fulfil the new planned visits by check-ins stored before them."""
    first, last = repository.day_span(session, planned_visit_ids)
    windows = _windows(first, last)
    linked = 0
    for done, (start, end) in enumerate(windows, start=1):
        linked += repository.link_existing_visits(
            session, date_from=start, date_to=end, planned_visit_ids=planned_visit_ids
        )
        progress("fulfilling by stored check-ins", done, len(windows))
    return linked


def _audit(session: Session, principal: Principal, result: ImportResult, today: date) -> None:
    audit_service.record(
        session,
        actor=principal.actor,
        entity="plan_import",
        entity_id=today.isoformat(),
        action="import",
        new={
            "rows": result.rows,
            "journey_plans_created": result.journey_plans_created,
            "planned_visits_created": result.planned_visits_created,
            "rejected": len(result.rejected),
        },
    )
