from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import Day, Id, Instant, Int64, Strict, Text
from sfa.notifications import templates
from sfa.notifications.models import AnnouncementKind, Channel, Notification, NotificationState


class NotificationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rule: str
    channel: Channel
    template: str
    language: str
    payload: dict
    recipient_user_id: int | None
    recipient_customer_id: int | None
    entity: str | None
    entity_id: int | None
    due_at: datetime
    next_attempt_at: datetime
    state: NotificationState
    attempts: int
    last_error: str | None
    sent_at: datetime | None
    read_at: datetime | None
    resend_of_id: int | None


class InboxItemOut(BaseModel):
    id: int
    template: str
    subject: str
    body: str
    payload: dict
    created_at: datetime
    sent_at: datetime | None
    read_at: datetime | None

    @classmethod
    def of(cls, row: Notification) -> "InboxItemOut":
        rendered = templates.render(row.template, row.language, row.payload)
        return cls(
            id=row.id,
            template=row.template,
            subject=rendered.subject,
            body=rendered.body,
            payload=row.payload,
            created_at=row.created_at,
            sent_at=row.sent_at,
            read_at=row.read_at,
        )


class RuleOut(BaseModel):
    rule: str
    enabled: bool
    params: dict


class RuleIn(Strict):
    enabled: bool | None = None
    params: dict[Annotated[Text, Field(max_length=60)], Int64] | None = Field(None, max_length=50)


class AnnouncementIn(Strict):
    kind: AnnouncementKind
    title: Text = Field(min_length=1, max_length=200)
    body: Text = Field(min_length=1, max_length=2000)
    effective_at: Instant
    team_ids: list[Id] | None = None


class AnnouncementOut(BaseModel):
    id: int
    kind: AnnouncementKind
    title: str
    effective_at: datetime
    team_ids: list[int] | None
    reps: int = Field(description="active reps the announcement addresses now")
    notifications: int = Field(
        description="notifications queued so far: none at creation, the built-in workflow "
        "announcement queues them when the announcement is due (effective_at)"
    )


class TargetIn(Strict):
    rep_id: Id
    period_start: Day
    period_end: Day
    visits_target: int = Field(ge=0, le=1_000_000)
    sales_target: Decimal = Field(ge=0, max_digits=18, decimal_places=2)


class TargetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    rep_id: int
    period_start: date
    period_end: date
    visits_target: int
    sales_target: Decimal


class ProgressOut(BaseModel):
    target: TargetOut
    visits_done: int
    visits_pct: float
    sales_done: Decimal
    sales_pct: float
    days_total: int
    days_elapsed: int

    @classmethod
    def of(cls, p) -> "ProgressOut":
        return cls(
            target=TargetOut.model_validate(p.target),
            visits_done=p.visits_done,
            visits_pct=p.visits_pct,
            sales_done=p.sales_done,
            sales_pct=p.sales_pct,
            days_total=p.days_total,
            days_elapsed=p.days_elapsed,
        )


class DeliveryDateIn(Strict):
    delivery_date: Day


class DeliveryDateOut(BaseModel):
    order_id: int
    delivery_date: date
