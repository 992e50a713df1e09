"""ERP sync administration: runs, the outbox, re-queueing parked orders."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Id, Strict
from sfa.erp import runs
from sfa.erp.models import SyncRun
from sfa.orders.models import OutboxAction, OutboxState


class SyncRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    trigger: str
    status: str = Field(
        description="running, ok, partial, failed, skipped (another run was in progress) "
        "or interrupted (the process running it stopped before the end)"
    )
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    counts: dict = Field(
        description="check {server_version, warnings}; push {due, sent, confirmed, "
        "retry_later, parked, cancelled, waiting, waiting_until?, not_tried?}; pull "
        "{entity: {pages, items, ...; customers: created, updated, unassigned, "
        "not_customers}}"
    )
    errors: list = Field(
        description="what went wrong: phase (check, push, pull, run), kind, message, ids"
    )
    notes: list[str] = Field(
        [], description="what to know, in words: orders waiting and until when, ..."
    )

    @classmethod
    def of(cls, run: SyncRun) -> "SyncRunOut":
        out = cls.model_validate(run)
        out.notes = runs.run_notes(run)
        return out


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    state: OutboxState
    action: OutboxAction = Field(
        description="push: create the sale; cancel: remove what the ERP holds of a cancelled order"
    )
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


class RequeueIn(Strict):
    outbox_ids: list[Id] = Field(min_length=1, max_length=1000)


class RequeueOut(BaseModel):
    requeued: int
