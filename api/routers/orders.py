from fastapi import APIRouter, Query, Response, status

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ListFormat
from api.schemas.common import Day, Id, PageOut
from api.schemas.orders import (
    CancelIn,
    CorrectionIn,
    DecisionIn,
    OrderIn,
    OrderOut,
    OrderSummaryOut,
    PendingApprovalOut,
)
from sfa.limits import INT64_MAX
from sfa.orders import changes as order_changes
from sfa.orders import service as order_service
from sfa.orders.models import OrderState
from sfa.pagination import each_batch, paginate
from sfa.workflows import order_approvals as approval_service
from sfa.workflows.runtime_models import ApprovalDecision

router = APIRouter(prefix="/v1", tags=["orders"])


def order_out(session, order) -> OrderOut:
    approvals = approval_service.approvals_for(session, [order.id])[order.id]
    return OrderOut.of_details(order_service.details(session, order=order), approvals)


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    summary="Take an order (rep; idempotent by client_id)",
    description="Unit prices come from the catalog. With `submit` (default) the "
    'order goes to discount approval at once, the built-in "Discount approval" '
    "workflow (docs/workflows.md): up to `discount_auto_max_pct` it is approved (in "
    "this response), up to `discount_single_max_pct` the rep's manager decides, above "
    "that the manager and then finance (the admins when nobody holds the role).",
    responses={
        200: {"description": "replay of an order already stored", "model": OrderOut},
        409: {"description": "client_id reused with different content"},
    },
)
def create_order(session: SessionDep, principal: PrincipalDep, body: OrderIn, response: Response):
    order, created = order_service.create_order(session, principal=principal, data=body.new_order())
    if not created:
        response.status_code = status.HTTP_200_OK
    return order_out(session, order)


@router.get(
    "/orders",
    response_model=PageOut[OrderSummaryOut],
    summary="Orders visible to you",
    description="Dates are company-local days of creation. `format=csv`: every matching "
    "order as a file.",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_orders(
    session: SessionDep,
    principal: PrincipalDep,
    state: OrderState | None = None,
    rep_id: Id | None = None,
    customer_id: Id | None = None,
    date_from: Day | None = None,
    date_to: Day | None = None,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = order_service.orders_query(
        session,
        principal=principal,
        state=state,
        rep_id=rep_id,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
    )
    if format is ListFormat.csv:
        return csv_export(
            OrderSummaryOut, each_batch(session, stmt), "orders.csv", OrderSummaryOut.of
        )
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), OrderSummaryOut.of)


@router.get(
    "/orders/{order_id}",
    response_model=OrderOut,
    summary="An order with its lines and approval levels",
)
def get_order(session: SessionDep, principal: PrincipalDep, order_id: Id):
    return order_out(
        session, order_service.get_order(session, principal=principal, order_id=order_id)
    )


@router.post(
    "/orders/{order_id}/submit",
    response_model=OrderOut,
    summary="Submit a draft for discount approval (rep; repeatable)",
)
def submit_order(session: SessionDep, principal: PrincipalDep, order_id: Id):
    return order_out(
        session, order_service.submit_order(session, principal=principal, order_id=order_id)
    )


@router.post(
    "/orders/{order_id}/cancel",
    response_model=OrderOut,
    summary="Cancel an order the ERP has not confirmed (its rep, or an admin; repeatable)",
    description="Possible before the order was sent, and after the ERP refused it "
    "(`erp_status` parked): the next sync then removes the draft the ERP may hold. An "
    "admin gives a `reason`, which the rep is told; a distributor who heard of the order "
    "is told it is cancelled.",
)
def cancel_order(
    session: SessionDep, principal: PrincipalDep, order_id: Id, body: CancelIn | None = None
):
    return order_out(
        session,
        order_changes.cancel_order(
            session, principal=principal, order_id=order_id, reason=body.reason if body else None
        ),
    )


@router.post(
    "/orders/{order_id}/correct",
    response_model=OrderOut,
    summary="Correct the quantities of an order the ERP refused, and send it again (admin)",
    description="Only for an order parked on its way to the ERP (`erp_status` parked, "
    "`erp_problem` says why). Lines keep their unit prices and discounts; the amounts "
    "follow. The rep is told.",
)
def correct_order(session: SessionDep, principal: PrincipalDep, order_id: Id, body: CorrectionIn):
    return order_out(
        session,
        order_changes.correct_order(
            session,
            principal=principal,
            order_id=order_id,
            quantities={line.line_no: line.quantity for line in body.lines},
            note=body.note,
        ),
    )


@router.post(
    "/orders/{order_id}/approve",
    response_model=OrderOut,
    summary="Approve the pending discount level (its approver or an admin)",
)
def approve_order(
    session: SessionDep, principal: PrincipalDep, order_id: Id, body: DecisionIn | None = None
):
    return order_out(
        session,
        approval_service.approve_order(
            session, principal=principal, order_id=order_id, note=body.note if body else None
        ),
    )


@router.post(
    "/orders/{order_id}/reject",
    response_model=OrderOut,
    summary="Reject the discount: the order becomes rejected",
)
def reject_order(
    session: SessionDep, principal: PrincipalDep, order_id: Id, body: DecisionIn | None = None
):
    return order_out(
        session,
        approval_service.reject_order(
            session, principal=principal, order_id=order_id, note=body.note if body else None
        ),
    )


@router.get(
    "/approvals",
    response_model=PageOut[PendingApprovalOut],
    summary="Discount approvals you may decide (a manager: theirs; an admin: all)",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def list_approvals(
    session: SessionDep,
    principal: PrincipalDep,
    state: ApprovalDecision | None = ApprovalDecision.pending,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = approval_service.approvals_query(principal=principal, state=state)

    def convert(pair) -> PendingApprovalOut:
        return PendingApprovalOut.of_pair(*pair)

    if format is ListFormat.csv:
        return csv_export(PendingApprovalOut, each_batch(session, stmt), "approvals.csv", convert)
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), convert)
