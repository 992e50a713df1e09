"""Lead scoring and assignment, the steps of the built-in "Lead assignment" workflow
(sfa/workflows/defaults/lead_assignment.json; docs/pipeline.md, "Lead scoring and
assignment").

Scoring is a pure sum of the workflow's criteria (its parameters, so a company edits
them like any workflow): points for the lead's source, for its customer's class, and for
the highest amount band it reaches, plus a base, kept within 0-100.

Assignment: a lead without an owner goes to a rep of the team whose territory covers
its location — the team of the nearest customer (PostGIS KNN `<->` on the customers'
positions, through their GiST index, within `max_km` by ST_DWithin) — the active rep of
that team with the fewest open deals (ties: the lowest id). A lead without a location
goes to its customer's team. The reason, in English and Bahasa Indonesia with its
numbers, is stored in the opportunity's audit entry and given to the run.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.customers.models import Customer
from sfa.pipeline.models import Opportunity
from sfa.users.models import Role, Team, User


@dataclass(frozen=True)
class Scored:
    score: int
    points: list[dict] = field(default_factory=list)  # [{criterion, value, points}]


def score(criteria: dict, *, source: str | None, amount: Decimal, customer_class: str | None):
    """The lead's score from `criteria` ({source, customer_class, amount bands, base})."""
    points = []
    for criterion, value in (("source", source), ("customer_class", customer_class)):
        table = criteria.get(criterion) or {}
        if value is not None and value in table:
            points.append({"criterion": criterion, "value": value, "points": table[value]})
    bands = sorted(criteria.get("amount") or [], key=lambda band: band["min"], reverse=True)
    band = next((b for b in bands if amount >= Decimal(str(b["min"]))), None)
    if band is not None:
        points.append({"criterion": "amount", "value": str(amount), "points": band["points"]})
    total = int(criteria.get("base") or 0) + sum(p["points"] for p in points)
    return Scored(max(0, min(100, total)), points)


def score_lead(session: Session, deal: Opportunity, criteria: dict, *, actor: str) -> Scored:
    customer = session.get(Customer, deal.customer_id) if deal.customer_id else None
    scored = score(
        criteria,
        source=deal.source,
        amount=deal.amount,
        customer_class=customer.customer_class if customer else None,
    )
    old, deal.score = deal.score, scored.score
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="opportunity",
        entity_id=deal.id,
        action="score",
        old={"score": old},
        new={"score": scored.score, "points": scored.points},
    )
    return scored


def nearest_statement(deal_id: int, max_km: float):
    """(customer, metres) of the nearest customer with a team within `max_km` of the
    lead: KNN `<->` over ix_customers_location (GiST), bounded by ST_DWithin. No tie
    breaker after the distance: one would stop the index from returning rows nearest
    first (the planner would sort every customer within `max_km` instead)."""
    point = select(Opportunity.location).where(Opportunity.id == deal_id).scalar_subquery()
    return (
        select(Customer, func.ST_Distance(Customer.location, point))
        .where(
            Customer.team_id.is_not(None),
            Customer.location.is_not(None),
            func.ST_DWithin(Customer.location, point, max_km * 1000),
        )
        .order_by(Customer.location.op("<->")(point))
        .limit(1)
    )


def _nearest(session: Session, deal: Opportunity, max_km: float) -> tuple[Customer, float] | None:
    row = session.execute(nearest_statement(deal.id, max_km)).first()
    return (row[0], float(row[1])) if row else None


def _rep_of(session: Session, team_id: int) -> tuple[User, int, int] | None:
    """The team's active rep with the fewest open deals: (rep, their open deals, reps)."""
    session.get(Team, team_id, with_for_update=True)  # concurrent leads of one team in turn
    open_deals = (
        select(func.count())
        .where(Opportunity.owner_id == User.id, Opportunity.closed_at.is_(None))
        .scalar_subquery()
    )
    rows = session.execute(
        select(User, open_deals)
        .where(User.team_id == team_id, User.role == Role.rep, User.is_active.is_(True))
        .order_by(open_deals, User.id)
    ).all()
    return (rows[0][0], int(rows[0][1]), len(rows)) if rows else None


def _where(session: Session, deal: Opportunity, max_km: float) -> tuple[int | None, dict]:
    """The team covering the lead, and why."""
    if deal.location is not None:
        found = _nearest(session, deal, max_km)
        if found is not None:
            customer, metres = found
            km = round(metres / 1000, 1)
            return customer.team_id, {
                "code": "nearest_customer",
                "customer_id": customer.id,
                "customer_name": customer.name,
                "km": km,
                "en": f"nearest customer {customer.name} ({km} km)",
                "id": f"pelanggan terdekat {customer.name} ({km} km)",
            }
    own = session.get(Customer, deal.customer_id) if deal.customer_id else None
    if own is not None and own.team_id is not None:
        return own.team_id, {
            "code": "customer_team",
            "customer_id": own.id,
            "en": f"the lead's customer {own.name}",
            "id": f"pelanggan prospek {own.name}",
        }
    return None, {
        "code": "no_territory",
        "en": f"no customer with a team within {max_km:g} km and no customer's team",
        "id": f"tidak ada pelanggan bertim dalam {max_km:g} km dan tidak ada tim pelanggan",
    }


def assign_lead(session: Session, deal: Opportunity, *, max_km: float, actor: str) -> dict:
    """Give an unowned lead to the covering team's least loaded rep; the reason."""
    if deal.owner_id is not None:
        return {
            "assigned": False,
            "owner_id": deal.owner_id,
            "code": "has_owner",
            "en": "the lead has an owner already",
            "id": "prospek sudah punya pemilik",
        }
    team_id, why = _where(session, deal, max_km)
    rep = _rep_of(session, team_id) if team_id is not None else None
    if rep is None:
        reason = why
        if team_id is not None:
            reason = why | {
                "code": "no_rep",
                "en": f"{why['en']}: its team has no active rep",
                "id": f"{why['id']}: timnya tidak punya rep aktif",
            }
        return {"assigned": False, "owner_id": None, "team_id": team_id} | reason
    user, load, reps = rep
    team = session.get_one(Team, team_id)
    reason = {
        "assigned": True,
        "owner_id": user.id,
        "team_id": team_id,
        "open_deals": load,
        "reps": reps,
        **{k: v for k, v in why.items() if k not in ("en", "id")},
        "en": f"{why['en']} is in team {team.name} → rep {user.full_name} "
        f"({load} open deals; fewest of {reps})",
        "id": f"{why['id']} ada di tim {team.name} → rep {user.full_name} "
        f"({load} peluang terbuka; paling sedikit dari {reps})",
    }
    old = {"owner_id": deal.owner_id, "team_id": deal.team_id}
    deal.owner_id, deal.team_id = user.id, team_id
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="opportunity",
        entity_id=deal.id,
        action="assign",
        old=old,
        new=reason,
    )
    return reason
