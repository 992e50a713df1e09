"""Webhook subscriptions and their delivery log (docs/webhooks.md)."""

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import PatchIn, Strict, Text
from sfa.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

Name = Annotated[Text, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
Url = Annotated[Text, Field(min_length=1, max_length=2000)]
EventTypes = Annotated[
    list[Annotated[Text, Field(max_length=60)]], Field(min_length=1, max_length=100)
]
Description = Annotated[Text, Field(max_length=2000)]


class WebhookIn(Strict):
    name: Name = Field(description="what a workflow's webhook step names; unique")
    url: Url = Field(examples=["https://crm.example.com/hooks/sfa"])
    event_types: EventTypes = Field(examples=[["order.approved", "visit.checked_in"]])
    description: Description | None = None
    active: bool = True


class WebhookPatchIn(PatchIn):
    nullable: ClassVar[frozenset[str]] = frozenset({"description"})
    name: Name | None = None
    url: Url | None = None
    event_types: EventTypes | None = None
    description: Description | None = None
    active: bool | None = None


class RotateIn(Strict):
    keep_old_for_hours: int = Field(
        24, ge=0, le=168, description="the old secret keeps signing this long (0: stops now)"
    )


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    url: str
    description: str | None
    event_types: list[str]
    active: bool
    owner_user_id: int | None
    created_by: str
    previous_secret_expires_at: datetime | None
    failing_since: datetime | None
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookSecretOut(WebhookOut):
    secret: str = Field(description="shown this once: keep it to verify the signatures")

    @classmethod
    def of(cls, endpoint: WebhookEndpoint, secret: str) -> "WebhookSecretOut":
        return cls.model_validate(
            WebhookOut.model_validate(endpoint).model_dump() | {"secret": secret}
        )


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_body: str | None


class DeliveryOut(BaseModel):
    id: int
    message_id: str
    event_id: str | None
    event_type: str
    subject_key: str
    state: DeliveryState
    attempts: int
    occurred_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    log: list[AttemptOut]

    @classmethod
    def of(cls, delivery: WebhookDelivery, attempts: list[WebhookAttempt]) -> "DeliveryOut":
        return cls(
            id=delivery.id,
            message_id=delivery.message_id,
            event_id=str(delivery.event_id) if delivery.event_id else None,
            event_type=delivery.event_type,
            subject_key=delivery.subject_key,
            state=delivery.state,
            attempts=delivery.attempts,
            occurred_at=delivery.occurred_at,
            next_attempt_at=delivery.next_attempt_at,
            delivered_at=delivery.delivered_at,
            last_status=delivery.last_status,
            last_error=delivery.last_error,
            log=[AttemptOut.model_validate(a) for a in attempts],
        )
