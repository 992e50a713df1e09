"""Deliver due notifications: claim, deliver, record — each in its own short transaction.

Why the sender commits (unlike services): delivery talks to outside systems that can be
slow or hang. Holding row locks (or an open transaction) across an SMTP conversation
would block other senders and the API; and committing the outcome together with the
claim is impossible because the outcome is only known after the network call. So:

1. claim   — `SELECT … FOR UPDATE SKIP LOCKED` of due `pending` rows; each becomes
             `sending` with `claimed_at` and `attempts + 1`; COMMIT. A second sender
             running at the same time skips locked rows and never sees them as pending
             afterwards: each row is claimed by exactly one sender.
2. deliver — outside any transaction, through the channel adapter.
3. record  — `sent` / `pending` (retry with exponential backoff) / `parked` (permanent
             failure or attempts exhausted, reason in `last_error`); COMMIT. The update
             is fenced on `state = 'sending' AND claimed_at = <our claim>`, so a sender
             whose lease was taken over cannot overwrite a newer outcome.

Crash policy (a sender dies between 2 and 3, or hangs longer than the lease): the row
stays `sending`. A later run finds it after `notify_lease_minutes` and decides by channel:

- channels whose provider dedupes by our reference — SMS gateway `reference`, push
  `collapse_key` (both `sfa-notification-<id>`), in-app (our own table) — are put back
  to `pending` and retried: a duplicate submission is dropped by the provider;
- email (SMTP has no idempotency: the Message-ID does not stop a second delivery) is NOT
  resent blindly: it becomes `uncertain` with an explanation; an admin checks and uses
  POST /v1/notifications/{id}/resend if the recipient did not get it.

Checks at claim time (“send time”): a rule switched off cancels its queued rows; an
overdue-invoice reminder whose invoice is paid is cancelled; SMS/push in quiet hours are
held until they end; a recipient over the hourly rate limit is held until a slot frees.
"""

import logging
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.config import get_settings
from sfa.erp.models import Invoice
from sfa.errors import InvalidInput
from sfa.notifications import outbox, repository, rule_settings, templates
from sfa.notifications.channels import (
    ChannelAdapter,
    DeliveryError,
    InAppChannel,
    Message,
    reference_for,
)
from sfa.notifications.models import Channel, Notification, NotificationState

log = logging.getLogger("sfa.notifications.sender")

# Used when a channel's adapter is not wired in this process (see module docstring).
RETRY_SAFE_CHANNELS = frozenset({Channel.in_app, Channel.sms, Channel.push})
MAX_BACKOFF = timedelta(hours=6)


@dataclass
class SendReport:
    sent: int = 0
    retried: int = 0
    parked: int = 0
    cancelled: int = 0
    held: int = 0
    recovered: int = 0  # lease expired, retried (idempotent channel)
    uncertain: int = 0  # lease expired, parked for an admin (email)
    lost_claims: int = 0  # outcome not recorded: our claim was taken over


@dataclass(frozen=True)
class _Claim:
    id: int
    claimed_at: datetime
    attempts: int
    channel: Channel
    message: Message


def backoff(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd … failed attempt, at most 6 h."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def run_sender(
    session_factory: Callable[[], AbstractContextManager[Session]],
    *,
    channels: Mapping[Channel, ChannelAdapter],
    now: datetime | None = None,
    batch_size: int | None = None,
    lease: timedelta | None = None,
    max_attempts: int | None = None,
    rate_limit_per_hour: int | None = None,
) -> SendReport:
    """One pass: recover expired leases, claim a batch, deliver it. Safe to run in any
    number of processes at once. Rows of channels without an adapter stay pending."""
    process = get_settings()
    now = now or datetime.now(UTC)
    batch_size = batch_size or process.notify_batch_size
    lease = lease or timedelta(minutes=process.notify_lease_minutes)
    max_attempts = max_attempts or process.notify_max_attempts
    limit = rate_limit_per_hour or process.notify_rate_limit_per_hour
    adapters: dict[Channel, ChannelAdapter] = {Channel.in_app: InAppChannel(), **channels}
    report = SendReport()

    _recover_expired_leases(
        session_factory, adapters, now=now, lease=lease, batch_size=batch_size, report=report
    )
    claims = _claim(
        session_factory, adapters, now=now, batch_size=batch_size, rate_limit=limit, report=report
    )
    for claim in claims:
        _deliver(
            session_factory,
            adapters[claim.channel],
            claim,
            now=now,
            max_attempts=max_attempts,
            report=report,
        )
    if claims or report.recovered or report.uncertain:
        log.info("notification sender: %s", report)
    return report


def _retry_safe(adapters: Mapping[Channel, ChannelAdapter], channel: Channel) -> bool:
    adapter = adapters.get(channel)
    return adapter.idempotent if adapter is not None else channel in RETRY_SAFE_CHANNELS


