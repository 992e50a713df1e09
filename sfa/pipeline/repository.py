"""Pipeline and opportunity queries. Visibility is applied here, once, for every read.

An opportunity is a rep's own data: a rep sees the ones they own, a manager those of the
teams they lead (and their own), an admin or a company-wide API key every one.
Pipelines and their stages are company configuration: everyone may read them.
"""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Select, func, or_, select, text
from sqlalchemy.orm import Session, aliased

from sfa.auth.principal import Principal
from sfa.customers.models import Customer
from sfa.pipeline.models import Opportunity, Pipeline, Stage, StageOutcome, StageSpan
from sfa.users.models import User


def visibility_condition(principal: Principal):
    if principal.team_ids is None:
        return None
    if principal.is_rep:
        return Opportunity.owner_id == principal.id
    return or_(Opportunity.team_id.in_(principal.team_ids), Opportunity.owner_id == principal.id)


def visible_opportunities(principal: Principal) -> Select:
    stmt = select(Opportunity)
    condition = visibility_condition(principal)
    return stmt if condition is None else stmt.where(condition)


def get_visible(
    session: Session, principal: Principal, opportunity_id: int, *, lock: bool = False
) -> Opportunity | None:
    stmt = visible_opportunities(principal).where(Opportunity.id == opportunity_id)
    return session.scalar(stmt.with_for_update() if lock else stmt)


def find_by_client_id(
    session: Session, created_by_id: int, client_id: uuid.UUID
) -> Opportunity | None:
    return session.scalar(
        select(Opportunity).where(
            Opportunity.created_by_id == created_by_id, Opportunity.client_id == client_id
        )
    )


def filter_opportunities(
    stmt: Select,
    *,
    pipeline_id: int | None = None,
    stage_id: int | None = None,
    owner_id: int | None = None,
    team_id: int | None = None,
    customer_id: int | None = None,
    kind=None,
    outcome: StageOutcome | None = None,
    q: str | None = None,
) -> Select:
    if pipeline_id is not None:
        stmt = stmt.where(Opportunity.pipeline_id == pipeline_id)
    if stage_id is not None:
        stmt = stmt.where(Opportunity.stage_id == stage_id)
    if owner_id is not None:
        stmt = stmt.where(Opportunity.owner_id == owner_id)
    if team_id is not None:
        stmt = stmt.where(Opportunity.team_id == team_id)
    if customer_id is not None:
        stmt = stmt.where(Opportunity.customer_id == customer_id)
    if kind is not None:
        stmt = stmt.where(Opportunity.kind == kind)
    if outcome is not None:
        stmt = stmt.where(
            Opportunity.stage_id.in_(select(Stage.id).where(Stage.outcome == outcome))
        )
    if q:
        like = f"%{q}%"
        stmt = stmt.where(or_(Opportunity.title.ilike(like), Opportunity.prospect_name.ilike(like)))
    return stmt.order_by(Opportunity.id)


# --- pipelines --------------------------------------------------------------------------


def pipelines(session: Session) -> list[Pipeline]:
    return list(session.scalars(select(Pipeline).order_by(Pipeline.id)))


def default_pipeline(session: Session) -> Pipeline | None:
    return session.scalar(
        select(Pipeline).order_by(Pipeline.is_default.desc(), Pipeline.id).limit(1)
    )


def has_default(session: Session) -> bool:
    return session.scalar(select(Pipeline.id).where(Pipeline.is_default).limit(1)) is not None


def find_pipeline_by_name(session: Session, name: str) -> Pipeline | None:
    return session.scalar(select(Pipeline).where(Pipeline.name == name))


def stages_of(session: Session, pipeline_ids: list[int]) -> dict[int, list[Stage]]:
    result: dict[int, list[Stage]] = {i: [] for i in pipeline_ids}
    stmt = (
        select(Stage)
        .where(Stage.pipeline_id.in_(pipeline_ids))
        .order_by(Stage.pipeline_id, Stage.position)
    )
    for stage in session.scalars(stmt):
        result[stage.pipeline_id].append(stage)
    return result


