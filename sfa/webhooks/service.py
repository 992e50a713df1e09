"""Webhook subscriptions (admin, or an API key with `webhooks:write`), the enqueue of
deliveries (from the event stream and from workflow steps), redelivery, rotation, and
disabling an endpoint with a word to its owner (docs/webhooks.md)."""

import json
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.models import ApiKey
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.errors import Conflict, InvalidInput, NotFound
from sfa.events.registry import find as find_event_type
from sfa.events.repository import Event
from sfa.notifications import outbox, templates
from sfa.notifications.models import Channel
from sfa.pagination import Page, paginate
from sfa.users.models import Role, User
from sfa.webhooks import repository, signing, ssrf
from sfa.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SCOPE = "webhooks:write"
# The type of the deliveries a workflow's webhook step makes.
WORKFLOW_EVENT_TYPE = "workflow.webhook"
# webhook-id = "msg_" + uuid5 of (source, endpoint): stable per event and endpoint.
MESSAGE_NAMESPACE = uuid.UUID("0b3c51d4-6c0e-5a8e-9a51-3d2f7e1c9b40")
# How long the old secret keeps signing after a rotation, by default and at most.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ROTATION_OVERLAP = timedelta(days=7)
NOTIFY_RULE = "webhooks"


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def message_id(source: str, endpoint_id: int) -> str:
    return "msg_" + uuid.uuid5(MESSAGE_NAMESPACE, f"{source}:{endpoint_id}").hex


def _event_types(types: list[str]) -> list[str]:
    unknown = sorted({t for t in types if find_event_type(t) is None})
    if unknown or not types:
        raise InvalidInput(
            f"unknown or missing event types: {', '.join(unknown) or '(none given)'}",
            hint="GET /v1/event-types lists them",
        )
    return sorted(set(types))


def _url(url: str) -> str:
    ssrf.check_url(url)  # UnsafeUrl (422) says why
    return url


def _get(session: Session, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    principal.require(SCOPE)
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(f"webhook {endpoint_id} does not exist")
    return endpoint


def _owner(session: Session, principal: Principal) -> int | None:
    if principal.user_id is not None:
        return principal.user_id
    key = session.get(ApiKey, principal.id)
    return key.created_by if key is not None else None


def _flush_unique(session: Session, name: str) -> None:
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:
        raise Conflict(
            f"a webhook named {name!r} exists already", hint="choose another name"
        ) from None


def list_endpoints(
    session: Session, *, principal: Principal, limit: int, offset: int
) -> Page[WebhookEndpoint]:
    principal.require(SCOPE)
    return paginate(session, repository.endpoints_query(), limit=limit, offset=offset)


def get_endpoint(session: Session, *, principal: Principal, endpoint_id: int) -> WebhookEndpoint:
    return _get(session, principal, endpoint_id)


def create_endpoint(
    session: Session,
    *,
    principal: Principal,
    name: str,
    url: str,
    event_types: list[str],
    description: str | None = None,
    active: bool = True,
) -> tuple[WebhookEndpoint, str]:
    """A subscription; the returned secret is shown once (it is kept to sign)."""
    principal.require(SCOPE)
    secret = signing.new_secret()
    endpoint = WebhookEndpoint(
        name=name,
        url=_url(url),
        description=description,
        event_types=_event_types(event_types),
        active=active,
        secret=secret,
        owner_user_id=_owner(session, principal),
        created_by=principal.actor,
    )
    session.add(endpoint)
    _flush_unique(session, name)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="webhook",
        entity_id=endpoint.id,
        action="create",
        new={"name": name, "url": url, "event_types": endpoint.event_types},
    )
    return endpoint, secret


def update_endpoint(
    session: Session, *, principal: Principal, endpoint_id: int, changes: dict
) -> WebhookEndpoint:
    endpoint = _get(session, principal, endpoint_id)
    if "url" in changes:
        changes["url"] = _url(changes["url"])
    if "event_types" in changes:
        changes["event_types"] = _event_types(changes["event_types"])
    if changes.get("active") and not endpoint.active:
        # Turned back on: its waiting deliveries resume, its failure clock starts anew.
        endpoint.disabled_at = endpoint.disabled_reason = endpoint.failing_since = None
    for key, value in changes.items():
        setattr(endpoint, key, value)
    _flush_unique(session, endpoint.name)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="webhook",
        entity_id=endpoint.id,
        action="update",
        new=dict(changes),
    )
    return endpoint


def delete_endpoint(session: Session, *, principal: Principal, endpoint_id: int) -> None:
    endpoint = _get(session, principal, endpoint_id)
    session.delete(endpoint)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="webhook",
        entity_id=endpoint_id,
        action="delete",
        new={"name": endpoint.name},
    )


def rotate_secret(
    session: Session,
    *,
    principal: Principal,
    endpoint_id: int,
    keep_old_for: timedelta = ROTATION_OVERLAP,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """A new secret; the old one keeps signing (two signatures) for `keep_old_for`."""
    endpoint = _get(session, principal, endpoint_id)
    if not timedelta(0) <= keep_old_for <= MAX_ROTATION_OVERLAP:
        raise InvalidInput(
            f"the old secret can be kept from 0 to {MAX_ROTATION_OVERLAP.days * 24} hours"
        )
    secret = signing.new_secret()
    endpoint.previous_secret = endpoint.secret if keep_old_for else None
    endpoint.previous_secret_expires_at = _now(now) + keep_old_for if keep_old_for else None
    endpoint.secret = secret
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="webhook",
        entity_id=endpoint.id,
        action="rotate_secret",
        new={"old_secret_until": str(endpoint.previous_secret_expires_at)},
    )
    return endpoint, secret


