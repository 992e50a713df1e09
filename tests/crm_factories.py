"""Builders for contracts, pipelines, opportunities and surveys in tests (through the
services, as an admin or the given principal would create them)."""

from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.contracts import service as contract_service
from sfa.pipeline import pipelines
from sfa.pipeline import service as opportunity_service
from sfa.surveys import service as survey_service
from sfa.users.models import User

STAGES = [
    {"name": "Prospect", "probability": "10", "outcome": "open"},
    {"name": "Qualified", "probability": "25", "outcome": "open"},
    {"name": "Proposal", "probability": "50", "outcome": "open"},
    {"name": "Negotiation", "probability": "75", "outcome": "open"},
    {"name": "Won", "probability": "100", "outcome": "won"},
    {"name": "Lost", "probability": "0", "outcome": "lost"},
]

ENPS_QUESTIONS = [
    {"key": "enps", "kind": "scale", "enps": True, "text": "Would you recommend working here?"},
    {"key": "mood", "kind": "choice", "options": ["good", "ok", "bad"], "text": "This week?"},
    {"key": "note", "kind": "text", "text": "Anything else?"},
]


def principal(session: Session, user: User):
    return auth_service.principal_for_user(session, user)


def make_contract(session: Session, admin: User, customer, acv, **fields):
    data = {
        "customer_id": customer.id,
        "title": fields.pop("title", f"Supply agreement {customer.code}"),
        "acv": Decimal(acv),
        "start_date": fields.pop("start_date", date(2026, 1, 1)),
        "end_date": fields.pop("end_date", date(2026, 12, 31)),
    } | fields
    return contract_service.create_contract(session, principal=principal(session, admin), data=data)


def make_pipeline(session: Session, admin: User, name: str = "Sales", stages=None):
    pipeline, made = pipelines.create_pipeline(
        session,
        principal=principal(session, admin),
        data={"name": name, "is_default": True, "stages": stages or STAGES},
    )
    return pipeline, {s.name: s for s in made}


def make_opportunity(session: Session, who: User, **data):
    data = {"title": "Deal", "amount": Decimal(1_000_000)} | data
    if "customer_id" not in data:
        data.setdefault("prospect_name", "Toko Prospek")
    opportunity, _ = opportunity_service.create_opportunity(
        session, principal=principal(session, who), data=data
    )
    return opportunity


def make_survey(session: Session, manager: User, team, **data):
    data = {
        "team_id": team.id,
        "title": "Weekly pulse",
        "cadence": "weekly",
        "questions": ENPS_QUESTIONS,
    } | data
    return survey_service.create_survey(session, principal=principal(session, manager), data=data)
