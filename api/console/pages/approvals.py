"""Approvals: pending discounts with the order's lines and the customer's record, approved
or rejected with a comment; customer location proposals with both points on a map."""

from dataclasses import dataclass

from fastapi import APIRouter

from api.console import geojson
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.deps import reads_from_replica
from api.schemas.common import Id
from sfa import geo
from sfa.catalog import repository as catalog_repository
from sfa.customers import locations
from sfa.customers import service as customer_service
from sfa.erp import service as erp_service
from sfa.orders import service as order_service
from sfa.pagination import paginate
from sfa.users import service as user_service
from sfa.workflows import order_approvals as approval_service

router = APIRouter(prefix="/console/approvals", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/approvals", label="nav.approvals", order=60)

PAGE_SIZE = 20
MAX_NOTE = 1000


@dataclass(frozen=True)
class Discount:
    approval: object
    order: object
    lines: list
    products: dict
    customer: object
    invoices: list
    rep_name: str


def _discount(console: Console, approval, order) -> Discount:
    db, principal = console.db, console.principal
    details = order_service.details(db, order=order)
    rep = user_service.get_user(db, principal=principal, user_id=order.rep_id)
    return Discount(
        approval=approval,
        order=order,
        lines=details.lines,
        products=catalog_repository.get_products(db, [line.product_id for line in details.lines]),
        customer=customer_service.get_customer(
            db, principal=principal, customer_id=order.customer_id
        ),
        invoices=erp_service.outstanding_invoices(
            db, principal=principal, customer_id=order.customer_id
        ),
        rep_name=rep.full_name,
    )


def _proposal_points(console: Console, proposal, customer) -> dict:
    t = console.t
    features = []
    old = geo.lat_lon(proposal.previous_position or customer.location)
    new = geo.lat_lon(proposal.position)
    if old is not None:
        features.append(geojson.point(*old, kind="old", title=t("approvals.old")))
    features.append(geojson.point(*new, kind="new", title=t("approvals.new")))
    return geojson.collection(features)


def _moved_m(proposal, customer) -> int | None:
    old = geo.lat_lon(proposal.previous_position or customer.location)
    new = geo.lat_lon(proposal.position)
    if old is None:
        return None
    return round(geo.distance_m(lat1=old[0], lon1=old[1], lat2=new[0], lon2=new[1]))


@router.get("")
@reads_from_replica
def approvals_page(console: ConsoleDep):
    db, principal = console.db, console.principal
    stmt = approval_service.approvals_query(principal=principal)
    page = paginate(db, stmt, limit=PAGE_SIZE, offset=0)
    proposals = locations.list_pending(db, principal=principal, limit=PAGE_SIZE, offset=0)
    return render(
        console,
        "approvals.html",
        discounts=[_discount(console, a, o) for a, o in page.items],
        discount_total=page.total,
        proposals=[
            (p, c, _proposal_points(console, p, c), _moved_m(p, c)) for p, c in proposals.items
        ],
        proposal_total=proposals.total,
    )


def _decided(console: Console, order_id: int, approve: bool):
    note = console.field("note", max_length=MAX_NOTE).strip() or None
    decide = approval_service.approve_order if approve else approval_service.reject_order
    order = decide(console.db, principal=console.principal, order_id=order_id, note=note)
    return render(console, "approval_decided.html", order=order, approved=approve, note=note)


@router.post("/orders/{order_id}/approve")
def approve(console: CsrfDep, order_id: Id):
    return _decided(console, order_id, approve=True)


@router.post("/orders/{order_id}/reject")
def reject(console: CsrfDep, order_id: Id):
    return _decided(console, order_id, approve=False)


def _location_decided(console: Console, customer_id: int, proposal_id: int, approve: bool):
    proposal = locations.decide(
        console.db,
        principal=console.principal,
        customer_id=customer_id,
        proposal_id=proposal_id,
        approve=approve,
    )
    return render(console, "location_decided.html", proposal=proposal, approved=approve)


@router.post("/customers/{customer_id}/locations/{proposal_id}/approve")
def approve_location(console: CsrfDep, customer_id: Id, proposal_id: Id):
    return _location_decided(console, customer_id, proposal_id, approve=True)


@router.post("/customers/{customer_id}/locations/{proposal_id}/reject")
def reject_location(console: CsrfDep, customer_id: Id, proposal_id: Id):
    return _location_decided(console, customer_id, proposal_id, approve=False)
