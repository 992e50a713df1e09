"""The demo's workflow runs (issue 15): the "Contract renewal" runs of the contracts
inside the alert window, replayed day by day from the day each alert fired, and the new
leads the "Lead assignment" workflow scores and assigns (sfa/demo/crm.py seeds the rest).
"""

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.contracts import routing, staff
from sfa.contracts import service as contract_service
from sfa.contracts.models import Contract, ContractStatus, ContractStatusSpan
from sfa.contracts.roles import RenewalRole
from sfa.customers.models import Customer
from sfa.events import repository as event_repository
from sfa.events import service as event_service
from sfa.events import types
from sfa.geo import lat_lon
from sfa.pipeline import service as opportunity_service
from sfa.users.models import Role, User
from sfa.workflows import consumer as workflow_consumer
from sfa.workflows import renewals

M = Decimal(1_000_000)


def as_of(day: date, tz) -> datetime:
    return datetime.combine(day, time(9, 0), tz).astimezone(UTC)


JOINED_DAYS_AGO = 30  # the renewal manager's start


def route_due(
    session: Session, contracts: list[Contract], today: date, admin: User, late: User
) -> int:
    """Contracts inside the alert window start their "Contract renewal" run on the day
    the alert fired (CURE routes them, they become renewal_due), in that order; the
    renewal manager joins the staff JOINED_DAYS_AGO. The runs' timers are then fired day
    by day up to now, so the reminders went out on their days and the audit shows each
    run's steps. Routed by CURE directly when the workflow is switched off."""
    settings = company_service.get_company_settings(session)
    routed = 0
    joined = False
    first_day: date | None = None
    for contract in sorted(contracts, key=lambda c: c.end_date):
        alert_day = contract.end_date - timedelta(days=settings.renewal_alert_days)
        if alert_day > today:
            continue
        if not joined and alert_day >= today - timedelta(days=JOINED_DAYS_AGO):
            who = auth_service.principal_for_user(session, admin)
            staff.add_staff(
                session, principal=who, user_id=late.id, role=RenewalRole.renewal_manager
            )
            joined = True
        at = as_of(alert_day, settings.tz)
        span = session.scalars(
            select(ContractStatusSpan).where(ContractStatusSpan.contract_id == contract.id)
        ).one()
        span.entered_at = as_of(contract.start_date, settings.tz)
        # Earlier days' timers first: the runs advance in the order of the calendar.
        _wake_until(session, first_day, alert_day, settings.tz)
        first_day = first_day or alert_day
        if renewals.start_run(session, contract, now=at) is None:
            contract_service.change_status(
                session, contract, ContractStatus.renewal_due, actor="demo", at=at
            )
            routing.route(session, contract, actor="demo")
        routed += 1
    _wake_until(session, first_day, today + timedelta(days=1), settings.tz)
    return routed


def _wake_until(session: Session, first: date | None, until: date, tz) -> None:
    """Fire the renewal runs' timers due before `until`, a day at a time (the reminders
    of each day at 09:00 of that day, company time)."""
    if first is None:
        return
    day = first
    while day < until:
        renewals.wake(session, now=min(as_of(day, tz), datetime.now(UTC)))
        day += timedelta(days=1)


# Leads the "Lead assignment" workflow scores and assigns: (source, amount M, by a rep).
LEADS = (("referral", 30, False), ("event", 40, False), ("cold_call", 2, True))


def seed_leads(session: Session, admin: User) -> int:
    """New leads next to customers of different teams: two score high and are given to
    the nearest team's least loaded rep, one (a rep's own) scores low and is nurtured.
    Their `opportunity.created` events go to the workflows here, as the drain would a few
    seconds later (the drain then finds their runs started and starts nothing twice)."""
    first_of_team: dict[int | None, Customer] = {}
    for found in session.scalars(
        select(Customer)
        .where(Customer.location.is_not(None), Customer.team_id.is_not(None))
        .order_by(Customer.team_id, Customer.id)
    ):
        first_of_team.setdefault(found.team_id, found)
    customers = list(first_of_team.values())
    made = 0
    for (source, amount, own), customer in zip(LEADS, customers, strict=False):
        lat, lon = lat_lon(customer.location)
        who = admin
        if own:
            who = (
                session.scalars(
                    select(User).where(User.team_id == customer.team_id, User.role == Role.rep)
                ).first()
                or admin
            )
        lead, _ = opportunity_service.create_opportunity(
            session,
            principal=auth_service.principal_for_user(session, who),
            data={
                "kind": "lead",
                "title": f"Prospek dekat {customer.name}",
                "prospect_name": f"Calon pelanggan {customer.code}",
                "location": {"lat": lat + 0.002, "lon": lon + 0.002},
                "amount": Decimal(amount) * M,
                "source": source,
            },
        )
        event = event_repository.get(
            session, event_service.event_key(types.OPPORTUNITY_CREATED, lead.id)
        )
        if event is not None:
            workflow_consumer.handle(session, event)
        made += 1
    return made
