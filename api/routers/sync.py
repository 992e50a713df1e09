"""ERP sync administration: what each run did, run now, re-queue parked orders."""

from fastapi import APIRouter, Query

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import PageOut
from api.schemas.sync import OutboxOut, RequeueIn, RequeueOut, SyncRunOut
from integrations.erp import factory
from sfa.erp import sync
from sfa.errors import Conflict
from sfa.limits import INT64_MAX
from sfa.orders.models import OutboxState

router = APIRouter(prefix="/v1/sync", tags=["ERP sync"])

Limit = Query(50, ge=1, le=1000)
Offset = Query(0, ge=0, le=INT64_MAX)


@router.get("/runs", response_model=PageOut[SyncRunOut], summary="ERP sync runs, newest first")
def list_runs(
    session: SessionDep, principal: PrincipalDep, limit: int = Limit, offset: int = Offset
):
    principal.require_admin()
    return PageOut.of(sync.list_runs(session, limit=limit, offset=offset), SyncRunOut.of)


@router.post(
    "/run",
    response_model=SyncRunOut,
    summary="Run the ERP sync now",
    description="Checks the ERP connection, pushes the waiting orders (also those "
    "still waiting out a retry delay after an ERP failure) and pulls ERP changes, then "
    "answers with the run. When another run is in progress the answer is a run with "
    "status `skipped` that did nothing. Wrong ERP settings answer 409 with each problem.",
)
def run_now(session: SessionDep, principal: PrincipalDep):
    principal.require_admin()
    try:
        connector = factory.build_connector()
    except factory.ErpNotConfigured as exc:
        raise Conflict(
            f"the ERP settings cannot work: {exc}",
            hint="fix the SFA_ERP_* settings of the API process and restart it; "
            "GET /readyz shows the ERP connection's state",
            details={"problems": exc.problems},
        ) from None
    if connector is None:
        raise Conflict(
            "the ERP sync is disabled",
            hint="set SFA_ERP_URL, SFA_ERP_DATABASE, SFA_ERP_USER and "
            "SFA_ERP_PASSWORD for the API process",
        )
    with connector:
        run = sync.run_sync(session, connector=connector, trigger="manual", push_waiting=True)
    return SyncRunOut.of(run)


@router.get(
    "/outbox",
    response_model=PageOut[OutboxOut],
    summary="Orders waiting for, or parked on their way to, the ERP",
)
def list_outbox(
    session: SessionDep,
    principal: PrincipalDep,
    state: OutboxState | None = None,
    limit: int = Limit,
    offset: int = Offset,
):
    principal.require_admin()
    page = sync.list_outbox(session, state=state, limit=limit, offset=offset)
    return PageOut.of(page, OutboxOut.model_validate)


@router.post(
    "/outbox/retry",
    response_model=RequeueOut,
    summary="Re-queue parked orders (after fixing what the ERP rejected)",
)
def requeue(body: RequeueIn, session: SessionDep, principal: PrincipalDep):
    principal.require_admin()
    return {"requeued": sync.requeue(session, outbox_ids=body.outbox_ids)}
