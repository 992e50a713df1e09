from datetime import date, timedelta
from typing import Literal

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ReportFormat
from api.schemas.common import Day, Id, PageOut
from api.schemas.plans import (
    ExpandIn,
    ExpandOut,
    JourneyPlanCreate,
    JourneyPlanDeactivated,
    JourneyPlanOut,
    JourneyPlanUpdate,
    PlanImportOut,
    PlannedVisitCreate,
    PlannedVisitOut,
    PlannedVisitSource,
    RateBy,
    RatePeriodOut,
    VisitRateOut,
)
from sfa.errors import InvalidInput
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate
from sfa.plans import import_file as plan_import_file
from sfa.plans import imports as plan_imports
from sfa.plans import service as plan_service

router = APIRouter(prefix="/v1", tags=["plans"])

Limit = Query(50, ge=1, le=1000)
Offset = Query(0, ge=0, le=INT64_MAX)
# Reports default to the last four weeks up to today (company day).
DEFAULT_RATE_DAYS = 28


def _plan_out(session, plan) -> JourneyPlanOut:
    today = plan_service.company_today(session)
    return JourneyPlanOut.of(plan, active=plan_service.plan_is_active(plan, today))


@router.get(
    "/journey-plans",
    response_model=PageOut[JourneyPlanOut],
    responses=CSV_RESPONSES,
    summary="Journey plans visible to you (a rep: their own; a manager: their teams')",
)
@exports_from_replica
def list_plans(
    session: SessionDep,
    principal: PrincipalDep,
    rep_id: Id | None = None,
    customer_id: Id | None = None,
    active: bool | None = Query(None, description="true: not ended today; false: ended"),
    format: ReportFormat = ReportFormat.json,
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = plan_service.plans_query(
        session, principal=principal, rep_id=rep_id, customer_id=customer_id, active=active
    )
    today = plan_service.company_today(session)

    def convert(plan) -> JourneyPlanOut:
        return JourneyPlanOut.of(plan, active=plan_service.plan_is_active(plan, today))

    if format is ReportFormat.csv:
        return csv_export(JourneyPlanOut, each_batch(session, stmt), "journey-plans.csv", convert)
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), convert)


@router.post(
    "/journey-plans",
    response_model=JourneyPlanOut,
    status_code=status.HTTP_201_CREATED,
    summary="Plan a recurring weekly visit (manager of the rep's team, or admin)",
    description="The rep visits the customer on `weekday` every `every_n_weeks` "
    "weeks counted from `anchor_week` (a Monday), between `valid_from` and "
    "`valid_to`. The upcoming 14 days are expanded into planned visits at once.",
)
def create_plan(session: SessionDep, principal: PrincipalDep, body: JourneyPlanCreate):
    plan = plan_service.create_plan(session, principal=principal, data=body.model_dump())
    return _plan_out(session, plan)


@router.get("/journey-plans/{plan_id}", response_model=JourneyPlanOut)
def get_plan(session: SessionDep, principal: PrincipalDep, plan_id: Id):
    return _plan_out(session, plan_service.get_plan(session, principal=principal, plan_id=plan_id))


@router.patch(
    "/journey-plans/{plan_id}",
    response_model=JourneyPlanOut,
    summary="Change a journey plan",
    description="Past and fulfilled planned visits stay; open ones from today on "
    "are re-expanded from the changed plan.",
)
def update_plan(session: SessionDep, principal: PrincipalDep, plan_id: Id, body: JourneyPlanUpdate):
    plan = plan_service.update_plan(
        session, principal=principal, plan_id=plan_id, data=body.model_dump(exclude_unset=True)
    )
    return _plan_out(session, plan)


@router.delete(
    "/journey-plans/{plan_id}",
    response_model=JourneyPlanDeactivated,
    summary="Deactivate a journey plan",
    description="The plan ends yesterday (company day): its open planned visits "
    "from today on are removed; past and fulfilled ones stay as history. A plan "
    "that has not started yet is deleted (`deleted: true`).",
)
def deactivate_plan(session: SessionDep, principal: PrincipalDep, plan_id: Id):
    result = plan_service.deactivate_plan(session, principal=principal, plan_id=plan_id)
    out = JourneyPlanOut.of(result.plan, active=False)
    return JourneyPlanDeactivated(
        **out.model_dump(),
        deleted=result.deleted,
        removed_planned_visits=result.removed_planned_visits,
    )


MAX_IMPORT_BYTES = 20 * 2**20
_IMPORT_TYPES: dict[str, Literal["csv", "json"]] = {"text/csv": "csv", "application/json": "json"}


