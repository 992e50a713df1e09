"""The pipeline events (sfa/events/types.py), written in the transaction of the change.

`opportunity.created` is keyed by the opportunity and `opportunity.stage_changed` by the
stay the move starts (its history row), so a retried request writes neither twice; a
move that records nothing (a replay, or to the stage the deal was already in at that
time) emits nothing.
"""

from sqlalchemy.orm import Session

from sfa.events.service import Actor, emit
from sfa.events.types import (
    OPPORTUNITY_CREATED,
    OPPORTUNITY_STAGE_CHANGED,
    OpportunityCreated,
    StageChanged,
)
from sfa.geo import lat_lon
from sfa.pipeline.models import Opportunity, Stage, StageSpan


def created(session: Session, deal: Opportunity, actor: Actor) -> None:
    point = lat_lon(deal.location)
    emit(
        session,
        OPPORTUNITY_CREATED,
        subject_kind="opportunity",
        subject_id=deal.id,
        actor=actor,
        event_id=deal.id,
        occurred_at=deal.opened_at,
        payload=OpportunityCreated(
            opportunity_id=deal.id,
            kind=str(deal.kind),
            pipeline_id=deal.pipeline_id,
            stage_id=deal.stage_id,
            owner_id=deal.owner_id,
            team_id=deal.team_id,
            customer_id=deal.customer_id,
            contract_id=deal.contract_id,
            source=deal.source,
            currency=deal.currency,
            amount=deal.amount,
            lat=point[0] if point else None,
            lon=point[1] if point else None,
        ),
    )


def stage_changed(
    session: Session,
    deal: Opportunity,
    span: StageSpan,
    *,
    from_stage_id: int | None,
    current: bool,
    actor: Actor,
) -> None:
    stage = session.get_one(Stage, span.stage_id)
    emit(
        session,
        OPPORTUNITY_STAGE_CHANGED,
        subject_kind="opportunity",
        subject_id=deal.id,
        actor=actor,
        event_id=f"span:{span.id}",
        occurred_at=span.entered_at,
        payload=StageChanged(
            opportunity_id=deal.id,
            pipeline_id=deal.pipeline_id,
            from_stage_id=from_stage_id,
            to_stage_id=span.stage_id,
            owner_id=deal.owner_id,
            customer_id=deal.customer_id,
            at=span.entered_at,
            current=current,
            outcome=str(stage.outcome),
        ),
    )
