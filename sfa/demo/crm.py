"""Demo contracts, renewals, pipelines and pulse surveys (issue 15), on top of `seed_demo`.

Deterministic (fixed seed, dates relative to the company's today) and loaded once: when
a pipeline exists nothing is added.

- Renewal staff: Dewi Lestari (account manager), Agus Halim (renewal manager), Rina
  Gunawan (customer success), all `manager` users without a team; manager.sari is an
  account manager too. Agus joined 30 days ago: renewals that came due before had no
  renewal manager and fell back to the account managers (CURE's resources lens).
- Contracts: 10 per team with distributors and wholesalers, across the three ACV tiers
  (low < 50 M, mid < 500 M, enterprise from 500 M IDR), two thirds ending within the next
  90 days; some with upsell products or scores, some flagged enterprise or with many
  stakeholders; one per team renewed from last year's contract (the renewal chain). The
  ones inside the alert window (`renewal_alert_days`) have their "Contract renewal"
  workflow run, started on the day the alert fired: CURE routed them (`renewal_due`),
  reminders went out on their days, owners got their tasks, enterprise renewals their
  opportunities; so every tier, the upsell lens, the fallback, the balancing and the
  runs' steps show up in `GET /v1/reports/renewals`.
- Pipelines "Outlet sales" (7 stages) and "Distributor partnerships" (5 stages); ~10
  opportunities per rep opened over the last 180 days, moved stage by stage through the
  API's own move service (so the stage history is what real moves write), some won, some
  lost with reasons, the rest open with expected close dates. Three new leads next to
  customers of three teams, scored and assigned by the "Lead assignment" workflow (two
  given to the nearest team's rep, one nurtured); the enterprise renewals' opportunities.
- A weekly pulse survey per team with answers for the last three complete weeks (eNPS
  question 0-10, a choice, a 1-5 scale, a text); Jakarta Timur has only 4 answers in the
  oldest of those weeks, so that period's results are hidden (below 5).
"""

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.auth.passwords import hash_password
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.contracts import service as contract_service
from sfa.contracts import staff
from sfa.contracts.models import Contract, ContractStatus, ContractStatusSpan
from sfa.contracts.roles import RenewalRole
from sfa.customers.models import Customer
from sfa.demo import crm_runs
from sfa.demo.seed import DEMO_PASSWORD, Progress
from sfa.pipeline import moves, pipelines
from sfa.pipeline import service as opportunity_service
from sfa.pipeline.models import Pipeline, StageOutcome
from sfa.surveys import periods
from sfa.surveys import service as survey_service
from sfa.surveys.models import Participation, Response
from sfa.users.models import Role, Team, User

