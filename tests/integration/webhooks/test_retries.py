"""Retries with backoff and jitter, Retry-After, 410, the 3-day window, and the order
per subject under retries. No test sleeps: a retry is made due by moving its
next_attempt_at (or the window's start) into the past."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from event_drain import emit_sample
from sfa.notifications import templates
from sfa.notifications.models import Notification
from sfa.webhooks import dispatcher as dispatch
from sfa.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint


def _rows(db, endpoint):
    db.expire_all()
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return list(db.scalars(stmt.order_by(WebhookDelivery.id)))


def _make_due(db, endpoint):
    for row in _rows(db, endpoint):
        if row.state is DeliveryState.pending:
            row.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()


def test_backoff_doubles_with_jitter_up_to_twelve_hours():
    assert dispatch.backoff(1, rng=lambda: 0.5) == timedelta(seconds=30)
    assert dispatch.backoff(2, rng=lambda: 0.5) == timedelta(seconds=60)
    assert dispatch.backoff(1, rng=lambda: 0.0) == timedelta(seconds=24)
    assert dispatch.backoff(1, rng=lambda: 1.0) == timedelta(seconds=36)
    assert dispatch.backoff(30, rng=lambda: 0.5) == timedelta(hours=12)
    # The schedule spans about three days before the window closes.
    total, attempt = timedelta(0), 1
    while total + dispatch.backoff(attempt, rng=lambda: 0.5) <= dispatch.RETRY_WINDOW:
        total += dispatch.backoff(attempt, rng=lambda: 0.5)
        attempt += 1
    assert timedelta(days=2) < total <= timedelta(days=3) and 12 <= attempt <= 20


def test_retry_after_in_seconds_or_as_a_date():
    now = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    assert dispatch.retry_after("120", now) == timedelta(seconds=120)
    assert dispatch.retry_after("Tue, 01 Dec 2026 09:00:00 GMT", now) == timedelta(hours=1)
    assert dispatch.retry_after("soon", now) is None


def test_a_receiver_failing_three_times_gets_it_on_the_fourth(
    db, receiver, subscribe, dispatcher, enqueue
):
    endpoint = subscribe(receiver)
    receiver.answers = [(500, {}), (503, {}), (502, {})]
    emit_sample(db, "flaky", key="flaky")
    enqueue()
    waits = []
    for _ in range(3):
        before = datetime.now(UTC)
        assert dispatcher.run_once().retried == 1
        [row] = _rows(db, endpoint)
        waits.append(row.next_attempt_at - before)
        _make_due(db, endpoint)
    assert dispatcher.run_once().delivered == 1
    [row] = _rows(db, endpoint)
    assert (row.state, row.attempts) == (DeliveryState.delivered, 4)
    # 30 s, 60 s, 120 s, each within the jitter.
    for wait, base in zip(waits, (30, 60, 120), strict=True):
        assert base * 0.8 - 1 <= wait.total_seconds() <= base * 1.2 + 1
    # Every attempt carried the same webhook-id, each signed afresh and verified.
    assert len({r.headers["webhook-id"] for r in receiver.verified}) == 1
    assert len(receiver.verified) == 4 and receiver.rejected == []
    db.expire_all()
    assert db.get(WebhookEndpoint, endpoint.id).failing_since is None


def test_retry_after_is_honoured(db, receiver, subscribe, dispatcher, enqueue):
    endpoint = subscribe(receiver)
    receiver.answers = [(429, {"Retry-After": "3600"})]
    emit_sample(db, "throttled", key="throttled")
    enqueue()
    before = datetime.now(UTC)
    dispatcher.run_once()
    [row] = _rows(db, endpoint)
    assert row.state is DeliveryState.pending and row.last_status == 429
    assert row.next_attempt_at - before >= timedelta(seconds=3599)


def test_410_disables_the_endpoint_and_tells_its_owner(
    db, receiver, subscribe, dispatcher, enqueue, world
):
    endpoint = subscribe(receiver)
    receiver.answers = [(410, {})]
    emit_sample(db, "gone", key="gone-1")
    emit_sample(db, "gone", key="gone-2")  # same subject: waits for the first
    enqueue()
    report = dispatcher.run_once()
    assert report.disabled == [endpoint.id]
    db.expire_all()
    stored = db.get(WebhookEndpoint, endpoint.id)
    assert not stored.active and "410" in stored.disabled_reason
    first, second = _rows(db, endpoint)
    assert first.state is DeliveryState.failed
    assert second.state is DeliveryState.pending  # waits for the endpoint to be back on
    [note] = db.scalars(select(Notification).where(Notification.template == "webhook_disabled"))
    assert note.recipient_user_id == world.admin.id and note.entity_id == endpoint.id
    english = templates.render("webhook_disabled", "en", note.payload)
    indonesian = templates.render("webhook_disabled", "id", note.payload)
    assert "was disabled: the receiver answered 410 Gone" in english.body
    assert "dinonaktifkan: penerima menjawab 410 Gone" in indonesian.body
    assert f'PATCH /v1/webhooks/{endpoint.id} {{"active": true}}' in english.body
    assert dispatcher.run_once().claimed == 0  # a disabled endpoint gets nothing


def test_three_days_of_failures_give_up_and_disable(db, receiver, subscribe, dispatcher, enqueue):
    endpoint = subscribe(receiver)
    receiver.answers = [(500, {})] * 5
    emit_sample(db, "down", key="down")
    enqueue()
    dispatcher.run_once()
    # Three days later (moved back rather than waited for): the next failure ends it.
    three_days = dispatch.RETRY_WINDOW + timedelta(minutes=1)
    for row in _rows(db, endpoint):
        row.window_started_at -= three_days
    db.get(WebhookEndpoint, endpoint.id).failing_since -= three_days
    db.commit()
    _make_due(db, endpoint)
    report = dispatcher.run_once()
    assert (report.failed, report.disabled) == (1, [endpoint.id])
    [row] = _rows(db, endpoint)
    assert row.state is DeliveryState.failed and row.attempts == 2
    assert "3 days" in db.get(WebhookEndpoint, endpoint.id).disabled_reason
    notes = list(
        db.scalars(select(Notification).where(Notification.template == "webhook_disabled"))
    )
    assert {n.channel for n in notes} >= {"in_app"}


@pytest.mark.parametrize("gives_up", [False, True])
def test_order_per_subject_holds_under_retries(
    db, receiver, subscribe, dispatcher, enqueue, gives_up
):
    """The second event of a subject waits while the first is retried; another subject
    goes on meanwhile."""
    endpoint = subscribe(receiver)
    receiver.by_subject = {"same": [(500, {})]}
    emit_sample(db, "same", key="same-1")
    emit_sample(db, "same", key="same-2")
    emit_sample(db, "other", key="other-1")
    enqueue()
    first, second, _other = _rows(db, endpoint)
    report = dispatcher.run_once()
    # The first of "same" failed; "other" went; the second of "same" was not even tried.
    assert (report.claimed, report.delivered, report.retried) == (2, 1, 1)
    assert sorted(r.json["data"]["subject"]["id"] for r in receiver.verified) == ["other", "same"]
    _make_due(db, endpoint)
    if gives_up:
        row = db.get(WebhookDelivery, first.id)
        row.window_started_at -= dispatch.RETRY_WINDOW
        receiver.by_subject = {"same": [(500, {})]}
        db.commit()
    dispatcher.run_once()  # the first again: delivered, or failed for good
    dispatcher.run_once()  # now the second
    states = [r.state for r in _rows(db, endpoint)]
    expected_first = DeliveryState.failed if gives_up else DeliveryState.delivered
    assert states == [expected_first, DeliveryState.delivered, DeliveryState.delivered]
    ids = [r.headers["webhook-id"] for r in receiver.verified]
    assert ids.index(second.message_id) > max(i for i, m in enumerate(ids) if m == first.message_id)