async def _import_file(request: Request) -> tuple[bytes, Literal["csv", "json"]]:
    """The request's body, at most MAX_IMPORT_BYTES, and its format."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    fmt = _IMPORT_TYPES.get(media)
    if fmt is None:
        raise InvalidInput(
            f"send the file as text/csv or application/json, not {media or 'no type'!r}",
            hint="curl --data-binary @plans.csv -H 'Content-Type: text/csv' ...",
        )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_IMPORT_BYTES:
            raise InvalidInput(
                f"the file is larger than {MAX_IMPORT_BYTES // 2**20} MiB",
                hint="split it into several imports",
            )
        chunks.append(chunk)
    return b"".join(chunks), fmt


def _run_import(session, principal, data: bytes, fmt, dry_run: bool) -> PlanImportOut:
    rows = plan_import_file.read_rows(data, fmt)
    return PlanImportOut.of(
        plan_imports.import_plans(session, principal=principal, rows=rows, dry_run=dry_run)
    )


@router.post(
    "/plans/import",
    response_model=PlanImportOut,
    # The file may be far above the API's default body limit; beyond this the limiter
    # answers 413 before reading (a Content-Length) or as soon as it passes (chunked).
    max_body_size=MAX_IMPORT_BYTES,
    summary="Import journey plans and planned visits, history included (admin)",
    description="The body is a CSV file (`Content-Type: text/csv`, a header line) or a "
    "JSON array of rows (`application/json`), up to 20 MiB and 50,000 rows. Each row is "
    "a `journey_plan` or a `planned_visit`; reps are named by username, customers by "
    "code; past dates are allowed. Good rows are stored, bad ones reported with their "
    "reason; importing the same file again stores nothing twice. `dry_run=true` checks "
    "and counts without storing. Format: docs/plans-import.md.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "array", "items": {"type": "object"}}},
            },
        }
    },
)
async def import_plans(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    dry_run: bool = Query(False, description="check and count, store nothing"),
):
    # Allowed before the body is read: a caller who may not import never uploads a file.
    plan_imports.require_importer(principal)
    data, fmt = await _import_file(request)
    return await run_in_threadpool(_run_import, session, principal, data, fmt, dry_run)


@router.get(
    "/planned-visits",
    response_model=PageOut[PlannedVisitOut],
    responses=CSV_RESPONSES,
    summary="Planned visits visible to you, by day",
)
@exports_from_replica
def list_planned_visits(
    session: SessionDep,
    principal: PrincipalDep,
    rep_id: Id | None = None,
    customer_id: Id | None = None,
    date_from: Day | None = None,
    date_to: Day | None = None,
    done: bool | None = Query(None, description="true: fulfilled by a check-in; false: open"),
    source: PlannedVisitSource | None = None,
    format: ReportFormat = ReportFormat.json,
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = plan_service.planned_visits_query(
        principal=principal,
        rep_id=rep_id,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
        done=done,
        source=str(source) if source else None,
    )
    if format is ReportFormat.csv:
        return csv_export(
            PlannedVisitOut, each_batch(session, stmt), "planned-visits.csv", PlannedVisitOut.of
        )
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), PlannedVisitOut.of)


@router.post(
    "/planned-visits",
    response_model=PlannedVisitOut,
    status_code=status.HTTP_201_CREATED,
    summary="Plan a single visit (ad hoc), today or later",
    responses={409: {"description": "the rep already has this customer planned that day"}},
)
def create_planned_visit(session: SessionDep, principal: PrincipalDep, body: PlannedVisitCreate):
    return PlannedVisitOut.of(
        plan_service.create_planned_visit(
            session,
            principal=principal,
            rep_id=body.rep_id,
            customer_id=body.customer_id,
            day=body.day,
        )
    )


@router.delete(
    "/planned-visits/{planned_visit_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Remove an open ad-hoc planned visit",
    responses={
        409: {"description": "fulfilled, or a journey plan occurrence (change the plan instead)"}
    },
)
def delete_planned_visit(session: SessionDep, principal: PrincipalDep, planned_visit_id: Id):
    plan_service.delete_planned_visit(
        session, principal=principal, planned_visit_id=planned_visit_id
    )


@router.post(
    "/planned-visits/expand",
    response_model=ExpandOut,
    summary="Expand journey plans into planned visits for a date range",
    description="For your teams' reps (a manager) or every rep (admin). "
    "Idempotent: existing planned visits are kept; check-ins already stored for a "
    "new planned visit fulfil it. The scheduler does this daily for the next 14 "
    "days.",
)
def expand(session: SessionDep, principal: PrincipalDep, body: ExpandIn):
    result = plan_service.expand_for(
        session, principal=principal, date_from=body.date_from, date_to=body.date_to
    )
    return ExpandOut(
        date_from=result.date_from,
        date_to=result.date_to,
        created=result.created,
        linked=result.linked,
    )


def _label(start: date, by: RateBy) -> str:
    if by is RateBy.day:
        return start.isoformat()
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


@router.get(
    "/reps/{rep_id}/visit-rate",
    response_model=VisitRateOut,
    responses=CSV_RESPONSES,
    summary="Visit rate (plan compliance): planned visits done / planned",
    description="Per company day or per ISO week (Monday start; the range is "
    "widened to whole weeks). Defaults to the last 28 days up to today.",
)
@exports_from_replica
def visit_rate(
    session: SessionDep,
    principal: PrincipalDep,
    rep_id: Id,
    date_from: Day | None = None,
    date_to: Day | None = None,
    by: RateBy = RateBy.day,
    format: ReportFormat = ReportFormat.json,
):
    if date_to is None:
        date_to = plan_service.company_today(session)
    if date_from is None:
        date_from = date_to - timedelta(days=DEFAULT_RATE_DAYS - 1)
    rows = plan_service.visit_rate(
        session,
        principal=principal,
        rep_id=rep_id,
        date_from=date_from,
        date_to=date_to,
        by=str(by),
    )
    length = timedelta(days=6 if by is RateBy.week else 0)
    periods = [
        RatePeriodOut(
            period_start=r.period_start,
            period_end=r.period_start + length,
            label=_label(r.period_start, by),
            planned=r.planned,
            done=r.done,
            rate=r.rate,
        )
        for r in rows
    ]
    if format is ReportFormat.csv:
        return csv_export(RatePeriodOut, [periods], f"visit-rate-rep-{rep_id}-{by}.csv")
    planned = sum(p.planned for p in periods)
    done = sum(p.done for p in periods)
    return VisitRateOut(
        rep_id=rep_id,
        by=by,
        date_from=periods[0].period_start,
        date_to=periods[-1].period_end,
        planned=planned,
        done=done,
        rate=round(done / planned, 4) if planned else None,
        periods=periods,
    )
