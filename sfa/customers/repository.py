"""Customer queries. Visibility is applied here, once, for every read."""

from collections.abc import Sequence
from typing import NamedTuple

from geoalchemy2 import Geometry
from sqlalchemy import Select, bindparam, cast, column, func, select, table, update
from sqlalchemy.orm import Session

from sfa import search
from sfa.auth.principal import Principal
from sfa.customers.models import Customer, LocationStatus
from sfa.geo import SRID, to_geography
from sfa.users import repository as user_repository


def _in_teams(team_ids):
    """The one visibility rule for customers: those of the principal's teams (`team_ids`
    are values or an expanding bind parameter); a principal without team_ids sees all."""
    return Customer.team_id.in_(team_ids)


def visible_customers(principal: Principal) -> Select:
    stmt = select(Customer)
    if principal.team_ids is None:
        return stmt
    return stmt.where(_in_teams(principal.team_ids))


def get_visible(session: Session, principal: Principal, customer_id: int) -> Customer | None:
    return session.scalar(visible_customers(principal).where(Customer.id == customer_id))


class CustomerPoint(NamedTuple):
    """What a check-in needs of its customer (no ORM object, no geometry parsing)."""

    id: int
    verify_radius_m: float | None
    lat: float | None
    lon: float | None


def _point_query(all_teams: bool) -> Select:
    point = cast(Customer.location, Geometry)
    stmt = select(Customer.id, Customer.verify_radius_m, func.ST_Y(point), func.ST_X(point)).where(
        Customer.id == bindparam("customer_id")
    )
    return stmt if all_teams else stmt.where(_in_teams(bindparam("team_ids", expanding=True)))


# Built once: building and executing this select through the ORM took ~0.27 ms of CPU per
# check-in, more than the check-in's own INSERT (bench/README.md).
_POINT_QUERIES = {all_teams: _point_query(all_teams) for all_teams in (True, False)}


def get_visible_point(
    session: Session, principal: Principal, customer_id: int
) -> CustomerPoint | None:
    team_ids = principal.team_ids
    params: dict[str, object] = {"customer_id": customer_id}
    if team_ids is not None:
        params["team_ids"] = list(team_ids)
    row = session.connection().execute(_POINT_QUERIES[team_ids is None], params).first()
    return CustomerPoint(*row) if row is not None else None


def capture_location(session: Session, customer_id: int, location) -> bool:
    """Give a customer without a location this one; False when it has one meanwhile (the
    first capture wins, a later one never moves it: moves go through proposals)."""
    return (
        session.execute(
            update(Customer)
            .where(Customer.id == customer_id, Customer.location.is_(None))
            .values(location=location, location_status=LocationStatus.captured)
            .returning(Customer.id)
        ).first()
        is not None
    )


def find_by_code(session: Session, code: str) -> Customer | None:
    return session.scalar(select(Customer).where(Customer.code == code))


def find_by_codes(session: Session, codes: Sequence[str]) -> dict[str, Customer]:
    """{code: customer} of those that exist, in one query."""
    found = session.scalars(select(Customer).where(Customer.code.in_(list(set(codes)))))
    return {customer.code: customer for customer in found}


def filter_customers(
    stmt: Select,
    *,
    q: str | None = None,
    customer_class: str | None = None,
    team_id: int | None = None,
    distributor_id: int | None = None,
    unassigned: bool = False,
) -> Select:
    if q:
        stmt = stmt.where(search.contains(q, Customer.code, Customer.name))
    if customer_class:
        stmt = stmt.where(Customer.customer_class == customer_class)
    if team_id is not None:
        stmt = stmt.where(Customer.team_id == team_id)
    if distributor_id is not None:
        stmt = stmt.where(Customer.distributor_id == distributor_id)
    if unassigned:
        stmt = stmt.where(Customer.team_id.is_(None))
    return stmt


def within_radius(stmt: Select, *, lat: float, lon: float, radius_m: float) -> Select:
    """Customers within `radius_m` metres of a point, nearest first, with their distance.

    ST_DWithin on geography measures on the spheroid and uses the GiST index on
    `customers.location`; ST_Distance then gives the exact metres for ordering.
    """
    here = to_geography(lat, lon)
    distance = func.ST_Distance(Customer.location, here).label("distance_m")
    return (
        stmt.add_columns(distance)
        .where(func.ST_DWithin(Customer.location, here, radius_m))
        .order_by(distance, Customer.id)
    )


def within_bbox(
    stmt: Select, *, min_lon: float, min_lat: float, max_lon: float, max_lat: float
) -> Select:
    """Customers whose location lies in a lon/lat box (map viewport search).

    The comparison is done on the geometry cast, where a box is a plain rectangle in
    degrees (on geography its edges would be great-circle arcs).
    """
    envelope = func.ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat, SRID)
    return stmt.where(func.ST_Intersects(cast(Customer.location, Geometry(srid=SRID)), envelope))


def visible_by_ids(session: Session, principal: Principal, ids: set[int]) -> dict[int, Customer]:
    if not ids:
        return {}
    stmt = visible_customers(principal).where(Customer.id.in_(sorted(ids)))
    return {c.id: c for c in session.scalars(stmt)}


def nearest_team(session: Session, *, lat: float, lon: float, radius_m: float) -> int | None:
    """The team of the nearest located customer with a team within `radius_m` metres of a
    point (the "territory" a new customer falls in), or None. ST_DWithin on geography uses
    the GiST index on `customers.location`; the few rows within the radius are then
    ordered by their exact distance."""
    here = to_geography(lat, lon)
    return session.scalar(
        select(Customer.team_id)
        .where(
            Customer.team_id.is_not(None),
            Customer.location.is_not(None),
            func.ST_DWithin(Customer.location, here, radius_m),
        )
        .order_by(func.ST_Distance(Customer.location, here), Customer.id)
        .limit(1)
    )


# The visits table as far as customers need it: sfa.visits imports this package, so its
# models are not imported here (no cycle between domains).
_visits = table("visits", column("id"), column("rep_id"), column("customer_id"))


def visible_visit_customer(session: Session, principal: Principal, visit_id: int) -> int | None:
    """The customer of a visit the principal may see (their own, their teams' reps'),
    or None: ids in request bodies are checked like ids in paths."""
    stmt = select(_visits.c.customer_id).where(_visits.c.id == visit_id)
    condition = user_repository.visible_rep_condition(principal, _visits.c.rep_id)
    if condition is not None:
        stmt = stmt.where(condition)
    return session.scalar(stmt)
