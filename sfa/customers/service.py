from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.customers import events, repository
from sfa.customers.models import Customer, LocationStatus
from sfa.errors import Conflict, Forbidden, InvalidInput
from sfa.events.service import Actor
from sfa.geo import check_lat_lon, lat_lon, to_geography
from sfa.users.models import Team

_PLAIN_FIELDS = (
    "code",
    "name",
    "address",
    "customer_class",
    "phone",
    "email",
    "language",
    "verify_radius_m",
    "is_distributor",
    "external_id",
)


def snapshot(customer: Customer) -> dict:
    data = {f: getattr(customer, f) for f in _PLAIN_FIELDS}
    data |= {
        "team_id": customer.team_id,
        "distributor_id": customer.distributor_id,
        "location": lat_lon(customer.location),
        "location_status": str(customer.location_status),
    }
    return data


def get_customer(session: Session, *, principal: Principal, customer_id: int) -> Customer:
    principal.require("customers:read")
    return get_visible_or_raise(
        repository.get_visible, session, principal, customer_id, what="customer"
    )


def customers_query(
    session: Session,
    *,
    principal: Principal,
    near: tuple[float, float] | None = None,
    radius_m: float | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    q: str | None = None,
    customer_class: str | None = None,
    team_id: int | None = None,
    distributor_id: int | None = None,
    unassigned: bool = False,
) -> Select:
    """The visible customers asked for, in a total order (for `paginate` or an export);
    with `near`, rows are (customer, distance_m), nearest first. `unassigned`: the queue of
    customers without a team (new from the ERP), which only principals who see every team
    (admins) can see."""
    principal.require("customers:read")
    if unassigned and team_id is not None:
        raise InvalidInput("unassigned=true lists customers without a team: drop team_id")
    stmt = repository.filter_customers(
        repository.visible_customers(principal),
        q=q,
        customer_class=customer_class,
        team_id=team_id,
        distributor_id=distributor_id,
        unassigned=unassigned,
    )
    if bbox is not None:
        min_lon, min_lat, max_lon, max_lat = bbox
        check_lat_lon(min_lat, min_lon)
        check_lat_lon(max_lat, max_lon)
        if min_lon > max_lon or min_lat > max_lat:
            raise InvalidInput("bbox must be min_lon,min_lat,max_lon,max_lat with min <= max")
        stmt = repository.within_bbox(
            stmt, min_lon=min_lon, min_lat=min_lat, max_lon=max_lon, max_lat=max_lat
        )
    if near is not None:
        if radius_m is None or not 0 < radius_m <= 100_000:
            raise InvalidInput("near= needs radius_m= between 0 and 100000 metres")
        stmt = repository.within_radius(stmt, lat=near[0], lon=near[1], radius_m=radius_m)
    elif radius_m is not None:
        raise InvalidInput("radius_m= needs near=lat,lon")
    else:
        stmt = stmt.order_by(Customer.id)
    return stmt


def _check_team(session: Session, principal: Principal, team_id: int | None) -> None:
    if team_id is not None and session.get(Team, team_id) is None:
        raise InvalidInput(f"team {team_id} does not exist")
    if not principal.can_see_team(team_id):
        raise Forbidden(
            "you can only manage customers of your own teams",
            hint="use one of your team ids as team_id",
        )


def _check_distributor(
    session: Session, principal: Principal, distributor_id: int | None, own_id: int | None
) -> None:
    if distributor_id is None:
        return
    if distributor_id == own_id:
        raise InvalidInput("a customer cannot be its own distributor")
    # Checked like an id in a path: one of the caller's customers (issue 12).
    distributor = repository.get_visible(session, principal, distributor_id)
    if distributor is None or not distributor.is_distributor:
        raise InvalidInput(
            f"customer {distributor_id} is not a distributor visible to you",
            hint="distributor_id must point to a customer of your teams with is_distributor",
        )


def _apply_location(customer: Customer, location: dict | None) -> None:
    if location is None:
        customer.location = None
        customer.location_status = LocationStatus.unknown
    else:
        customer.location = to_geography(location["lat"], location["lon"])
        customer.location_status = LocationStatus.imported


def create_customer(session: Session, *, principal: Principal, data: dict) -> Customer:
    principal.require("customers:write")
    if repository.find_by_code(session, data["code"]) is not None:
        raise Conflict(
            f"customer code {data['code']!r} is already used",
            hint="customer codes are unique; GET /v1/customers?q=CODE finds it",
        )
    # A rep registers outlets in their own territory unless told otherwise.
    team_id = data.get("team_id")
    if team_id is None and principal.team_ids is not None and len(principal.team_ids) == 1:
        team_id = next(iter(principal.team_ids))
    _check_team(session, principal, team_id)
    _check_distributor(session, principal, data.get("distributor_id"), None)
    customer = Customer(
        **{f: data[f] for f in _PLAIN_FIELDS if f in data},
        team_id=team_id,
        distributor_id=data.get("distributor_id"),
    )
    _apply_location(customer, data.get("location"))
    session.add(customer)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="customer",
        entity_id=customer.id,
        action="create",
        new=snapshot(customer),
    )
    events.created(session, customer, Actor.of(principal), source="app")
    return customer


def update_customer(
    session: Session, *, principal: Principal, customer_id: int, data: dict
) -> Customer:
    principal.require("customers:write")
    customer = get_customer(session, principal=principal, customer_id=customer_id)
    before = snapshot(customer)
    code_taken = (
        "code" in data
        and data["code"] != customer.code
        and (repository.find_by_code(session, data["code"]) is not None)
    )
    if code_taken:
        raise Conflict(f"customer code {data['code']!r} is already used")
    if "team_id" in data:
        _check_team(session, principal, data["team_id"])
        customer.team_id = data["team_id"]
    if "distributor_id" in data:
        _check_distributor(session, principal, data["distributor_id"], customer.id)
        customer.distributor_id = data["distributor_id"]
    if "location" in data:
        if principal.is_rep and customer.location is not None:
            raise Forbidden(
                "a rep cannot move a customer's location directly",
                hint="propose the new location; a manager approves or rejects it",
            )
        _apply_location(customer, data["location"])
    for field in _PLAIN_FIELDS:
        if field in data:
            setattr(customer, field, data[field])
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="customer",
        entity_id=customer.id,
        action="update",
        old=before,
        new=snapshot(customer),
    )
    events.location_changed(
        session,
        customer.id,
        old=before["location"],
        new=lat_lon(customer.location),
        actor=Actor.of(principal),
    )
    return customer


def delete_customer(session: Session, *, principal: Principal, customer_id: int) -> None:
    principal.require("customers:write")
    if principal.is_rep:
        raise Forbidden("reps cannot delete customers", hint="ask your manager")
    customer = get_customer(session, principal=principal, customer_id=customer_id)
    before = snapshot(customer)
    session.delete(customer)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="customer",
        entity_id=customer_id,
        action="delete",
        old=before,
    )


def customers_by_id(
    session: Session, *, principal: Principal, ids: set[int]
) -> dict[int, Customer]:
    """The visible ones among these customers (a map's labels); the others are left out."""
    principal.require("customers:read")
    return repository.visible_by_ids(session, principal, ids)
