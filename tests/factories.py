"""Builders for test data: two teams (A and B) with their people and customers.

Team A is "ours" in access tests; team B is the foreign team whose objects must stay
invisible to team A's rep and manager.
"""

from dataclasses import dataclass
from functools import cache

from sqlalchemy.orm import Session

from sfa.auth import tokens
from sfa.auth.passwords import hash_password
from sfa.customers.models import Customer, LocationStatus
from sfa.geo import to_geography
from sfa.users.models import Role, Team, User

PASSWORD = "correct-horse-battery"


@cache
def password_hash() -> str:
    # argon2 is deliberately slow: hash once per test session.
    return hash_password(PASSWORD)


def make_user(session: Session, username: str, role: Role, team: Team | None = None) -> User:
    user = User(
        username=username,
        full_name=username.title(),
        role=role,
        team_id=team.id if team else None,
        password_hash=password_hash(),
    )
    session.add(user)
    session.flush()
    return user


def make_customer(
    session: Session,
    code: str,
    team: Team | None,
    lat: float | None = None,
    lon: float | None = None,
    **fields,
) -> Customer:
    customer = Customer(
        code=code,
        name=f"Toko {code}",
        customer_class=fields.pop("cls", "toko"),
        team_id=team.id if team else None,
        **fields,
    )
    if lat is not None:
        customer.location = to_geography(lat, lon)
        customer.location_status = LocationStatus.imported
    session.add(customer)
    session.flush()
    return customer


def auth_header(user: User) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.issue(user.id, 'access')}"}


@dataclass
class World:
    admin: User
    manager_a: User
    manager_b: User
    rep_a: User
    rep_a2: User
    rep_b: User
    team_a: Team
    team_b: Team
    customer_a: Customer
    customer_b: Customer
    distributor_b: Customer

    def headers(self, who: str) -> dict[str, str]:
        return auth_header(getattr(self, who))


def build_world(session: Session) -> World:
    admin = make_user(session, "admin", Role.admin)
    manager_a = make_user(session, "manager.a", Role.manager)
    manager_b = make_user(session, "manager.b", Role.manager)
    team_a = Team(name="Team A", manager_id=manager_a.id)
    team_b = Team(name="Team B", manager_id=manager_b.id)
    session.add_all([team_a, team_b])
    session.flush()
    rep_a = make_user(session, "rep.a", Role.rep, team_a)
    rep_a2 = make_user(session, "rep.a2", Role.rep, team_a)
    rep_b = make_user(session, "rep.b", Role.rep, team_b)
    customer_a = make_customer(session, "A001", team_a, -6.2000, 106.8000)
    distributor_b = make_customer(
        session, "BD01", team_b, -6.3000, 106.9000, is_distributor=True, cls="distributor"
    )
    customer_b = make_customer(
        session, "B001", team_b, -6.3001, 106.9001, distributor_id=distributor_b.id
    )
    return World(
        admin,
        manager_a,
        manager_b,
        rep_a,
        rep_a2,
        rep_b,
        team_a,
        team_b,
        customer_a,
        customer_b,
        distributor_b,
    )
