"""Workflow authoring (docs/workflows.md): a definition is JSON checked by
sfa/workflows/validation.py, which names every bad path (a 422 with details.errors),
so the body takes it as given rather than a second, looser schema here."""

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.schemas.common import Id, Strict, Text
from sfa.workflows.models import VersionState, WorkflowVersion
from sfa.workflows.service import WorkflowDetails

DEFINITION = Field(
    description="the definition (docs/workflows.md): name, description?, trigger, start, "
    "steps; each problem is answered by its path in error.details.errors",
    examples=[
        {
            "name": "Big orders to finance",
            "trigger": {"event": "order.submitted"},
            "start": "big",
            "steps": {
                "big": {
                    "type": "condition",
                    "if": {">": [{"var": "order.net_amount"}, 10_000_000]},
                    "then": "finance",
                    "else": "done",
                },
                "finance": {
                    "type": "require_approval",
                    "levels": [{"role": "finance"}],
                    "on_approved": "done",
                    "on_rejected": "done",
                },
                "done": {"type": "end"},
            },
        }
    ],
)


class WorkflowCreate(Strict):
    key: str = Field(
        pattern=r"^[a-z0-9][a-z0-9-]{0,59}$",
        description="a stable slug, unique: discount-approval",
    )
    definition: Any = DEFINITION
    enabled: bool = Field(True, description="runs start only once a version is published")


class WorkflowUpdate(Strict):
    definition: Any = Field(
        None, description="saved as the draft; the published version runs on unchanged"
    )
    enabled: bool | None = Field(None, description="switch the workflow on or off")

    @model_validator(mode="after")
    def _something(self):
        if self.definition is None and self.enabled is None:
            raise ValueError("give definition, enabled, or both")
        return self


class PublishIn(Strict):
    version: Id = Field(
        description="the version number to make active: the draft, or an older version "
        "(a rollback: it is published as a new version copying it)"
    )


class TestIn(Strict):
    version: Id | None = Field(None, description="default: the draft, else the active version")
    context: dict[Text, Any] | None = Field(
        None,
        description="a sample context (docs/workflows.md, 'Context'); `settings` defaults "
        "to the company's",
    )
    event_id: uuid.UUID | None = Field(
        None, description="a past event (its event_id): the context a run of it would have"
    )
    assume_approval: Literal["approved", "rejected"] = "approved"
    assume_wait: Literal["event", "timeout"] = Field(
        "event", description="an event wait: the event comes, or the wait times out"
    )

    @model_validator(mode="after")
    def _one_source(self):
        if (self.context is None) == (self.event_id is None):
            raise ValueError("give either context or event_id")
        return self


class VersionOut(BaseModel):
    number: int
    state: VersionState
    definition: dict
    copied_from: int | None = Field(None, description="a rollback: the version it copies")
    created_by: str
    created_at: datetime
    updated_at: datetime
    published_by: str | None
    published_at: datetime | None

    @classmethod
    def of(cls, version: WorkflowVersion) -> "VersionOut":
        return cls.model_validate(version, from_attributes=True)


class WorkflowOut(BaseModel):
    id: int
    key: str
    name: str
    enabled: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    active: VersionOut | None = Field(description="the published version runs start on")
    draft: VersionOut | None = Field(description="the version being edited, if any")

    @classmethod
    def of(cls, found: WorkflowDetails) -> "WorkflowOut":
        w = found.workflow
        return cls(
            id=w.id,
            key=w.key,
            name=w.name,
            enabled=w.enabled,
            created_by=w.created_by,
            created_at=w.created_at,
            updated_at=w.updated_at,
            active=VersionOut.of(found.active) if found.active else None,
            draft=VersionOut.of(found.draft) if found.draft else None,
        )


class ChangeOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    path: str
    change: Literal["added", "removed", "changed"]
    from_: Any = Field(None, alias="from")
    to: Any = None


class DiffOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: int = Field(alias="from")
    to: int
    steps_added: list[str]
    steps_removed: list[str]
    steps_changed: list[str]
    changes: list[ChangeOut]


class TestOut(BaseModel):
    version: int = Field(description="the version tested")
    outcome: Literal["ended", "failed", "filtered", "stopped"]
    path: list[str] = Field(description="the step ids, in the order the run would take them")
    steps: list[dict] = Field(description="per step: what it evaluated and where it went")
    actions: list[dict] = Field(description="what the run would do; nothing is done")
    trigger: dict | None = Field(description="the trigger filter's result, if any")
    vars: dict
    error: str | None
    context: dict = Field(description="the context the run was tested on")
