"""Leads and opportunities: create (idempotent by client_id), read, change.

Stage moves are in `sfa.pipeline.moves` (they write the stage history)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial

from sqlalchemy import Select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa import idempotency
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.customers import repository as customer_repository
from sfa.customers.models import Customer
from sfa.errors import Forbidden, InvalidInput
from sfa.events.service import SYSTEM, Actor
from sfa.geo import lat_lon, to_geography
from sfa.pipeline import events, repository
from sfa.pipeline.models import (
    Opportunity,
    OpportunityKind,
    Pipeline,
    Stage,
    StageOutcome,
    StageSpan,
)
from sfa.users import repository as user_repository
from sfa.users.models import Role, User

_PLAIN_FIELDS = (
    "title",
    "prospect_name",
    "prospect_phone",
    "prospect_email",
    "amount",
    "expected_close",
    "probability",
    "source",
    "score",
)


@dataclass(frozen=True)
class OpportunityView:
    opportunity: Opportunity
    stage: Stage

    @property
    def probability(self) -> Decimal:
        """The deal's own probability, else its stage's default."""
        own = self.opportunity.probability
        return own if own is not None else self.stage.probability


def view(session: Session, opportunity: Opportunity) -> OpportunityView:
    return OpportunityView(opportunity, session.get_one(Stage, opportunity.stage_id))


def snapshot(opportunity: Opportunity) -> dict:
    data = {f: getattr(opportunity, f) for f in _PLAIN_FIELDS}
    return data | {
        "amount": str(opportunity.amount),
        "probability": None if opportunity.probability is None else str(opportunity.probability),
        "expected_close": opportunity.expected_close and opportunity.expected_close.isoformat(),
        "kind": str(opportunity.kind),
        "stage_id": opportunity.stage_id,
        "owner_id": opportunity.owner_id,
        "team_id": opportunity.team_id,
        "customer_id": opportunity.customer_id,
        "currency": opportunity.currency,
        "location": lat_lon(opportunity.location),
    }


def get_opportunity(
    session: Session, *, principal: Principal, opportunity_id: int, lock: bool = False
) -> Opportunity:
    principal.require("pipeline:read")
    return get_visible_or_raise(
        partial(repository.get_visible, lock=lock),
        session,
        principal,
        opportunity_id,
        what="opportunity",
    )


def opportunities_query(*, principal: Principal, **filters) -> Select:
    """The visible opportunities asked for, by id (for `paginate` or an export); filters
    as `repository.filter_opportunities` takes them."""
    principal.require("pipeline:read")
    return repository.filter_opportunities(repository.visible_opportunities(principal), **filters)


# --- checks -----------------------------------------------------------------------------


def check_time(session: Session, at: datetime, *, not_before: datetime | None, what: str) -> None:
    """A time sent by a client: not in the future (beyond the company's tolerance), not
    before `not_before` (e.g. the opportunity's opening)."""
    settings = company_service.get_company_settings(session)
    if at > datetime.now(UTC) + timedelta(hours=settings.future_tolerance_hours):
        raise InvalidInput(
            f"{what} {at.isoformat()} is more than {settings.future_tolerance_hours:g} h in "
            "the future",
            hint="check the device clock",
        )
    if not_before is not None and at < not_before:
        raise InvalidInput(
            f"{what} {at.isoformat()} is before the opportunity was opened "
            f"({not_before.isoformat()})"
        )


def _pipeline_and_stage(
    session: Session, pipeline_id: int | None, stage_id: int | None
) -> tuple[Pipeline, Stage]:
    pipeline = (
        session.get(Pipeline, pipeline_id)
        if pipeline_id is not None
        else repository.default_pipeline(session)
    )
    if pipeline is None:
        raise InvalidInput(
            f"pipeline {pipeline_id} does not exist" if pipeline_id else "no pipeline exists yet",
            hint="GET /v1/pipelines lists them; an admin creates one with POST /v1/pipelines",
        )
    stages = repository.stages_of(session, [pipeline.id])[pipeline.id]
    if stage_id is None:
        return pipeline, next(s for s in stages if s.outcome is StageOutcome.open)
    stage = next((s for s in stages if s.id == stage_id), None)
    if stage is None:
        raise InvalidInput(f"stage {stage_id} is not a stage of pipeline {pipeline.name!r}")
    return pipeline, stage


def _owner(session: Session, principal: Principal, owner_id: int | None) -> User | None:
    if principal.is_rep:
        if owner_id not in (None, principal.id):
            raise Forbidden("a rep owns their own opportunities only", hint="leave owner_id out")
        return session.get_one(User, principal.id)
    if owner_id is None:
        return None
    owner = get_visible_or_raise(
        user_repository.get_visible_user, session, principal, owner_id, what="user"
    )
    if not owner.is_active:
        raise InvalidInput(f"user {owner_id} is deactivated and cannot own opportunities")
    return owner


def _team(
    principal: Principal, team_id: int | None, owner: User | None, customer_team: int | None
) -> int | None:
    """The owner's team, else the one given, else the customer's; it must be visible."""
    if owner is not None and owner.role is Role.rep:
        team = owner.team_id
    else:
        team = team_id if team_id is not None else customer_team
    if principal.team_ids is not None and not principal.is_rep and team not in principal.team_ids:
        raise Forbidden(
            "the opportunity would belong to a team you do not lead",
            hint="set team_id (or an owner) of one of your teams",
        )
    return team


def _customer_team(session: Session, principal: Principal, customer_id: int | None) -> int | None:
    if customer_id is None:
        return None
    customer = get_visible_or_raise(
        customer_repository.get_visible, session, principal, customer_id, what="customer"
    )
    return customer.team_id


def _fingerprint(data: dict) -> str:
    return idempotency.fingerprint({k: v for k, v in data.items() if k != "client_id"})


# --- writes -----------------------------------------------------------------------------


def create_opportunity(
    session: Session, *, principal: Principal, data: dict
) -> tuple[Opportunity, bool]:
    """Returns (opportunity, created); the same client_id again answers the first one."""
    principal.require("pipeline:write")
    client_id: uuid.UUID | None = data.get("client_id")
    if client_id is not None and principal.user_id is not None:
        existing = repository.find_by_client_id(session, principal.user_id, client_id)
        if existing is not None:
            return _replayed(existing, data), False
    if data.get("customer_id") is None and not data.get("prospect_name"):
        raise InvalidInput("an opportunity needs a customer_id or a prospect_name")
    _, stage = _pipeline_and_stage(session, data.get("pipeline_id"), data.get("stage_id"))
    owner = _owner(session, principal, data.get("owner_id"))
    team = _team(
        principal,
        data.get("team_id"),
        owner,
        _customer_team(session, principal, data.get("customer_id")),
    )
    return _insert(
        session,
        data,
        stage=stage,
        owner=owner,
        team=team,
        created_by_id=principal.user_id,
        actor=principal.actor,
        event_actor=Actor.of(principal),
    )


def open_for_workflow(
    session: Session, *, data: dict, owner: User | None, actor: str
) -> tuple[Opportunity, bool]:
    """An opportunity a workflow opens (a renewal's, CURE's enterprise lens): the owner
    the workflow chose, the team theirs or the customer's. Idempotent by `client_id`
    (the run's) for the owner, like the app's; `actor` is the run."""
    client_id: uuid.UUID | None = data.get("client_id")
    created_by = owner.id if owner is not None else None
    if client_id is not None and created_by is not None:
        existing = repository.find_by_client_id(session, created_by, client_id)
        if existing is not None:
            return existing, False
    _, stage = _pipeline_and_stage(session, data.get("pipeline_id"), None)
    customer = session.get(Customer, data["customer_id"]) if data.get("customer_id") else None
    team = owner.team_id if owner is not None and owner.team_id else None
    return _insert(
        session,
        data,
        stage=stage,
        owner=owner,
        team=team or (customer.team_id if customer else None),
        created_by_id=created_by,
        actor=actor,
        event_actor=SYSTEM,
    )


def _insert(
    session: Session,
    data: dict,
    *,
    stage: Stage,
    owner: User | None,
    team: int | None,
    created_by_id: int | None,
    actor: str,
    event_actor: Actor,
) -> tuple[Opportunity, bool]:
    """Write a checked opportunity, its first stay, its audit entry and its event."""
    client_id: uuid.UUID | None = data.get("client_id")
    now = datetime.now(UTC)
    opened_at = data.get("opened_at") or now
    check_time(session, opened_at, not_before=None, what="opened_at")
    if stage.outcome is StageOutcome.lost and not data.get("lost_reason"):
        raise InvalidInput("a lost opportunity needs a lost_reason")
    location = data.get("location")
    opportunity = Opportunity(
        # A deal of no stated amount is worth 0 (the API's default, left out of `data`).
        **({"amount": Decimal(0)} | {f: data[f] for f in _PLAIN_FIELDS if f in data}),
        client_id=client_id,
        request_hash=_fingerprint(data) if client_id else None,
        created_by_id=created_by_id,
        kind=data.get("kind") or OpportunityKind.opportunity,
        pipeline_id=stage.pipeline_id,
        stage_id=stage.id,
        customer_id=data.get("customer_id"),
        location=to_geography(location["lat"], location["lon"]) if location else None,
        currency=data.get("currency") or company_service.get_company_settings(session).currency,
        owner_id=owner.id if owner else None,
        team_id=team,
        lost_reason=data.get("lost_reason"),
        contract_id=data.get("contract_id"),
        reached_position=stage.position if stage.outcome is not StageOutcome.lost else None,
        opened_at=opened_at,
        stage_entered_at=opened_at,
        closed_at=opened_at if stage.outcome is not StageOutcome.open else None,
    )
    try:
        with session.begin_nested():
            session.add(opportunity)
            session.flush()
    except IntegrityError:
        if client_id is None or created_by_id is None:
            raise
        existing = repository.find_by_client_id(session, created_by_id, client_id)
        if existing is None:
            raise
        return _replayed(existing, data), False
    session.add(
        StageSpan(
            opportunity_id=opportunity.id,
            stage_id=stage.id,
            entered_at=opened_at,
            entered_by=created_by_id,
        )
    )
    session.flush()
    audit_service.record(
        session,
        actor=actor,
        entity="opportunity",
        entity_id=opportunity.id,
        action="create",
        new=snapshot(opportunity),
    )
    events.created(session, opportunity, event_actor)
    return opportunity, True


def _replayed(existing: Opportunity, data: dict) -> Opportunity:
    return idempotency.replayed(
        existing,
        stored_hash=existing.request_hash or "",
        new_hash=_fingerprint(data),
        client_id=existing.client_id or uuid.UUID(int=0),
        what="opportunity",
    )


def update_opportunity(
    session: Session, *, principal: Principal, opportunity_id: int, data: dict
) -> Opportunity:
    principal.require("pipeline:write")
    opportunity = get_opportunity(
        session, principal=principal, opportunity_id=opportunity_id, lock=True
    )
    before = snapshot(opportunity)
    if "owner_id" in data or "team_id" in data:
        owner = _owner(session, principal, data.get("owner_id", opportunity.owner_id))
        opportunity.owner_id = owner.id if owner else None
        opportunity.team_id = _team(
            principal,
            data.get("team_id", opportunity.team_id),
            owner,
            _customer_team(session, principal, opportunity.customer_id),
        )
    if "customer_id" in data:
        _customer_team(session, principal, data["customer_id"])
        opportunity.customer_id = data["customer_id"]
    if "location" in data:
        location = data["location"]
        opportunity.location = to_geography(location["lat"], location["lon"]) if location else None
    for field in (*_PLAIN_FIELDS, "kind", "currency"):
        if field in data:
            setattr(opportunity, field, data[field])
    if opportunity.customer_id is None and not opportunity.prospect_name:
        raise InvalidInput("an opportunity needs a customer_id or a prospect_name")
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="opportunity",
        entity_id=opportunity.id,
        action="update",
        old=before,
        new=snapshot(opportunity),
    )
    return opportunity
