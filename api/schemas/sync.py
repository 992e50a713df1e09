"""ERP sync administration: runs, the outbox, re-queueing parked orders."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Strict
from sfa.orders.models import OutboxState


class SyncRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    trigger: str
    status: str = Field(description="running, ok, partial, failed or skipped")
    started_at: datetime
    finished_at: datetime | None
    duration_ms: int | None
    counts: dict = Field(
        description="per phase: push {due, sent, confirmed, retry_later, "
        "parked}, pull {entity: {pages, items, ...}}"
    )
    errors: list = Field(description="what went wrong: phase, kind, message, ids")


class OutboxOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    created_at: datetime
    done_at: datetime | None


class RequeueIn(Strict):
    outbox_ids: list[int] = Field(min_length=1, max_length=1000)


class RequeueOut(BaseModel):
    requeued: int