def _recover_expired_leases(session_factory, adapters, *, now, lease, batch_size, report):
    with session_factory() as session:
        for row in repository.lease_expired(session, claimed_before=now - lease, limit=batch_size):
            if _retry_safe(adapters, row.channel):
                row.state = NotificationState.pending
                row.next_attempt_at = now
                row.last_error = (
                    "the sender stopped before recording the outcome; "
                    "retried: the provider drops duplicates of this reference"
                )
                report.recovered += 1
            else:
                row.state = NotificationState.uncertain
                claimed = row.claimed_at.isoformat() if row.claimed_at else "an unknown time"
                row.last_error = (
                    f"the sender stopped after claiming it at {claimed} "
                    "and before recording the outcome: it may or may not have been "
                    "delivered, and this channel cannot dedupe a second copy; check and "
                    "resend (POST /v1/notifications/{id}/resend) if it did not arrive"
                )
                report.uncertain += 1
            row.claimed_at = None
        session.commit()


def _claim(session_factory, adapters, *, now, batch_size, rate_limit, report) -> list[_Claim]:
    claims: list[_Claim] = []
    with session_factory() as session:
        settings = company_service.get_company_settings(session)
        enabled = rule_settings.enabled_map(session)
        window_start = now - timedelta(hours=1)
        batch_counts: dict[str, int] = {}
        for row in repository.claim_due(
            session, now=now, limit=batch_size, channels=list(adapters)
        ):
            reason = _cancel_reason(session, row, enabled)
            if reason:
                row.state = NotificationState.cancelled
                row.last_error = reason
                report.cancelled += 1
                continue
            hold = outbox.quiet_until(settings, row.channel, now)
            if hold is None and row.channel != Channel.in_app:
                hold = _rate_limited_until(
                    session,
                    row,
                    now=now,
                    window_start=window_start,
                    limit=rate_limit,
                    batch_counts=batch_counts,
                )
            if hold is not None:
                row.next_attempt_at = hold
                report.held += 1
                continue
            try:
                rendered = templates.render(row.template, row.language, row.payload)
            except InvalidInput as exc:
                row.state = NotificationState.parked
                row.last_error = exc.message
                report.parked += 1
                continue
            row.state = NotificationState.sending
            row.claimed_at = now
            row.attempts += 1
            batch_counts[row.recipient_key] = batch_counts.get(row.recipient_key, 0) + 1
            claims.append(
                _Claim(
                    id=row.id,
                    claimed_at=now,
                    attempts=row.attempts,
                    channel=row.channel,
                    message=Message(
                        notification_id=row.id,
                        channel=row.channel.value,
                        to=row.address,
                        subject=rendered.subject,
                        body=rendered.body,
                        language=row.language,
                        reference=reference_for(row.id),
                        data={"rule": row.rule, "entity": row.entity, "entity_id": row.entity_id},
                        resend_of=reference_for(row.resend_of_id) if row.resend_of_id else None,
                    ),
                )
            )
        session.commit()
    return claims


def _cancel_reason(session: Session, row: Notification, enabled: dict[str, bool]) -> str | None:
    if row.resend_of_id is None and not enabled.get(row.rule, True):
        return f"rule {row.rule!r} is switched off"
    if row.entity == "invoice" and row.entity_id is not None:
        invoice = session.get(Invoice, row.entity_id)
        if invoice is None:
            return "the invoice no longer exists"
        if invoice.paid or invoice.amount_to_pay <= Decimal(0):
            return "the invoice was paid before the reminder went out"
    return None


def _rate_limited_until(session, row, *, now, window_start, limit, batch_counts):
    sent = repository.sends_since(session, recipient_key=row.recipient_key, since=window_start)
    if len(sent) + batch_counts.get(row.recipient_key, 0) < limit:
        return None
    # The window frees a slot when its oldest send is an hour old.
    oldest = sent[0] if sent else now
    return max(oldest + timedelta(hours=1), now + timedelta(minutes=1))


def _deliver(
    session_factory,
    adapter: ChannelAdapter,
    claim: _Claim,
    *,
    now,
    max_attempts,
    report: SendReport,
) -> None:
    try:
        provider_ref = adapter.send(claim.message)
    except DeliveryError as exc:
        values: dict = {"last_error": exc.message[:1000], "claimed_at": None}
        if exc.permanent or claim.attempts >= max_attempts:
            values["state"] = NotificationState.parked
            if not exc.permanent:
                values["last_error"] = (f"gave up after {claim.attempts} attempts: {exc.message}")[
                    :1000
                ]
            report.parked += 1
        else:
            values["state"] = NotificationState.pending
            values["next_attempt_at"] = now + backoff(claim.attempts)
            report.retried += 1
    else:
        values = {
            "state": NotificationState.sent,
            "sent_at": now,
            "provider_ref": provider_ref,
            "last_error": None,
        }
        report.sent += 1
    with session_factory() as session:
        if not repository.finish(
            session, notification_id=claim.id, claimed_at=claim.claimed_at, values=values
        ):
            report.lost_claims += 1
            log.warning(
                "notification %s: claim lost before recording %s", claim.id, values["state"]
            )
        session.commit()
