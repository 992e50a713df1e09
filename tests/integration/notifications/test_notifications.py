"""Outbox, rules and sender against PostGIS, a real SMTP server and an SMS/push stub."""

import contextlib
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from event_drain import drain_events
from integrations.notify.sms_http import HttpSmsChannel
from integrations.notify.smtp import SmtpChannel
from sfa.auth import service as auth_service
from sfa.erp import overdue
from sfa.erp.models import Invoice
from sfa.events.service import SYSTEM
from sfa.notifications import rules, sender
from sfa.notifications.models import Channel, Notification, NotificationState
from sfa.orders import events as order_events
from sfa.workflows import timers

# 2026-11-23 10:00 in Jakarta (UTC+7).
MORNING = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)


def smtp(controller) -> SmtpChannel:
    return SmtpChannel(host=controller.hostname, port=controller.port, sender="sfa@test")


def rows(db, **where) -> list[Notification]:
    db.expire_all()
    stmt = select(Notification).order_by(Notification.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(Notification, key) == value)
    return list(db.scalars(stmt))


def announce_approved(db, order, now: datetime = MORNING) -> int:
    """The order's approval as the approvals emit it, drained as the drain-events job
    does it (the built-in workflow order-placed tells the distributor and the rep); the
    count of new notices."""
    before = len(rows(db))
    order_events.decided(db, order, approved=True, actor=SYSTEM, level=None, occurred_at=now)
    drain_events(db)
    return len(rows(db)) - before


def test_smtp_receives_exactly_the_expected_emails_in_each_language(
    db, world, smtp_server, session_factory, make_order
):
    controller, received = smtp_server
    world.distributor_b.email = "distributor@example.id"
    world.distributor_b.language = "id"
    # A second distributor whose language is English.
    other = type(world.distributor_b)(
        code="BD02",
        name="Toko BD02",
        team_id=world.team_b.id,
        is_distributor=True,
        email="dist@example.com",
        language="en",
    )
    db.add(other)
    db.flush()
    world.customer_a.distributor_id = other.id
    order_id = make_order(rep=world.rep_b, customer=world.customer_b)
    order_en = make_order(rep=world.rep_a, customer=world.customer_a)
    plain = make_order(rep=world.rep_b, customer=world.distributor_b)  # not secondary
    for order in (order_id, order_en, order_id, plain):  # the rule fires twice: one row
        announce_approved(db, order)
    db.commit()

    report = sender.run_sender(
        session_factory, channels={Channel.email: smtp(controller)}, now=MORNING
    )

    assert report.sent == 4  # 2 emails + 2 in-app
    assert sorted(m["To"] for m in received) == ["dist@example.com", "distributor@example.id"]
    by_to = {m["To"]: m for m in received}
    indo = by_to["distributor@example.id"]
    assert indo["Subject"] == f"Pesanan baru #{order_id.id} dari Toko B001"
    assert "Mohon siapkan pengiriman" in indo.get_content()
    english = by_to["dist@example.com"]
    assert english["Subject"] == f"New order #{order_en.id} from Toko A001"
    assert "Please prepare the delivery" in english.get_content()
    in_app = rows(db, channel=Channel.in_app)
    assert {n.recipient_user_id for n in in_app} == {world.rep_a.id, world.rep_b.id}
    assert all(n.state == NotificationState.sent for n in rows(db))
    # Nothing left to send: a second pass delivers nothing more.
    assert (
        sender.run_sender(
            session_factory,
            channels={Channel.email: smtp(controller)},
            now=MORNING + timedelta(minutes=1),
        ).sent
        == 0
    )
    assert len(received) == 2


def confirm_delivery(db, world, order, day: date, *, now: datetime) -> None:
    """The ERP's confirmation as an admin gives it; the workflow texts the customer."""
    admin = auth_service.principal_for_user(db, world.admin)
    rules.confirm_delivery_date(db, principal=admin, order_id=order.id, delivery_date=day, now=now)
    drain_events(db)


def _invoice(db, customer, *, due: date) -> Invoice:
    invoice = Invoice(
        external_id="INV-1",
        number="INV/2026/001",
        customer_id=customer.id,
        state="posted",
        currency="IDR",
        due_date=due,
        total_amount=Decimal("500000"),
        amount_to_pay=Decimal("500000"),
    )
    db.add(invoice)
    db.flush()
    return invoice


