"""From the event stream to a receiver that checks every signature with the
`standardwebhooks` library: headers, idempotent enqueue, the delivery log."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from event_drain import emit_sample
from sfa.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery


def _deliveries(db, endpoint):
    db.expire_all()
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    return list(db.scalars(stmt.order_by(WebhookDelivery.id)))


def test_an_event_reaches_the_receiver_signed(db, receiver, subscribe, dispatcher, enqueue):
    endpoint = subscribe(receiver)
    other = subscribe(receiver, name="other", event_types=["order.approved"])
    emit_sample(db, "promo-1", key="promo-1")
    enqueue()
    report = dispatcher.run_once()
    assert (report.claimed, report.delivered) == (1, 1)
    assert receiver.rejected == []
    [request] = receiver.verified
    assert request.json["type"] == "announcement.due"
    assert request.json["data"]["subject"] == {"kind": "announcement", "id": "promo-1"}
    assert request.headers["webhook-id"].startswith("msg_")
    stamp = int(request.headers["webhook-timestamp"])
    assert abs(stamp - datetime.now(UTC).timestamp()) < 60
    [delivery] = _deliveries(db, endpoint)
    assert delivery.state is DeliveryState.delivered
    assert delivery.message_id == request.headers["webhook-id"]
    assert _deliveries(db, other) == []  # not subscribed to that type


def test_an_event_read_again_enqueues_once_per_endpoint(db, receiver, subscribe, enqueue):
    endpoint = subscribe(receiver)
    emit_sample(db, "promo-2", key="promo-2")
    enqueue()
    from sfa.events import consumers
    from sfa.events.repository import read_batch
    from sfa.webhooks import service

    # The handler run again on the same event (a crash after the send, say): no new row.
    [event] = [
        e
        for e in read_batch(db, after=(0, 0), types=None, limit=1000).events
        if e.subject_id == "promo-2"
    ]
    assert service.enqueue_event(db, event) == 0
    assert len(_deliveries(db, endpoint)) == 1
    assert consumers.failures(db, "webhooks") == []


def test_the_delivery_log_keeps_each_attempt(db, receiver, subscribe, dispatcher, enqueue):
    endpoint = subscribe(receiver)
    receiver.answers = [(500, {})]
    emit_sample(db, "promo-3", key="promo-3")
    enqueue()
    dispatcher.run_once()
    [delivery] = _deliveries(db, endpoint)
    assert (delivery.state, delivery.last_status) == (DeliveryState.pending, 500)
    delivery.next_attempt_at = datetime.now(UTC) - timedelta(seconds=1)
    db.commit()
    dispatcher.run_once()
    attempts = list(
        db.scalars(select(WebhookAttempt).where(WebhookAttempt.delivery_id == delivery.id))
    )
    assert [(a.attempt, a.status_code) for a in attempts] == [(1, 500), (2, 200)]
    assert all(a.duration_ms >= 0 and '"status"' in a.response_body for a in attempts)
    assert _deliveries(db, endpoint)[0].state is DeliveryState.delivered


def test_the_receiver_refuses_a_message_outside_the_tolerance(
    db, receiver, subscribe, make_session, enqueue, monkeypatch
):
    """Signed ten minutes ago (a dispatcher clock behind, or a replay): the library's
    five-minute tolerance refuses it, the receiver answers 400, and it is retried."""
    from sfa.webhooks.dispatcher import Dispatcher

    endpoint = subscribe(receiver)
    emit_sample(db, "late", key="late")
    enqueue()
    for delivery in _deliveries(db, endpoint):  # due by the clock that is behind
        delivery.next_attempt_at -= timedelta(minutes=20)
    db.commit()
    behind = Dispatcher(make_session, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    try:
        assert behind.run_once().retried == 1
    finally:
        behind.close()
    assert receiver.verified == [] and receiver.rejected == ["Message timestamp too old"]
    [delivery] = _deliveries(db, endpoint)
    assert (delivery.state, delivery.last_status) == (DeliveryState.pending, 400)


def test_a_replayed_request_is_refused_once_the_tolerance_has_passed(
    db, receiver, subscribe, dispatcher, enqueue, monkeypatch
):
    import standardwebhooks.webhooks as library

    subscribe(receiver)
    emit_sample(db, "replayed", key="replayed")
    enqueue()
    dispatcher.run_once()
    [captured] = receiver.verified
    assert receiver.verify(captured) is None  # the same bytes, now: still valid

    class SixMinutesLater(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime.now(tz) + timedelta(minutes=6)

    monkeypatch.setattr(library, "datetime", SixMinutesLater)
    assert receiver.verify(captured) == "Message timestamp too old"


def test_one_pass_of_the_loop_drains_the_stream_and_sends(
    db, receiver, subscribe, dispatcher, enqueue
):
    """What the scheduler's thread (and `sfa webhooks-dispatch`) does each pass."""
    from sfa.webhooks import jobs

    enqueue()  # the stream so far (other tests' committed events), before subscribing
    subscribe(receiver)
    emit_sample(db, "loop", key="loop")
    db.commit()
    report = jobs.one_pass(dispatcher)
    assert report.busy and report.enqueued == 1 and report.dispatch.delivered == 1
    assert [r.json["data"]["subject"]["id"] for r in receiver.verified] == ["loop"]
    assert not jobs.one_pass(dispatcher).busy


def test_a_claim_left_by_a_dead_dispatcher_is_sent_again(
    db, receiver, subscribe, dispatcher, enqueue
):
    """Claimed, then the process died before the outcome: after the lease the delivery
    is pending again and goes out under the same webhook-id."""
    from sfa.webhooks import dispatcher as dispatch
    from sfa.webhooks import repository

    endpoint = subscribe(receiver)
    emit_sample(db, "crashed", key="crashed")
    enqueue()
    [claim] = repository.claim(db, datetime.now(UTC), 10)
    db.commit()
    assert dispatcher.run_once().claimed == 0  # it is someone's (sending)
    later = datetime.now(UTC) + dispatch.LEASE + timedelta(seconds=1)
    assert repository.recover_expired(db, later - dispatch.LEASE) == 1
    db.commit()
    assert dispatcher.run_once().delivered == 1
    [delivery] = _deliveries(db, endpoint)
    assert delivery.message_id == claim.message_id and delivery.attempts == 2
