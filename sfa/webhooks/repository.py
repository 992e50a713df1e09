"""The SQL of webhooks: subscriptions, the enqueue of deliveries, the dispatcher's claim
and the record of outcomes.

Order per subject (docs/webhooks.md, "Ordering"): a delivery is claimed only when no
earlier delivery (lower id) of the same endpoint and subject is still open (pending,
also while it waits for a retry, or being sent). Deliveries are enqueued in the stream's
order, so a later event never overtakes an earlier one; one given up or delivered lets
the next go. The claim takes rows `FOR UPDATE SKIP LOCKED`: two dispatchers never claim
the same row, and an earlier row that another dispatcher is claiming still reads as
open, so the later one waits for it.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from sfa.db import execute_dml
from sfa.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints_query() -> Select:
    return select(WebhookEndpoint).order_by(WebhookEndpoint.id)


def find_by_name(session: Session, name: str) -> WebhookEndpoint | None:
    return session.scalar(select(WebhookEndpoint).where(WebhookEndpoint.name == name))


def subscribed(session: Session, event_type: str) -> list[int]:
    """The active endpoints that take `event_type`."""
    return list(
        session.scalars(
            select(WebhookEndpoint.id)
            .where(
                WebhookEndpoint.active.is_(True),
                WebhookEndpoint.event_types.contains([event_type]),
            )
            .order_by(WebhookEndpoint.id)
        )
    )


_ENQUEUE = text(
    """
INSERT INTO webhook_deliveries (endpoint_id, message_id, event_id, event_type, subject_key,
    body, state, occurred_at, window_started_at, next_attempt_at)
SELECT u.endpoint_id, u.message_id, :event_id, :event_type, :subject_key, :body, 'pending',
    :occurred_at, :now, :now
FROM unnest(CAST(:endpoint_ids AS bigint[]), CAST(:message_ids AS text[]))
    AS u(endpoint_id, message_id)
ON CONFLICT (endpoint_id, message_id) DO NOTHING
"""
)


def enqueue(session: Session, *, endpoints: dict[int, str], **message) -> int:
    """One delivery of `message` (event_id, event_type, subject_key, body, occurred_at,
    now) per endpoint, under the given message id each; one that exists (endpoint,
    message id) is left alone. One statement whatever the number of endpoints."""
    if not endpoints:
        return 0
    params = message | {
        "endpoint_ids": list(endpoints),
        "message_ids": list(endpoints.values()),
    }
    return execute_dml(session, _ENQUEUE, params)


def deliveries_query(endpoint_id: int, state: DeliveryState | None) -> Select:
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    if state is not None:
        stmt = stmt.where(WebhookDelivery.state == state)
    return stmt.order_by(WebhookDelivery.id.desc())


def attempts_of(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if delivery_ids:
        stmt = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
        for attempt in session.scalars(stmt):
            found[attempt.delivery_id].append(attempt)
    return found


@dataclass(frozen=True)
class Claim:
    id: int
    endpoint_id: int
    message_id: str
    body: str
    attempt: int
    claimed_at: datetime
    window_started_at: datetime
    url: str
    keys: list[str]


_CLAIM = text(
    """
WITH due AS (
    SELECT d.id FROM webhook_deliveries d
    JOIN webhook_endpoints e ON e.id = d.endpoint_id
    WHERE d.state = 'pending' AND d.next_attempt_at <= :now AND e.active
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries p
        WHERE p.endpoint_id = d.endpoint_id AND p.subject_key = d.subject_key
          AND p.state IN ('pending', 'sending') AND p.id < d.id)
    ORDER BY d.next_attempt_at, d.id
    LIMIT :limit
    FOR UPDATE OF d SKIP LOCKED
)
UPDATE webhook_deliveries w
SET state = 'sending', claimed_at = :now, attempts = w.attempts + 1
FROM due, webhook_endpoints e
WHERE w.id = due.id AND e.id = w.endpoint_id
RETURNING w.id, w.endpoint_id, w.message_id, w.body, w.attempts, w.window_started_at,
          e.url, e.secret, e.previous_secret, e.previous_secret_expires_at
"""
)


def claim(session: Session, now: datetime, limit: int) -> list[Claim]:
    """Due deliveries, each the earliest open one of its endpoint and subject, marked
    `sending`; the caller commits before sending."""
    claims = []
    for row in session.execute(_CLAIM, {"now": now, "limit": limit}).mappings():
        keys = [row["secret"]]
        expires = row["previous_secret_expires_at"]
        if row["previous_secret"] and expires is not None and expires > now:
            keys.append(row["previous_secret"])
        claims.append(
            Claim(
                id=row["id"],
                endpoint_id=row["endpoint_id"],
                message_id=row["message_id"],
                body=row["body"],
                attempt=row["attempts"],
                claimed_at=now,
                window_started_at=row["window_started_at"],
                url=row["url"],
                keys=keys,
            )
        )
    return sorted(claims, key=lambda c: c.id)


def recover_expired(session: Session, before: datetime) -> int:
    """Deliveries left `sending` since before `before` (a dispatcher died mid-send) go
    back to pending: receivers dedupe by webhook-id, so sending again is safe."""
    return execute_dml(
        session,
        text(
            "UPDATE webhook_deliveries SET state = 'pending', claimed_at = NULL, "
            "next_attempt_at = now() WHERE state = 'sending' AND claimed_at < :before"
        ),
        {"before": before},
    )


_RECORD = text(
    """
UPDATE webhook_deliveries SET state = CAST(:state AS webhook_delivery_state),
    next_attempt_at = COALESCE(:next_attempt_at, next_attempt_at), claimed_at = NULL,
    delivered_at = :delivered_at, last_status = :status, last_error = :error
WHERE id = :id AND state = 'sending' AND claimed_at = :claimed_at
"""
)
_ATTEMPT = text(
    "INSERT INTO webhook_attempts (delivery_id, attempt, started_at, duration_ms, "
    "status_code, error, response_body) VALUES (:id, :attempt, :started_at, :duration_ms, "
    ":status, :error, :response_body)"
)


def record(session: Session, outcomes: list[dict]) -> None:
    """Each outcome's delivery update (fenced on its claim) and attempt row, in two
    pipelined statements."""
    if outcomes:
        session.execute(_RECORD, outcomes)
        session.execute(_ATTEMPT, outcomes)


def endpoint_succeeded(session: Session, endpoint_ids: list[int]) -> None:
    if endpoint_ids:
        session.execute(
            text(
                "UPDATE webhook_endpoints SET failing_since = NULL "
                "WHERE id = ANY(:ids) AND failing_since IS NOT NULL"
            ),
            {"ids": endpoint_ids},
        )


def endpoint_failed(session: Session, endpoint_ids: list[int], now: datetime) -> None:
    if endpoint_ids:
        session.execute(
            text(
                "UPDATE webhook_endpoints SET failing_since = :now "
                "WHERE id = ANY(:ids) AND failing_since IS NULL"
            ),
            {"ids": endpoint_ids, "now": now},
        )


def failing_since_before(session: Session, before: datetime) -> list[WebhookEndpoint]:
    """Active endpoints whose every attempt has failed since before `before`."""
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(
                WebhookEndpoint.active.is_(True),
                WebhookEndpoint.failing_since < before,
            )
            .with_for_update(skip_locked=True)
        )
    )