M = Decimal(1_000_000)
STAFF = (
    ("am.dewi", "Dewi Lestari", "account_manager"),
    ("rm.agus", "Agus Halim", "renewal_manager"),
    ("cs.rina", "Rina Gunawan", "customer_success"),
)
UPSELL_PRODUCTS = (
    ("demo-upsell-1", "UP-KOPI", "Kopi Sachet Premium"),
    ("demo-upsell-2", "UP-TEH", "Teh Botol 350 ml"),
    ("demo-upsell-3", "UP-SNACK", "Keripik Singkong 100 g"),
)
# ACVs of a team's ten contracts (M IDR): four low, four mid, two enterprise.
ACVS = (12, 28, 44, 49, 60, 180, 320, 480, 620, 1500)
OUTLET_STAGES = [
    ("Prospect", 10, "open"),
    ("Qualified", 25, "open"),
    ("Trial order", 40, "open"),
    ("Proposal", 60, "open"),
    ("Negotiation", 80, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]
PARTNER_STAGES = [
    ("Lead", 10, "open"),
    ("Meeting", 30, "open"),
    ("Terms", 60, "open"),
    ("Signed", 100, "won"),
    ("Declined", 0, "lost"),
]
LOST_REASONS = ("price", "competitor", "no budget", "no response", "timing")
SOURCES = ("visit", "referral", "phone", "event", "web")


def _noop(step: str, done: int, total: int) -> None:
    pass


@dataclass(frozen=True)
class CrmResult:
    created: bool
    contracts: int = 0
    routed: int = 0
    opportunities: int = 0
    responses: int = 0


def _staff(session: Session, admin: User) -> User:
    """The renewal staff but the renewal manager, who is returned (to join later)."""
    who = auth_service.principal_for_user(session, admin)
    password = hash_password(DEMO_PASSWORD)
    late = None
    for username, name, role in STAFF:
        user = User(username=username, full_name=name, role=Role.manager, password_hash=password)
        session.add(user)
        session.flush()
        if role == "renewal_manager":
            late = user
        else:
            staff.add_staff(session, principal=who, user_id=user.id, role=RenewalRole(role))
    sari = session.scalars(select(User).where(User.username == "manager.sari")).one()
    staff.add_staff(session, principal=who, user_id=sari.id, role=RenewalRole.account_manager)
    assert late is not None  # STAFF has a renewal manager
    return late


def _products(session: Session) -> list[Product]:
    found = []
    for external_id, code, name in UPSELL_PRODUCTS:
        product = session.scalar(select(Product).where(Product.external_id == external_id))
        if product is None:
            product = Product(external_id=external_id, code=code, name=name, unit="karton")
            session.add(product)
        found.append(product)
    session.flush()
    return found


def _contract_data(
    rng: random.Random, i: int, customer: Customer, rep: User, today: date, products
):
    acv = Decimal(ACVS[i]) * M
    soon = i % 3 != 2  # two thirds end within the next 90 days
    end = today + timedelta(days=rng.randrange(5, 88) if soon else rng.randrange(120, 300))
    data = {
        "customer_id": customer.id,
        "title": f"Perjanjian pasokan {customer.name}",
        "acv": acv,
        "start_date": end - timedelta(days=364),
        "end_date": end,
        "auto_renew": acv < 50 * M and i != 3,
        "notice_days": 30,
        "roles": {"sales_rep": rep.id},
    }
    if i in (1, 5):
        data["upsell_product_ids"] = [p.id for p in rng.sample(products, 2)]
    if i == 4:
        data["upsell_score"] = 70
    if i == 6:
        data["stakeholders"] = 12  # enterprise by its stakeholders
    return data


def _contracts(session: Session, admin: User, rng: random.Random, today: date) -> list[Contract]:
    who = auth_service.principal_for_user(session, admin)
    products = _products(session)
    made = []
    for team in session.scalars(select(Team).order_by(Team.id)):
        customers = list(
            session.scalars(
                select(Customer)
                .where(
                    Customer.team_id == team.id,
                    Customer.customer_class.in_(("distributor", "grosir")),
                )
                .order_by(Customer.id)
                .limit(len(ACVS))
            )
        )
        reps = list(session.scalars(select(User).where(User.team_id == team.id).order_by(User.id)))
        for i, customer in enumerate(customers):
            data = _contract_data(rng, i, customer, reps[i % len(reps)], today, products)
            made.append(contract_service.create_contract(session, principal=who, data=data))
        # Last year's contract of the first customer, renewed into this year's.
        old = made[-len(customers)]
        _chain(session, old, admin, today)
    return made


def _chain(session: Session, current: Contract, admin: User, today: date) -> None:
    """Make `current` the successor of a renewed contract from the year before."""
    predecessor = Contract(
        customer_id=current.customer_id,
        title=current.title,
        acv=(current.acv * Decimal("0.9")).quantize(Decimal("0.01")),
        currency=current.currency,
        start_date=current.start_date - timedelta(days=365),
        end_date=current.start_date - timedelta(days=1),
        status=ContractStatus.renewed,
        created_by="demo",
    )
    session.add(predecessor)
    session.flush()
    current.renewal_of_id = predecessor.id
    start = datetime.combine(predecessor.start_date, time(9), UTC)
    end = datetime.combine(current.start_date, time(9), UTC)
    session.add_all(
        [
            ContractStatusSpan(
                contract_id=predecessor.id,
                status=ContractStatus.active,
                entered_at=start,
                left_at=end,
                actor="demo",
            ),
            ContractStatusSpan(
                contract_id=predecessor.id,
                status=ContractStatus.renewed,
                entered_at=end,
                actor="demo",
            ),
        ]
    )


def _pipelines(session: Session, admin: User):
    who = auth_service.principal_for_user(session, admin)
    made = []
    for name, stages, default in (
        ("Outlet sales", OUTLET_STAGES, True),
        ("Distributor partnerships", PARTNER_STAGES, False),
    ):
        spec = [{"name": n, "probability": p, "outcome": o} for n, p, o in stages]
        made.append(
            pipelines.create_pipeline(
                session, principal=who, data={"name": name, "is_default": default, "stages": spec}
            )
        )
    return made


def _one_deal(session: Session, rng: random.Random, rep: User, pipeline, stages, now, tz) -> None:
    who = auth_service.principal_for_user(session, rep)
    opened = now - timedelta(days=rng.uniform(3, 180))
    partners = pipeline.name != "Outlet sales"
    amount = Decimal(rng.randrange(40, 400) if partners else rng.randrange(3, 150)) * M
    opportunity, _ = opportunity_service.create_opportunity(
        session,
        principal=who,
        data={
            "title": f"{'Kemitraan' if partners else 'Outlet'} {rng.randrange(1000, 9999)}",
            "pipeline_id": pipeline.id,
            "prospect_name": f"Toko {rng.choice(('Maju', 'Jaya', 'Sentosa', 'Abadi'))}",
            "amount": amount,
            "source": rng.choice(SOURCES),
            "opened_at": opened,
            "expected_close": (opened + timedelta(days=rng.randrange(30, 120)))
            .astimezone(tz)
            .date(),
        },
    )
    at = opened
    open_stages = [s for s in stages if s.outcome is StageOutcome.open]
    won = next(s for s in stages if s.outcome is StageOutcome.won)
    lost = next(s for s in stages if s.outcome is StageOutcome.lost)
    for nxt in [*open_stages[1:], won]:
        at += timedelta(days=rng.uniform(1, 20))
        if at >= now:
            return  # still open
        roll = rng.random()
        target = lost if roll < 0.22 else nxt
        moves.move_opportunity(
            session,
            principal=who,
            opportunity_id=opportunity.id,
            stage_id=target.id,
            at=at,
            lost_reason=rng.choice(LOST_REASONS) if target is lost else None,
        )
        if target is lost or (roll > 0.9 and nxt is not won):
            return  # lost, or stalled in this stage


def _opportunities(session: Session, rng: random.Random, made, progress: Progress) -> int:
    settings = company_service.get_company_settings(session)
    now = datetime.now(UTC)
    reps = list(session.scalars(select(User).where(User.role == Role.rep).order_by(User.id)))
    count = 0
    for n, rep in enumerate(reps, start=1):
        for k in range(rng.randrange(8, 13)):
            pipeline, stages = made[0] if k % 4 else made[1]
            _one_deal(session, rng, rep, pipeline, stages, now, settings.tz)
            count += 1
        progress("opportunities", n, len(reps))
    return count


SURVEY_QUESTIONS = [
    {
        "key": "enps",
        "kind": "scale",
        "enps": True,
        "text": "Seberapa mungkin Anda merekomendasikan tempat kerja ini? (0-10)",
    },
    {
        "key": "beban",
        "kind": "choice",
        "options": ["ringan", "pas", "berat"],
        "text": "Beban kerja minggu ini?",
    },
    {"key": "dukungan", "kind": "scale", "min": 1, "max": 5, "text": "Dukungan dari manajer (1-5)"},
    {"key": "saran", "kind": "text", "text": "Saran untuk tim?"},
]
_NOTES = (
    "",
    "",
    "Target terlalu tinggi",
    "Rute perlu diperbaiki",
    "Stok sering kosong",
    "Terima kasih",
)


def _surveys(session: Session, rng: random.Random, today: date) -> int:
    answered = 0
    for team in session.scalars(select(Team).order_by(Team.id)):
        manager = session.get_one(User, team.manager_id)
        survey = survey_service.create_survey(
            session,
            principal=auth_service.principal_for_user(session, manager),
            data={
                "team_id": team.id,
                "title": "Pulse mingguan",
                "cadence": "weekly",
                "questions": SURVEY_QUESTIONS,
                "starts_on": today - timedelta(weeks=4),
            },
        )
        reps = list(session.scalars(select(User).where(User.team_id == team.id).order_by(User.id)))
        mood = rng.uniform(5.5, 9)  # a team's mood, so that teams differ
        for weeks_back in (3, 2, 1):
            period = periods.label(survey.cadence, today - timedelta(weeks=weeks_back))
            few = team.name == "Jakarta Timur" and weeks_back == 3
            for rep in reps[:4] if few else reps:
                session.add(Participation(survey_id=survey.id, period=period, user_id=rep.id))
                answers = {
                    "enps": max(0, min(10, round(rng.gauss(mood, 2)))),
                    "beban": rng.choice(["ringan", "pas", "pas", "berat"]),
                    "dukungan": rng.randrange(2, 6),
                }
                if note := rng.choice(_NOTES):
                    answers["saran"] = note
                session.add(
                    Response(survey_id=survey.id, period=period, team_id=team.id, answers=answers)
                )
                answered += 1
    session.flush()
    return answered


def seed_crm(session: Session, *, progress: Progress = _noop) -> CrmResult:
    if session.scalar(select(Pipeline.id).limit(1)) is not None:
        return CrmResult(created=False)
    admin = session.scalar(select(User).where(User.username == "admin"))
    if admin is None:
        raise ValueError("seed_crm needs the demo users: run seed_demo first")
    rng = random.Random(20261201)
    settings = company_service.get_company_settings(session)
    today = datetime.now(UTC).astimezone(settings.tz).date()
    late = _staff(session, admin)
    contracts = _contracts(session, admin, rng, today)
    progress("contracts", len(contracts), len(contracts))
    made = _pipelines(session, admin)  # first: enterprise renewals open opportunities
    routed = crm_runs.route_due(session, contracts, today, admin, late)
    opportunities = _opportunities(session, rng, made, progress)
    opportunities += crm_runs.seed_leads(session, admin)
    responses = _surveys(session, rng, today)
    progress("surveys", responses, responses)
    return CrmResult(True, len(contracts), routed, opportunities, responses)
