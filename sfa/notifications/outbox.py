"""Enqueue notifications: one outbox row per recipient and channel, in the caller's
transaction, so a notification exists if and only if the event that caused it committed.

Dedupe keys (unique): `<rule>:<event id>:<recipient/step>`, e.g.
`order_placed:42:distributor`, `resend:<id>:<uuid>`, and for a workflow's notify step
(the reminder rules 2-5 among them) `wf:<run>:<step>:<attempt>:<recipient>:<channel>`.
A rule that fires twice for the same event therefore enqueues once (INSERT … ON
CONFLICT DO NOTHING).
"""

from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from sfa.company.settings import CompanySettings
from sfa.notifications import repository
from sfa.notifications.models import Channel, Notification, NotificationState

# Channels that wake a phone up: held during quiet hours (company timezone).
QUIET_CHANNELS = frozenset({Channel.sms, Channel.push})


def quiet_until(settings: CompanySettings, channel: Channel, at: datetime) -> datetime | None:
    """End of the quiet period containing `at` (UTC), or None when `at` is not quiet."""
    if channel not in QUIET_CHANNELS:
        return None
    start = time.fromisoformat(settings.quiet_hours_start)
    end = time.fromisoformat(settings.quiet_hours_end)
    if start == end:
        return None
    local = at.astimezone(settings.tz)
    now = local.time()
    if start > end:  # wraps midnight, e.g. 21:00-07:00
        if now >= start:
            day = local.date() + timedelta(days=1)
        elif now < end:
            day = local.date()
        else:
            return None
    else:
        if not start <= now < end:
            return None
        day = local.date()
    return datetime.combine(day, end, tzinfo=settings.tz).astimezone(UTC)


def enqueue(
    session: Session,
    *,
    settings: CompanySettings,
    rule: str,
    channel: Channel,
    template: str,
    dedupe_key: str,
    language: str,
    payload: dict,
    due_at: datetime,
    recipient_user_id: int | None = None,
    recipient_customer_id: int | None = None,
    address: str | None = None,
    entity: str | None = None,
    entity_id: int | None = None,
    resend_of_id: int | None = None,
) -> Notification | None:
    """Add a row unless one with this dedupe key exists; returns the new row or None."""
    if (recipient_user_id is None) == (recipient_customer_id is None):
        raise ValueError("a notification has exactly one recipient: a user or a customer")
    recipient_key = (
        f"user:{recipient_user_id}"
        if recipient_user_id is not None
        else f"customer:{recipient_customer_id}"
    )
    next_attempt_at = quiet_until(settings, channel, due_at) or due_at
    new_id = repository.insert_if_new(
        session,
        {
            "dedupe_key": dedupe_key,
            "rule": rule,
            "channel": channel,
            "template": template,
            "language": language,
            "payload": payload,
            "recipient_user_id": recipient_user_id,
            "recipient_customer_id": recipient_customer_id,
            "recipient_key": recipient_key,
            "address": address,
            "entity": entity,
            "entity_id": entity_id,
            "due_at": due_at,
            "next_attempt_at": next_attempt_at,
            "state": NotificationState.pending,
            "attempts": 0,
            "resend_of_id": resend_of_id,
        },
    )
    return session.get(Notification, new_id) if new_id is not None else None
