"""Pipelines and their stages: company configuration an admin edits.

A pipeline lists its stages in order: the open stages first, then the outcomes (won,
lost). That order is what the funnel measures ("reached stage 3" means reached stage 3
or a later non-lost stage), so an outcome stage is never put between open ones.
"""

from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Conflict, InvalidInput, NotFound
from sfa.pipeline import repository
from sfa.pipeline.models import Pipeline, Stage, StageOutcome

MAX_STAGES = 30


def list_pipelines(session: Session, *, principal: Principal) -> list[tuple[Pipeline, list[Stage]]]:
    principal.require("pipeline:read")
    found = repository.pipelines(session)
    stages = repository.stages_of(session, [p.id for p in found])
    return [(p, stages[p.id]) for p in found]


def get_pipeline(
    session: Session, *, principal: Principal, pipeline_id: int
) -> tuple[Pipeline, list[Stage]]:
    principal.require("pipeline:read")
    pipeline = session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound(f"pipeline {pipeline_id} does not exist", hint="GET /v1/pipelines")
    return pipeline, repository.stages_of(session, [pipeline_id])[pipeline_id]


def _check_stages(stages: list[dict]) -> None:
    if not 2 <= len(stages) <= MAX_STAGES:
        raise InvalidInput(f"a pipeline has 2 to {MAX_STAGES} stages, not {len(stages)}")
    names = [s["name"] for s in stages]
    if len(set(names)) != len(names):
        raise InvalidInput("stage names must be unique within a pipeline")
    outcomes = [StageOutcome(s["outcome"]) for s in stages]
    for needed in StageOutcome:
        if needed not in outcomes:
            raise InvalidInput(f"a pipeline needs at least one {needed} stage")
    first_outcome = next(i for i, o in enumerate(outcomes) if o is not StageOutcome.open)
    if StageOutcome.open in outcomes[first_outcome:]:
        raise InvalidInput(
            f"stage {names[first_outcome]!r} ({outcomes[first_outcome]}) comes before an open "
            "stage",
            hint="list the open stages in their order first, then the won and lost stages",
        )


def _snapshot(pipeline: Pipeline, stages: list[Stage]) -> dict:
    return {
        "name": pipeline.name,
        "is_default": pipeline.is_default,
        "stages": [
            {
                "id": s.id,
                "name": s.name,
                "probability": str(s.probability),
                "outcome": str(s.outcome),
            }
            for s in stages
        ],
    }


def _make_default(session: Session, pipeline: Pipeline) -> None:
    session.execute(update(Pipeline).where(Pipeline.id != pipeline.id).values(is_default=False))
    pipeline.is_default = True


def create_pipeline(
    session: Session, *, principal: Principal, data: dict
) -> tuple[Pipeline, list[Stage]]:
    principal.require_admin()
    if repository.find_pipeline_by_name(session, data["name"]) is not None:
        raise Conflict(f"a pipeline named {data['name']!r} exists already")
    _check_stages(data["stages"])
    pipeline = Pipeline(name=data["name"], is_default=False)
    session.add(pipeline)
    session.flush()
    # The first pipeline is the default until another one is made it.
    if data.get("is_default") or not repository.has_default(session):
        _make_default(session, pipeline)
    stages = [
        Stage(
            pipeline_id=pipeline.id,
            name=s["name"],
            position=i,
            probability=Decimal(s["probability"]),
            outcome=StageOutcome(s["outcome"]),
        )
        for i, s in enumerate(data["stages"], start=1)
    ]
    session.add_all(stages)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="pipeline",
        entity_id=pipeline.id,
        action="create",
        new=_snapshot(pipeline, stages),
    )
    return pipeline, stages


def _replace_stages(session: Session, pipeline: Pipeline, old: list[Stage], new: list[dict]):
    """Stages with an id are kept (renamed, re-ordered, re-weighted), new ones added, the
    missing ones deleted — unless an opportunity has ever been in them."""
    _check_stages(new)
    by_id = {s.id: s for s in old}
    if unknown := [s["id"] for s in new if s.get("id") is not None and s["id"] not in by_id]:
        raise InvalidInput(f"stage(s) {unknown} are not stages of pipeline {pipeline.id}")
    kept = {s["id"] for s in new if s.get("id") is not None}
    for stage in old:
        if stage.id in kept:
            continue
        if repository.stage_in_use(session, stage.id):
            raise Conflict(
                f"stage {stage.name!r} has opportunities in its history and cannot be removed",
                hint="keep it (rename it or give it probability 0) instead",
            )
        session.delete(stage)
    # Positions are unique per pipeline: park the kept stages out of the way first.
    for stage in old:
        stage.position = -stage.id
    session.flush()
    result = []
    for position, spec in enumerate(new, start=1):
        known = by_id.get(spec["id"]) if spec.get("id") is not None else None
        stage = known or Stage(pipeline_id=pipeline.id)
        outcome = StageOutcome(spec["outcome"])
        if (
            stage.id is not None
            and stage.outcome is not outcome
            and repository.stage_in_use(session, stage.id)
        ):
            raise Conflict(
                f"stage {stage.name!r} has opportunities in its history: its outcome "
                f"({stage.outcome}) cannot change",
                hint="add a new stage with the other outcome instead",
            )
        stage.name, stage.position, stage.outcome = spec["name"], position, outcome
        stage.probability = Decimal(spec["probability"])
        session.add(stage)
        result.append(stage)
    session.flush()
    repository.recompute_reached(session, pipeline.id)
    return result


def update_pipeline(
    session: Session, *, principal: Principal, pipeline_id: int, data: dict
) -> tuple[Pipeline, list[Stage]]:
    principal.require_admin()
    pipeline, stages = get_pipeline(session, principal=principal, pipeline_id=pipeline_id)
    before = _snapshot(pipeline, stages)
    if "name" in data and data["name"] != pipeline.name:
        if repository.find_pipeline_by_name(session, data["name"]) is not None:
            raise Conflict(f"a pipeline named {data['name']!r} exists already")
        pipeline.name = data["name"]
    if data.get("is_default"):
        _make_default(session, pipeline)
    if "stages" in data:
        stages = _replace_stages(session, pipeline, stages, data["stages"])
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="pipeline",
        entity_id=pipeline.id,
        action="update",
        old=before,
        new=_snapshot(pipeline, stages),
    )
    return pipeline, stages
