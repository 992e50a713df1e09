"""The in-app inbox, and the admin's view of the outbox (list, filter, resend)."""

import uuid
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.errors import Forbidden, NotFound
from sfa.notifications import outbox, repository
from sfa.notifications.models import Channel, Notification, NotificationState
from sfa.pagination import Page, paginate


def _require_user(principal: Principal) -> int:
    if principal.user_id is None:
        raise Forbidden("only users have an inbox", hint="log in as a user, not an API key")
    return principal.user_id


def my_notifications(
    session: Session, *, principal: Principal, unread_only: bool, limit: int, offset: int
) -> Page[Notification]:
    user_id = _require_user(principal)
    return paginate(
        session, repository.inbox(user_id, unread_only=unread_only), limit=limit, offset=offset
    )


def mark_read(
    session: Session, *, principal: Principal, notification_id: int, now: datetime | None = None
) -> Notification:
    user_id = _require_user(principal)
    row = session.scalar(
        repository.inbox(user_id, unread_only=False).where(Notification.id == notification_id)
    )
    if row is None:
        raise NotFound(f"notification {notification_id} is not in your inbox")
    if row.read_at is None:
        row.read_at = now or datetime.now(UTC)
        session.flush()
    return row


def list_notifications(
    session: Session, *, principal: Principal, limit: int, offset: int, **filters
) -> Page[Notification]:
    principal.require("notifications:admin")
    return paginate(session, repository.filtered(**filters), limit=limit, offset=offset)


def resend(
    session: Session, *, principal: Principal, notification_id: int, now: datetime | None = None
) -> Notification:
    """A new row with the same content, due now; the original keeps its history."""
    principal.require("notifications:admin")
    original = session.get(Notification, notification_id)
    if original is None:
        raise NotFound(f"notification {notification_id} does not exist")
    settings = company_service.get_company_settings(session)
    copy = outbox.enqueue(
        session,
        settings=settings,
        rule=original.rule,
        channel=Channel(original.channel),
        template=original.template,
        dedupe_key=f"resend:{original.id}:{uuid.uuid4().hex}",
        language=original.language,
        payload=original.payload,
        due_at=now or datetime.now(UTC),
        recipient_user_id=original.recipient_user_id,
        recipient_customer_id=original.recipient_customer_id,
        address=original.address,
        entity=original.entity,
        entity_id=original.entity_id,
        resend_of_id=original.id,
    )
    if copy is None:  # the key is a fresh uuid: it cannot exist already
        raise RuntimeError(f"resend of notification {original.id} was deduplicated")
    if original.state in (NotificationState.uncertain, NotificationState.parked):
        original.last_error = f"{original.last_error or ''} [resent as {copy.id}]"[:1000]
    audit_service.record(
        session,
        actor=principal.actor,
        entity="notification",
        entity_id=original.id,
        action="resend",
        new={"copy_id": copy.id},
    )
    return copy
