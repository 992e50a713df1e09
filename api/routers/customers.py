import math

from fastapi import APIRouter, Query, Request, status

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import ListFormat, geojson_response
from api.schemas.common import Id, PageOut, Text
from api.schemas.customers import CustomerCreate, CustomerOut, CustomerUpdate
from sfa.customers import service as customer_service
from sfa.errors import InvalidInput
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate

router = APIRouter(prefix="/v1/customers", tags=["customers"])


def _numbers(raw: str, count: int, name: str, example: str) -> tuple[float, ...]:
    parts = raw.split(",")
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != count or any(not math.isfinite(v) for v in values):
        raise InvalidInput(
            f"{name}={raw!r} is not {count} comma-separated finite numbers",
            hint=f"for example {name}={example}",
        )
    return values


def _near(raw: str) -> tuple[float, float]:
    lat, lon = _numbers(raw, 2, "near", "-6.2,106.8")
    return lat, lon


def _bbox(raw: str) -> tuple[float, float, float, float]:
    min_lon, min_lat, max_lon, max_lat = _numbers(raw, 4, "bbox", "106.7,-6.3,106.9,-6.1")
    return min_lon, min_lat, max_lon, max_lat


def _customer_out(row) -> CustomerOut:
    """A customer, or a (customer, distance_m) row of a `near` search."""
    return CustomerOut.of(*row) if isinstance(row, tuple) else CustomerOut.of(row)


def _wants_geojson(request: Request, fmt: ListFormat) -> bool:
    return fmt is ListFormat.geojson or "application/geo+json" in request.headers.get("accept", "")


@router.get(
    "",
    response_model=PageOut[CustomerOut],
    summary="Customers visible to you",
    description="Search by radius (`near=lat,lon&radius_m=`, nearest first, with `distance_m`) "
    "or map viewport (`bbox=min_lon,min_lat,max_lon,max_lat`). `unassigned=true`: the "
    "customers without a team, e.g. new from the ERP, waiting for an admin to give them "
    "one (PATCH `team_id`). `format=geojson` (or "
    "`Accept: application/geo+json`) returns a FeatureCollection (a page); `format=csv` "
    "every matching customer as a CSV file.",
    responses={200: {"content": {"application/geo+json": {}, "text/csv": {}}}},
)
@exports_from_replica
def list_customers(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    near: Text | None = Query(None, description="lat,lon", examples=["-6.2,106.8"]),
    radius_m: float | None = Query(None, gt=0, le=100_000),
    bbox: Text | None = Query(None, description="min_lon,min_lat,max_lon,max_lat"),
    q: Text | None = Query(None, max_length=100, description="matches code or name"),
    customer_class: Text | None = Query(None, alias="class"),
    team_id: Id | None = None,
    distributor_id: Id | None = None,
    unassigned: bool = False,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    stmt = customer_service.customers_query(
        session,
        principal=principal,
        near=_near(near) if near else None,
        radius_m=radius_m,
        bbox=_bbox(bbox) if bbox else None,
        q=q,
        customer_class=customer_class,
        team_id=team_id,
        distributor_id=distributor_id,
        unassigned=unassigned,
    )
    if format is ListFormat.csv:
        return csv_export(CustomerOut, each_batch(session, stmt), "customers.csv", _customer_out)
    out = PageOut.of(paginate(session, stmt, limit=limit, offset=offset), _customer_out)
    if _wants_geojson(request, format):
        return geojson_response(
            [i.geojson_feature() for i in out.items], **out.model_dump(exclude={"items"})
        )
    return out


@router.post("", response_model=CustomerOut, status_code=status.HTTP_201_CREATED)
def create_customer(session: SessionDep, principal: PrincipalDep, body: CustomerCreate):
    customer = customer_service.create_customer(
        session, principal=principal, data=body.model_dump(exclude_unset=True)
    )
    return CustomerOut.of(customer)


@router.get(
    "/{customer_id}",
    response_model=CustomerOut,
    responses={200: {"content": {"application/geo+json": {}}}},
)
def get_customer(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    customer_id: Id,
    format: ListFormat = ListFormat.json,
):
    out = CustomerOut.of(
        customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    )
    if _wants_geojson(request, format):
        return geojson_response([out.geojson_feature()])
    return out


@router.patch("/{customer_id}", response_model=CustomerOut)
def update_customer(
    session: SessionDep, principal: PrincipalDep, customer_id: Id, body: CustomerUpdate
):
    customer = customer_service.update_customer(
        session,
        principal=principal,
        customer_id=customer_id,
        data=body.model_dump(exclude_unset=True),
    )
    return CustomerOut.of(customer)


@router.delete("/{customer_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_customer(session: SessionDep, principal: PrincipalDep, customer_id: Id):
    customer_service.delete_customer(session, principal=principal, customer_id=customer_id)
