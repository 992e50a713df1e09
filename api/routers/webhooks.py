"""Webhook subscriptions, their delivery log and manual redelivery (docs/webhooks.md).
Admins, or an API key with the `webhooks:write` scope."""

from datetime import timedelta

from fastapi import APIRouter, Query, Response, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, PageOut
from api.schemas.webhooks import (
    DeliveryOut,
    RotateIn,
    WebhookIn,
    WebhookOut,
    WebhookPatchIn,
    WebhookSecretOut,
)
from sfa.limits import INT64_MAX
from sfa.webhooks import service as webhook_service
from sfa.webhooks.models import DeliveryState

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])


@router.get("", response_model=PageOut[WebhookOut], summary="Webhook subscriptions")
def list_webhooks(
    session: SessionDep,
    principal: PrincipalDep,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page = webhook_service.list_endpoints(session, principal=principal, limit=limit, offset=offset)
    return PageOut.of(page, WebhookOut.model_validate)


@router.post(
    "",
    response_model=WebhookSecretOut,
    status_code=status.HTTP_201_CREATED,
    summary="Subscribe a URL to event types (the signing secret is shown once)",
)
def create_webhook(session: SessionDep, principal: PrincipalDep, body: WebhookIn):
    endpoint, secret = webhook_service.create_endpoint(
        session, principal=principal, **body.model_dump()
    )
    return WebhookSecretOut.of(endpoint, secret)


@router.get("/{webhook_id}", response_model=WebhookOut, summary="One webhook subscription")
def get_webhook(session: SessionDep, principal: PrincipalDep, webhook_id: Id):
    return WebhookOut.model_validate(
        webhook_service.get_endpoint(session, principal=principal, endpoint_id=webhook_id)
    )


@router.patch(
    "/{webhook_id}",
    response_model=WebhookOut,
    summary="Change a subscription (active: true turns a disabled one back on)",
)
def update_webhook(
    session: SessionDep, principal: PrincipalDep, webhook_id: Id, body: WebhookPatchIn
):
    endpoint = webhook_service.update_endpoint(
        session,
        principal=principal,
        endpoint_id=webhook_id,
        changes=body.model_dump(exclude_unset=True),
    )
    return WebhookOut.model_validate(endpoint)


@router.delete(
    "/{webhook_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete a subscription and its delivery log",
)
def delete_webhook(session: SessionDep, principal: PrincipalDep, webhook_id: Id):
    webhook_service.delete_endpoint(session, principal=principal, endpoint_id=webhook_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecretOut,
    summary="A new signing secret (shown once); the old one keeps signing for a while",
)
def rotate_secret(
    session: SessionDep, principal: PrincipalDep, webhook_id: Id, body: RotateIn | None = None
):
    hours = (body or RotateIn()).keep_old_for_hours
    endpoint, secret = webhook_service.rotate_secret(
        session, principal=principal, endpoint_id=webhook_id, keep_old_for=timedelta(hours=hours)
    )
    return WebhookSecretOut.of(endpoint, secret)


@router.get(
    "/{webhook_id}/deliveries",
    response_model=PageOut[DeliveryOut],
    summary="The delivery log, newest first, with every attempt",
)
def list_deliveries(
    session: SessionDep,
    principal: PrincipalDep,
    webhook_id: Id,
    state: DeliveryState | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page, attempts = webhook_service.list_deliveries(
        session,
        principal=principal,
        endpoint_id=webhook_id,
        state=state,
        limit=limit,
        offset=offset,
    )
    return PageOut.of(page, lambda d: DeliveryOut.of(d, attempts[d.id]))


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    response_model=DeliveryOut,
    summary="Send a delivery again now (same webhook-id, a fresh retry window)",
)
def redeliver(session: SessionDep, principal: PrincipalDep, webhook_id: Id, delivery_id: Id):
    delivery = webhook_service.redeliver(
        session, principal=principal, endpoint_id=webhook_id, delivery_id=delivery_id
    )
    return DeliveryOut.of(delivery, webhook_service.attempts(session, delivery))