def list_deliveries(
    session: Session,
    *,
    principal: Principal,
    endpoint_id: int,
    state: DeliveryState | None,
    limit: int,
    offset: int,
) -> tuple[Page[WebhookDelivery], dict[int, list[WebhookAttempt]]]:
    """The delivery log, newest first, with each delivery's attempts."""
    _get(session, principal, endpoint_id)
    page = paginate(
        session, repository.deliveries_query(endpoint_id, state), limit=limit, offset=offset
    )
    return page, repository.attempts_of(session, [d.id for d in page.items])


def attempts(session: Session, delivery: WebhookDelivery) -> list[WebhookAttempt]:
    """One delivery's attempts, first first (its log)."""
    return repository.attempts_of(session, [delivery.id])[delivery.id]


def redeliver(
    session: Session,
    *,
    principal: Principal,
    endpoint_id: int,
    delivery_id: int,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Send a delivery again now, under the same webhook-id, with a fresh retry window."""
    _get(session, principal, endpoint_id)
    delivery = session.get(WebhookDelivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.endpoint_id != endpoint_id:
        raise NotFound(f"delivery {delivery_id} of webhook {endpoint_id} does not exist")
    if delivery.state is DeliveryState.sending:
        raise Conflict("this delivery is being sent now", hint="look at its log in a moment")
    at = _now(now)
    delivery.state, delivery.next_attempt_at, delivery.window_started_at = (
        DeliveryState.pending,
        at,
        at,
    )
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="webhook_delivery",
        entity_id=delivery.id,
        action="redeliver",
        new={"endpoint_id": endpoint_id},
    )
    return delivery


# --- enqueue ------------------------------------------------------------------------------


def _enqueue(
    session: Session,
    endpoint_ids: list[int],
    *,
    source: str,
    subject: str,
    body: dict,
    occurred_at: datetime,
) -> int:
    return repository.enqueue(
        session,
        endpoints={e: message_id(source, e) for e in endpoint_ids},
        event_id=body["data"].get("event_id"),
        event_type=body["type"],
        subject_key=subject[:130],
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        occurred_at=occurred_at,
        now=datetime.now(UTC),
    )


def enqueue_event(session: Session, event: Event) -> int:
    """The consumer's handler: one delivery per active endpoint taking the event's type
    (an event read again enqueues nothing: the webhook-id is the same)."""
    endpoints = repository.subscribed(session, event.type)
    if not endpoints:
        return 0
    body = {
        "type": event.type,
        "timestamp": event.occurred_at.isoformat(),
        "data": {
            "event_id": str(event.event_id),
            "subject": {"kind": event.subject_kind, "id": event.subject_id},
            "actor": {"kind": event.actor_kind, "id": event.actor_id},
            "payload": event.payload,
        },
    }
    return _enqueue(
        session,
        endpoints,
        source=str(event.event_id),
        subject=f"{event.subject_kind}:{event.subject_id}",
        body=body,
        occurred_at=event.occurred_at,
    )


def enqueue_workflow_call(
    session: Session, *, endpoint_name: str, key: str, subject: str, data: dict, now: datetime
) -> tuple[WebhookEndpoint, int | None]:
    """A workflow step's delivery to the subscription `endpoint_name`; `key` is the
    run-step's idempotency key (a retried step enqueues once). Returns the endpoint and
    the new delivery's id (None: enqueued before)."""
    endpoint = repository.find_by_name(session, endpoint_name)
    if endpoint is None:
        raise NotFound(f"no webhook is named {endpoint_name!r}", hint="GET /v1/webhooks")
    if not endpoint.active:
        raise Conflict(f"the webhook {endpoint_name!r} is disabled")
    body = {"type": WORKFLOW_EVENT_TYPE, "timestamp": now.isoformat(), "data": data}
    source = f"wf:{key}"
    _enqueue(session, [endpoint.id], source=source, subject=subject, body=body, occurred_at=now)
    found = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.endpoint_id == endpoint.id,
            WebhookDelivery.message_id == message_id(source, endpoint.id),
        )
    )
    return endpoint, found


# --- disabling ---------------------------------------------------------------------------


def disable(
    session: Session, endpoint: WebhookEndpoint, *, reason_en: str, reason_id: str, now: datetime
) -> None:
    """Turn the endpoint off (its pending deliveries wait) and tell its owner, or every
    active admin when it has none, in-app and by e-mail where they have an address."""
    endpoint.active = False
    endpoint.disabled_at, endpoint.disabled_reason = now, reason_en
    settings = company_service.get_company_settings(session)
    owner = session.get(User, endpoint.owner_user_id) if endpoint.owner_user_id else None
    recipients = (
        [owner]
        if owner is not None and owner.is_active
        else list(
            session.scalars(select(User).where(User.role == Role.admin, User.is_active.is_(True)))
        )
    )
    payload = {
        "webhook_id": endpoint.id,
        "webhook_name": endpoint.name,
        "webhook_url": endpoint.url,
        "reason_en": reason_en,
        "reason_id": reason_id,
    }
    for user in recipients:
        channels = [(Channel.in_app, None)] + ([(Channel.email, user.email)] if user.email else [])
        for channel, address in channels:
            outbox.enqueue(
                session,
                settings=settings,
                rule=NOTIFY_RULE,
                channel=channel,
                template="webhook_disabled",
                dedupe_key=f"webhook-disabled:{endpoint.id}:{now.isoformat()}:{user.id}:{channel}",
                language=templates.pick_language(user.language, settings.language),
                payload=payload,
                due_at=now,
                recipient_user_id=user.id,
                address=address,
                entity="webhook",
                entity_id=endpoint.id,
            )
    session.flush()
