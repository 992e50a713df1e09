"""The pipeline as a board: one column per stage of a pipeline with the visible deals in
it (the manager console's kanban). Moving a card is `moves.move_opportunity`, as in the
API; this module only reads.

A column lists its latest deals (the last to enter the stage first) up to `per_stage`;
its count and amount are of every deal in it. Amounts are summed in the company's
currency only: a deal in another one is counted apart, never added in.
"""

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.errors import InvalidInput, NotFound
from sfa.pipeline import pipelines, repository
from sfa.pipeline import service as opportunity_service
from sfa.pipeline.models import Opportunity, Pipeline, Stage
from sfa.users import repository as user_repository

MAX_PER_STAGE = 200


@dataclass(frozen=True)
class Card:
    opportunity: Opportunity
    owner_name: str | None
    customer_name: str | None  # the customer's name, else the prospect's
    probability: Decimal  # the deal's own, else its stage's


@dataclass(frozen=True)
class Column:
    stage: Stage
    deals: int
    amount: Decimal  # of the deals in the board's currency
    other_currency: int  # deals in another currency (not in `amount`)
    cards: list[Card]

    @property
    def hidden(self) -> int:
        return self.deals - len(self.cards)


@dataclass(frozen=True)
class Board:
    pipeline: Pipeline | None  # None: the company has no pipeline yet
    pipelines: list[Pipeline]
    currency: str
    columns: list[Column]


def _pipeline(found: list[tuple[Pipeline, list[Stage]]], pipeline_id: int | None):
    if pipeline_id is None:
        return next((p for p in found if p[0].is_default), found[0])
    chosen = next((p for p in found if p[0].id == pipeline_id), None)
    if chosen is None:
        raise NotFound(f"pipeline {pipeline_id} does not exist", hint="GET /v1/pipelines")
    return chosen


def board(
    session: Session,
    *,
    principal: Principal,
    pipeline_id: int | None = None,
    team_id: int | None = None,
    owner_id: int | None = None,
    per_stage: int = 50,
) -> Board:
    """The visible deals of a pipeline (default: the default one) by stage; a team or an
    owner given must be visible to the caller (else NotFound, like any foreign id)."""
    if not 1 <= per_stage <= MAX_PER_STAGE:
        raise InvalidInput(f"per_stage must be between 1 and {MAX_PER_STAGE}")
    if team_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_team, session, principal, team_id, what="team"
        )
    if owner_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_user, session, principal, owner_id, what="user"
        )
    found = pipelines.list_pipelines(session, principal=principal)
    currency = company_service.get_company_settings(session).currency
    if not found and pipeline_id is None:
        return Board(None, [], currency, [])
    pipeline, stages = _pipeline(found, pipeline_id)
    stmt = opportunity_service.opportunities_query(
        principal=principal, pipeline_id=pipeline.id, team_id=team_id, owner_id=owner_id
    )
    totals = repository.totals_per_stage(session, stmt, currency)
    shown = repository.first_per_stage(session, stmt, per_stage)
    owners, customers = repository.names_of(session, shown)
    by_stage: dict[int, list[Card]] = {s.id: [] for s in stages}
    probability = {s.id: s.probability for s in stages}
    for o in shown:
        by_stage[o.stage_id].append(
            Card(
                opportunity=o,
                owner_name=owners.get(o.owner_id) if o.owner_id else None,
                customer_name=customers.get(o.customer_id) if o.customer_id else o.prospect_name,
                probability=o.probability if o.probability is not None else probability[o.stage_id],
            )
        )
    columns = [
        Column(s, *totals.get(s.id, (0, Decimal(0), 0)), cards=by_stage[s.id]) for s in stages
    ]
    return Board(pipeline, [p for p, _ in found], currency, columns)