def stage_in_use(session: Session, stage_id: int) -> bool:
    used = select(StageSpan.id).where(StageSpan.stage_id == stage_id).limit(1)
    return session.scalar(used) is not None


def recompute_reached(session: Session, pipeline_id: int) -> None:
    """Every opportunity's furthest non-lost stage position, from its history (after the
    pipeline's stages were re-ordered)."""
    session.execute(
        text("""
            UPDATE opportunities o SET reached_position = r.position
            FROM (
                SELECT h.opportunity_id,
                       max(s.position) FILTER (WHERE s.outcome <> 'lost') AS position
                FROM opportunity_stage_history h
                JOIN pipeline_stages s ON s.id = h.stage_id
                WHERE s.pipeline_id = :pipeline_id
                GROUP BY h.opportunity_id
            ) r
            WHERE o.id = r.opportunity_id
              AND o.reached_position IS DISTINCT FROM r.position"""),
        {"pipeline_id": pipeline_id},
    )


# --- stage history ----------------------------------------------------------------------


def spans(session: Session, opportunity_id: int) -> list[StageSpan]:
    return list(
        session.scalars(
            select(StageSpan)
            .where(StageSpan.opportunity_id == opportunity_id)
            .order_by(StageSpan.entered_at, StageSpan.id)
        )
    )


def span_by_client_id(session: Session, opportunity_id: int, client_id: uuid.UUID):
    return session.scalar(
        select(StageSpan).where(
            StageSpan.opportunity_id == opportunity_id, StageSpan.client_id == client_id
        )
    )


def span_covering(session: Session, opportunity_id: int, at: datetime) -> StageSpan | None:
    """The stay the opportunity was in at `at` (the latest entered at or before it)."""
    return session.scalar(
        select(StageSpan)
        .where(StageSpan.opportunity_id == opportunity_id, StageSpan.entered_at <= at)
        .order_by(StageSpan.entered_at.desc(), StageSpan.id.desc())
        .limit(1)
    )


# --- the board (a kanban by stage) ------------------------------------------------------


def first_per_stage(session: Session, stmt: Select, per_stage: int) -> list[Opportunity]:
    """The first `per_stage` opportunities of `stmt` in each stage, the latest to enter
    their stage first (one statement, whatever the number of stages)."""
    rank = (
        func.row_number()
        .over(
            partition_by=Opportunity.stage_id,
            order_by=(Opportunity.stage_entered_at.desc(), Opportunity.id.desc()),
        )
        .label("stage_rank")
    )
    ranked = stmt.order_by(None).add_columns(rank).subquery()
    row = aliased(Opportunity, ranked)
    return list(
        session.scalars(
            select(row)
            .where(ranked.c.stage_rank <= per_stage)
            .order_by(ranked.c.stage_id, ranked.c.stage_rank)
        )
    )


def totals_per_stage(
    session: Session, stmt: Select, currency: str
) -> dict[int, tuple[int, Decimal, int]]:
    """Per stage: deals, their amount in `currency`, deals in another currency."""
    deals = stmt.order_by(None).subquery()
    in_currency = deals.c.currency == currency
    rows = session.execute(
        select(
            deals.c.stage_id,
            func.count(),
            func.coalesce(func.sum(deals.c.amount).filter(in_currency), 0),
            func.count().filter(~in_currency),
        ).group_by(deals.c.stage_id)
    )
    return {stage_id: (n, Decimal(amount), other) for stage_id, n, amount, other in rows}


def names_of(session: Session, opportunities: list[Opportunity]) -> tuple[dict, dict]:
    """({owner id: full name}, {customer id: name}) of these opportunities."""
    owner_ids = {o.owner_id for o in opportunities if o.owner_id is not None}
    customer_ids = {o.customer_id for o in opportunities if o.customer_id is not None}
    owners = session.execute(select(User.id, User.full_name).where(User.id.in_(owner_ids)))
    customers = session.execute(
        select(Customer.id, Customer.name).where(Customer.id.in_(customer_ids))
    )
    return dict(owners.all()), dict(customers.all())
