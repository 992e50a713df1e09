"""Notifications: the in-app inbox, the admin's outbox, rule switches, announcements,
targets, and delivery-date confirmation (which notifies the customer)."""

from fastapi import APIRouter, Query, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, Instant, PageOut, Text
from api.schemas.notifications import (
    AnnouncementIn,
    AnnouncementOut,
    DeliveryDateIn,
    DeliveryDateOut,
    InboxItemOut,
    NotificationOut,
    ProgressOut,
    RuleIn,
    RuleOut,
    TargetIn,
    TargetOut,
)
from sfa.errors import Forbidden
from sfa.limits import INT64_MAX
from sfa.notifications import rule_settings, rules, targets
from sfa.notifications import service as notification_service
from sfa.notifications.models import Channel, NotificationState

router = APIRouter(prefix="/v1", tags=["notifications"])


@router.get(
    "/me/notifications",
    response_model=PageOut[InboxItemOut],
    summary="My in-app notifications, newest first",
)
def my_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    unread_only: bool = False,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    return PageOut.of(
        notification_service.my_notifications(
            session, principal=principal, unread_only=unread_only, limit=limit, offset=offset
        ),
        InboxItemOut.of,
    )


@router.post(
    "/me/notifications/{notification_id}/read",
    response_model=InboxItemOut,
    summary="Mark one of my notifications read (idempotent)",
)
def mark_read(session: SessionDep, principal: PrincipalDep, notification_id: Id):
    return InboxItemOut.of(
        notification_service.mark_read(
            session, principal=principal, notification_id=notification_id
        )
    )


@router.get(
    "/notifications",
    response_model=PageOut[NotificationOut],
    summary="Every notification (admin), filtered",
)
def list_notifications(
    session: SessionDep,
    principal: PrincipalDep,
    state: NotificationState | None = None,
    channel: Channel | None = None,
    rule: Text | None = None,
    recipient_user_id: Id | None = None,
    recipient_customer_id: Id | None = None,
    entity: Text | None = None,
    entity_id: Id | None = None,
    due_from: Instant | None = None,
    due_to: Instant | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    return PageOut.of(
        notification_service.list_notifications(
            session,
            principal=principal,
            limit=limit,
            offset=offset,
            state=state,
            channel=channel,
            rule=rule,
            recipient_user_id=recipient_user_id,
            recipient_customer_id=recipient_customer_id,
            entity=entity,
            entity_id=entity_id,
            due_from=due_from,
            due_to=due_to,
        ),
        NotificationOut.model_validate,
    )


@router.post(
    "/notifications/{notification_id}/resend",
    response_model=NotificationOut,
    status_code=status.HTTP_201_CREATED,
    summary="Send a notification again (admin): a new row, due now",
)
def resend(session: SessionDep, principal: PrincipalDep, notification_id: Id):
    return notification_service.resend(
        session, principal=principal, notification_id=notification_id
    )


@router.get(
    "/notification-rules",
    response_model=list[RuleOut],
    summary="Notification rules, their switches and parameters (admin)",
)
def list_rules(session: SessionDep, principal: PrincipalDep):
    return rule_settings.list_rules(session, principal=principal)


@router.patch(
    "/notification-rules/{rule}",
    response_model=RuleOut,
    summary="Switch a rule on/off or change its parameters (admin)",
)
def update_rule(session: SessionDep, principal: PrincipalDep, rule: Text, body: RuleIn):
    return rule_settings.update_rule(
        session, principal=principal, rule=rule, enabled=body.enabled, params=body.params
    )


@router.post(
    "/announcements",
    response_model=AnnouncementOut,
    status_code=status.HTTP_201_CREATED,
    summary="Announce a price change or promotion; reps are notified at effective_at",
)
def create_announcement(session: SessionDep, principal: PrincipalDep, body: AnnouncementIn):
    announcement, reps = rules.create_announcement(
        session,
        principal=principal,
        kind=body.kind,
        title=body.title,
        body=body.body,
        effective_at=body.effective_at,
        team_ids=body.team_ids,
    )
    return AnnouncementOut(
        id=announcement.id,
        kind=announcement.kind,
        title=announcement.title,
        effective_at=announcement.effective_at,
        team_ids=announcement.team_ids,
        reps=reps,
        notifications=0,
    )


@router.post(
    "/targets",
    response_model=TargetOut,
    status_code=status.HTTP_201_CREATED,
    tags=["targets"],
    summary="Set a rep's visits and sales target for a period",
)
def create_target(session: SessionDep, principal: PrincipalDep, body: TargetIn):
    return targets.create_target(session, principal=principal, **body.model_dump())


@router.get("/targets", response_model=PageOut[TargetOut], tags=["targets"])
def list_targets(
    session: SessionDep,
    principal: PrincipalDep,
    rep_id: Id | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    return PageOut.of(
        targets.list_targets(
            session, principal=principal, rep_id=rep_id, limit=limit, offset=offset
        ),
        TargetOut.model_validate,
    )


@router.get("/targets/{target_id}/progress", response_model=ProgressOut, tags=["targets"])
def target_progress(session: SessionDep, principal: PrincipalDep, target_id: Id):
    target = targets.get_target(session, principal=principal, target_id=target_id)
    return ProgressOut.of(targets.progress(session, target=target))


@router.get(
    "/me/targets",
    response_model=list[ProgressOut],
    tags=["targets"],
    summary="My targets with their progress",
)
def my_targets(session: SessionDep, principal: PrincipalDep):
    if principal.user_id is None:
        raise Forbidden("only users have targets", hint="log in as the rep")
    page = targets.list_targets(
        session, principal=principal, rep_id=principal.id, limit=100, offset=0
    )
    return [ProgressOut.of(targets.progress(session, target=t)) for t in page.items]


@router.put(
    "/orders/{order_id}/delivery-date",
    response_model=DeliveryDateOut,
    tags=["orders"],
    summary="Confirm an order's delivery date (ERP key with 'erp:write', or admin); "
    "the customer gets an SMS",
)
def confirm_delivery_date(
    session: SessionDep, principal: PrincipalDep, order_id: Id, body: DeliveryDateIn
):
    order = rules.confirm_delivery_date(
        session, principal=principal, order_id=order_id, delivery_date=body.delivery_date
    )
    return DeliveryDateOut(order_id=order.id, delivery_date=body.delivery_date)
