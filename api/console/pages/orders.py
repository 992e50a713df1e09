"""Orders and ERP: orders by state; for admins the ERP sync runs with their counts and
errors, and the orders the ERP refused (parked) with the reason and a retry button."""

from fastapi import APIRouter

from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.deps import reads_from_replica
from api.schemas.common import Id
from sfa.erp import sync
from sfa.errors import InvalidInput
from sfa.orders import service as order_service
from sfa.orders.models import OrderState, OutboxState
from sfa.pagination import paginate

router = APIRouter(prefix="/console/orders", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/orders", label="nav.orders", order=70)

PAGE_SIZE = 50
RUNS_SHOWN = 10


def _state(console: Console) -> OrderState | None:
    raw = console.request.query_params.get("state", "")
    if not raw:
        return None
    try:
        return OrderState(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"state={raw!r} is not an order state",
            hint=f"choose one of: {', '.join(OrderState)}",
        ) from exc


def _offset(console: Console) -> int:
    raw = console.request.query_params.get("offset", "0")
    return int(raw) if raw.isdigit() else 0


@router.get("")
@reads_from_replica
def orders_page(console: ConsoleDep):
    db, principal = console.db, console.principal
    state = _state(console)
    stmt = order_service.orders_query(db, principal=principal, state=state)
    page = paginate(db, stmt, limit=PAGE_SIZE, offset=_offset(console))
    runs = parked = None
    if console.is_admin:
        runs = sync.list_runs(db, limit=RUNS_SHOWN, offset=0)
        parked = sync.list_outbox(db, state=OutboxState.parked, limit=PAGE_SIZE, offset=0)
    return render(
        console,
        "orders.html",
        counts=order_service.count_by_state(db, principal=principal),
        state=state.value if state else None,
        page=page,
        runs=runs,
        parked=parked,
        requeued=console.request.query_params.get("requeued"),
    )


@router.post("/outbox/{outbox_id}/retry")
def retry(console: CsrfDep, outbox_id: Id):
    """Put a parked order back in the ERP queue (admin), after fixing what was refused."""
    console.principal.require_admin()
    requeued = sync.requeue(console.db, outbox_ids=[outbox_id])
    return render(console, "outbox_retried.html", outbox_id=outbox_id, requeued=requeued)
