"""Stage moves and the stage history they write.

Every move is a row in `opportunity_stage_history`: the stay it starts. Moves may arrive
out of order — a phone that was offline sends this morning's move after this
afternoon's, two people move the same deal, an import replays old moves — so a move
carries the time it happened (`at`, default now) and is put where it belongs in the
opportunity's timeline, not at its end:

    before:  Qualify [09:00, 14:00)  Proposal [14:00, open)
    a move to Demo at 11:00 arrives late
    after:   Qualify [09:00, 11:00)  Demo [11:00, 14:00)  Proposal [14:00, open)

The stays always tile the opportunity's life (each `left_at` is the next stay's
`entered_at`, the last one is open), the current stage is the last stay's, and each
stay says who started and who ended it. Moves of one opportunity are serialised by a
row lock on it; a retried move (same `client_id`) is recorded once.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Conflict, InvalidInput
from sfa.events.service import Actor
from sfa.pipeline import events, repository
from sfa.pipeline import service as opportunity_service
from sfa.pipeline.models import Opportunity, Stage, StageOutcome, StageSpan


@dataclass(frozen=True)
class Move:
    opportunity: Opportunity
    span: StageSpan
    from_stage_id: int  # the stage the opportunity was in at `at`
    recorded: bool  # False: a replay, or the opportunity was already in that stage then
    current: bool  # the move changed the current stage (it is the latest)


def _replay(span: StageSpan, stage_id: int, at: datetime | None) -> None:
    if span.stage_id != stage_id or (at is not None and span.entered_at != at):
        raise Conflict(
            f"move client_id {span.client_id} was already used for another move",
            hint="generate a new client_id (UUID) for each move; resend the same body to retry",
        )


def move_opportunity(
    session: Session,
    *,
    principal: Principal,
    opportunity_id: int,
    stage_id: int,
    at: datetime | None = None,
    client_id: uuid.UUID | None = None,
    lost_reason: str | None = None,
) -> Move:
    principal.require("pipeline:write")
    opportunity = opportunity_service.get_opportunity(
        session, principal=principal, opportunity_id=opportunity_id, lock=True
    )
    if client_id is not None:
        done = repository.span_by_client_id(session, opportunity.id, client_id)
        if done is not None:
            _replay(done, stage_id, at)
            return Move(opportunity, done, done.stage_id, recorded=False, current=False)
    stage = session.get(Stage, stage_id)
    if stage is None or stage.pipeline_id != opportunity.pipeline_id:
        raise InvalidInput(
            f"stage {stage_id} is not a stage of this opportunity's pipeline",
            hint=f"GET /v1/pipelines/{opportunity.pipeline_id} lists its stages",
        )
    at = at or datetime.now(UTC)
    opportunity_service.check_time(session, at, not_before=opportunity.opened_at, what="at")
    if stage.outcome is StageOutcome.lost and not lost_reason:
        raise InvalidInput("moving to a lost stage needs a lost_reason")
    covering = repository.span_covering(session, opportunity.id, at)
    if covering is None:  # cannot happen: the first stay starts when it was opened
        raise Conflict(f"opportunity {opportunity.id} has no stage history before {at}")
    if covering.stage_id == stage.id:
        return Move(opportunity, covering, covering.stage_id, recorded=False, current=False)
    span = StageSpan(
        opportunity_id=opportunity.id,
        stage_id=stage.id,
        entered_at=at,
        left_at=covering.left_at,
        entered_by=principal.user_id,
        left_by=covering.left_by,
        client_id=client_id,
    )
    covering.left_at, covering.left_by = at, principal.user_id
    session.add(span)
    session.flush()
    if stage.outcome is not StageOutcome.lost:
        opportunity.reached_position = max(opportunity.reached_position or 0, stage.position)
    current = span.left_at is None
    if current:
        opportunity.stage_id, opportunity.stage_entered_at = stage.id, at
        opportunity.closed_at = at if stage.outcome is not StageOutcome.open else None
        opportunity.lost_reason = lost_reason if stage.outcome is StageOutcome.lost else None
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="opportunity",
        entity_id=opportunity.id,
        action="move",
        old={"stage_id": covering.stage_id},
        new={"stage_id": stage.id, "at": at.isoformat(), "current": current},
    )
    # In the move's transaction: workflows on stage changes see every recorded move once.
    events.stage_changed(
        session,
        opportunity,
        span,
        from_stage_id=covering.stage_id,
        current=current,
        actor=Actor.of(principal),
    )
    return Move(opportunity, span, covering.stage_id, recorded=True, current=current)


def history(session: Session, *, principal: Principal, opportunity_id: int) -> list[StageSpan]:
    opportunity_service.get_opportunity(session, principal=principal, opportunity_id=opportunity_id)
    return repository.spans(session, opportunity_id)