def overdue_reminders(db, day: date, at: datetime) -> int:
    """The scheduler's day: the overdue job (invoice.overdue events), the drain that
    starts the reminder workflows, the timers that wake those waiting; new SMS rows."""
    before = len(rows(db, channel=Channel.sms))
    overdue.emit_overdue_invoices(db, today=day, now=at)
    drain_events(db)
    timers.wake_due(db, now=at)
    return len(rows(db, channel=Channel.sms)) - before


def test_overdue_invoice_sms_sequence_stops_once_paid(db, world, gateway, session_factory):
    world.customer_b.phone = "+6281100000001"
    world.customer_b.language = "en"
    invoice = _invoice(db, world.customer_b, due=date(2026, 11, 1))
    db.commit()
    sms = {Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA")}

    sent_on = []
    for offset in range(0, 12):  # the daily job at 08:00 Jakarta, then the sender
        day = date(2026, 11, 1) + timedelta(days=offset)
        at = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 08:00 local
        overdue_reminders(db, day, at)
        overdue_reminders(db, day, at)  # twice: once
        if day == date(2026, 11, 8):  # paid after the 3rd reminder was queued
            invoice.paid = True
            invoice.amount_to_pay = Decimal(0)
        db.commit()
        before = len(gateway.requests)
        sender.run_sender(session_factory, channels=sms, now=at + timedelta(minutes=1))
        sent_on.extend([day] * (len(gateway.requests) - before))

    # Reminders 1 and 2 went out (days 1 and 4 after due); the third was queued on day 7
    # after due (Nov 8) but the invoice was paid before the sender ran: cancelled.
    assert sent_on == [date(2026, 11, 2), date(2026, 11, 5)]
    assert [r.state for r in rows(db, channel=Channel.sms)] == [
        NotificationState.sent,
        NotificationState.sent,
        NotificationState.cancelled,
    ]
    texts = [r["text"] for r in gateway.requests]
    assert all("INV/2026/001" in t and "was due on 2026-11-01" in t for t in texts)
    assert all(r["to"] == "+6281100000001" for r in gateway.requests)


def test_overdue_reminder_cancelled_at_send_time_when_paid(db, world, gateway, session_factory):
    world.customer_b.phone = "+6281100000001"
    invoice = _invoice(db, world.customer_b, due=date(2026, 11, 1))
    db.commit()
    sms = {Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA")}
    at = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert overdue_reminders(db, date(2026, 11, 2), at) == 1
    sender.run_sender(session_factory, channels=sms, now=at)
    assert len(gateway.requests) == 1
    # Day 5: the second reminder is queued; the payment arrives before the sender runs.
    at5 = datetime(2026, 11, 5, 1, 0, tzinfo=UTC)
    assert overdue_reminders(db, date(2026, 11, 5), at5) == 1
    invoice.paid = True
    db.commit()
    report = sender.run_sender(session_factory, channels=sms, now=at5)
    assert report.cancelled == 1 and len(gateway.requests) == 1
    cancelled = rows(db, state=NotificationState.cancelled)
    assert "paid" in cancelled[0].last_error
    # Nothing more after payment.
    at8 = datetime(2026, 11, 8, 1, 0, tzinfo=UTC)
    assert overdue_reminders(db, date(2026, 11, 8), at8) == 0


def test_reminders_stop_after_max_and_follow_every_n_days(db, world, gateway, session_factory):
    world.customer_b.phone = "+6281100000001"
    _invoice(db, world.customer_b, due=date(2026, 11, 1))
    db.commit()
    sms = {Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA")}
    sent_on = []
    for offset in range(1, 20):
        day = date(2026, 11, 1) + timedelta(days=offset)
        at = datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)
        overdue_reminders(db, day, at)
        db.commit()
        before = len(gateway.requests)
        sender.run_sender(session_factory, channels=sms, now=at)
        sent_on.extend([day.day] * (len(gateway.requests) - before))
    assert sent_on == [2, 5, 8]  # every 3 days, 3 times (defaults)


def test_quiet_hours_hold_an_sms_until_morning(db, world, gateway, session_factory, make_order):
    world.customer_b.phone = "+6281100000002"
    order = make_order(rep=world.rep_b, customer=world.customer_b)
    night = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)  # 22:30 in Jakarta
    confirm_delivery(db, world, order, date(2026, 11, 25), now=night)
    db.commit()
    sms = {Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA")}
    [row] = rows(db, channel=Channel.sms)
    assert row.next_attempt_at == datetime(2026, 11, 24, 0, 0, tzinfo=UTC)  # 07:00 local
    for at in (night, night + timedelta(hours=3), datetime(2026, 11, 23, 23, 59, tzinfo=UTC)):
        sender.run_sender(session_factory, channels=sms, now=at)
    assert gateway.requests == []
    sender.run_sender(session_factory, channels=sms, now=datetime(2026, 11, 24, 0, 0, tzinfo=UTC))
    assert len(gateway.requests) == 1
    assert "25-11-2026" in gateway.requests[0]["text"]  # company language: Indonesian
    assert "akan dikirim" in gateway.requests[0]["text"]


def test_crash_between_sending_and_marking(
    db, world, gateway, smtp_server, session_factory, make_order
):
    """Documented policy: email left 'sending' past the lease → 'uncertain' (never resent
    blindly); SMS → retried, and the gateway drops the duplicate by reference."""
    controller, received = smtp_server
    world.distributor_b.email = "distributor@example.id"
    world.customer_b.phone = "+6281100000003"
    order = make_order(rep=world.rep_b, customer=world.customer_b)
    announce_approved(db, order)
    confirm_delivery(db, world, order, date(2026, 11, 25), now=MORNING + timedelta(minutes=1))
    db.commit()

    class Crash(BaseException):
        pass

    class CrashAfterSend:
        """Delivers, then the process dies before the outcome is recorded."""

        def __init__(self, inner):
            self.inner, self.idempotent = inner, inner.idempotent

        def send(self, message):
            self.inner.send(message)
            raise Crash

    channels = {
        Channel.email: smtp(controller),
        Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA"),
    }
    crashing = {k: CrashAfterSend(v) for k, v in channels.items()}
    for minute in (0, 1):  # each pass dies right after its first delivery
        with contextlib.suppress(Crash):
            sender.run_sender(
                session_factory, channels=crashing, now=MORNING + timedelta(minutes=minute)
            )
    assert len(received) == 1 and len(gateway.requests) == 1
    assert {r.state for r in rows(db)} == {NotificationState.sending}

    # Within the lease nothing is touched; after it, the policy applies.
    sender.run_sender(session_factory, channels=channels, now=MORNING + timedelta(minutes=5))
    assert len(received) == 1 and len(gateway.requests) == 1
    report = sender.run_sender(
        session_factory, channels=channels, now=MORNING + timedelta(minutes=12)
    )
    assert report.uncertain == 1 and report.recovered == 2  # SMS and the rep's in-app
    [email] = rows(db, channel=Channel.email)
    assert email.state == NotificationState.uncertain and "may or may not" in email.last_error
    assert len(received) == 1  # not resent
    [sms] = rows(db, channel=Channel.sms)
    assert sms.state == NotificationState.sent
    assert len(gateway.requests) == 2 and len(gateway.delivered) == 1  # provider deduped
    assert gateway.requests[0]["reference"] == gateway.requests[1]["reference"]


def test_transient_failures_back_off_then_park(db, world, gateway, session_factory, make_order):
    world.customer_b.phone = "+6281100000004"
    order = make_order(rep=world.rep_b, customer=world.customer_b)
    confirm_delivery(db, world, order, date(2026, 11, 25), now=MORNING)
    db.commit()
    gateway.status = 503
    sms = {Channel.sms: HttpSmsChannel(url=gateway.url, api_key=None, sender_id="SFA")}
    at = MORNING
    for attempt in range(1, 4):
        sender.run_sender(session_factory, channels=sms, now=at, max_attempts=3)
        [row] = rows(db, channel=Channel.sms)
        assert row.attempts == attempt
        at = row.next_attempt_at
    assert row.state == NotificationState.parked and "gave up after 3" in row.last_error


def test_rule_switched_off_enqueues_nothing_and_cancels_queued(
    db, world, session_factory, make_order
):
    from sfa.notifications import rule_settings

    admin = auth_service.principal_for_user(db, world.admin)
    world.distributor_b.email = "d@example.id"
    order = make_order(rep=world.rep_b, customer=world.customer_b)
    assert announce_approved(db, order) == 2
    rule_settings.update_rule(db, principal=admin, rule="order_placed", enabled=False, params=None)
    other = make_order(rep=world.rep_b, customer=world.customer_b)
    assert announce_approved(db, other) == 0
    db.commit()
    report = sender.run_sender(session_factory, channels={}, now=MORNING)
    # The in-app row is cancelled; the email has no adapter here and stays pending.
    assert report.cancelled == 1
