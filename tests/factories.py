"""Builders for test data: two teams (A and B) with their people and customers.

Team A is "ours" in access tests; team B is the foreign team whose objects must stay
invisible to team A's rep and manager.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from sqlalchemy.orm import Session

from sfa.anomalies.models import RepWeek
from sfa.auth import tokens
from sfa.auth.passwords import hash_password
from sfa.company import service as company_service
from sfa.customers.models import Customer, LocationStatus
from sfa.geo import to_geography
from sfa.users.models import Role, Team, User
from sfa.visits.models import DwellSource, VerificationStatus, Visit

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


def make_visit(
    session: Session,
    rep: User,
    customer: Customer,
    at: datetime,
    position: tuple[float, float],
    dwell_minutes: float | None = None,
    checked_out: bool = True,
) -> Visit:
    """A verified visit stored directly (no check-in rules), for the set-based analyses."""
    visit = Visit(
        rep_id=rep.id,
        client_id=uuid.uuid4(),
        request_hash="test",
        customer_id=customer.id,
        check_in_at=at,
        received_at=at,
        check_in_position=to_geography(*position),
        check_in_mock=False,
        verification_status=VerificationStatus.verified,
        local_day=at.astimezone(company_service.get_company_settings(session).tz).date(),
    )
    if dwell_minutes is not None:
        visit.dwell_seconds = int(dwell_minutes * 60)
        visit.dwell_source = DwellSource.check_out if checked_out else DwellSource.not_checked_out
        if checked_out:
            visit.check_out_at = at + timedelta(minutes=dwell_minutes)
    session.add(visit)
    session.flush()
    return visit


def make_rep_weeks(session: Session, rep: User, rows: list[tuple], last: date) -> None:
    """rep_weeks rows (visits, short_visits, planned, done), oldest first, up to `last`."""
    start = last - timedelta(weeks=len(rows) - 1)
    for i, (visits, short, planned, done) in enumerate(rows):
        monday = start + timedelta(weeks=i)
        iso = monday.isocalendar()
        session.add(
            RepWeek(
                rep_id=rep.id,
                week_start=monday,
                iso_year=iso.year,
                iso_week=iso.week,
                visits=visits,
                short_visits=short,
                planned=planned,
                planned_done=done,
            )
        )
    session.flush()
