"""The notification reminders as built-in workflows consuming the domain events: the real
action (or job), then the drain, give the messages the rules promise — to whom, in which
language, with which words — and nothing twice: a job run again, or the same event
delivered again to the workflows, sends nothing more; a rule switched off sends nothing."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from event_drain import drain_events
from sfa.auth import service as auth_service
from sfa.erp import overdue
from sfa.erp.models import Invoice
from sfa.events import repository as event_repository
from sfa.events import types
from sfa.notifications import events as notification_events
from sfa.notifications import rule_settings, rules, targets, templates
from sfa.notifications.models import AnnouncementKind, Channel, Notification
from sfa.workflows import consumer as workflow_consumer
from sfa.workflows import timers
from sfa.workflows.runtime_models import RunStatus, WorkflowRun

NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)  # 07:30 in Jakarta


def rows(db, **where) -> list[Notification]:
    drain_events(db)
    db.expire_all()
    stmt = select(Notification).order_by(Notification.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Notification, column) == value)
    return list(db.scalars(stmt))


def deliver_again(db, event_type: str, subject_id: int) -> None:
    """The workflows get the same event once more (an at-least-once redelivery)."""
    batch = event_repository.read_batch(db, after=(0, 0), types=[event_type], limit=10_000)
    [event] = [e for e in batch.events if e.subject_id == str(subject_id)]
    workflow_consumer.handle(db, event)


def rendered(row: Notification):
    return templates.render(row.template, row.language, row.payload)


@pytest.fixture
def admin(db, world):
    return auth_service.principal_for_user(db, world.admin)


def switch_off(db, admin, rule: str) -> None:
    rule_settings.update_rule(db, principal=admin, rule=rule, enabled=False, params=None)


# --- rule 5: target progress -------------------------------------------------------------


@pytest.fixture
def target(db, world):
    return targets.create_target(
        db,
        principal=auth_service.principal_for_user(db, world.manager_a),
        rep_id=world.rep_a.id,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        visits_target=20,
        sales_target=Decimal("1500000"),
    )


def test_target_progress_is_one_in_app_note_to_the_rep_a_day(db, world, target):
    world.rep_a.language = "en"
    day = date(2026, 11, 23)
    notification_events.emit_target_progress(db, today=day, now=NOW)
    [note] = rows(db, entity="target", entity_id=target.id)
    assert (note.recipient_user_id, note.channel, note.rule) == (
        world.rep_a.id,
        Channel.in_app,
        "target_progress",
    )
    assert note.due_at == NOW and note.language == "en"
    text = rendered(note)
    assert text.subject == "Target progress 2026-11-01 - 2026-11-30"
    assert text.body == "Visits 0/20 (0.0%), sales 0.00/1,500,000.00 (0.0%). 7 days left."
    # The job again, the event again: nothing more. The next day: the next note.
    notification_events.emit_target_progress(db, today=day, now=NOW)
    deliver_again(db, types.TARGET_PROGRESS, target.id)
    assert len(rows(db, entity="target", entity_id=target.id)) == 1
    notification_events.emit_target_progress(db, today=day + timedelta(days=1), now=NOW)
    assert len(rows(db, entity="target", entity_id=target.id)) == 2


def test_target_progress_switched_off_sends_nothing(db, world, admin, target):
    switch_off(db, admin, "target_progress")
    notification_events.emit_target_progress(db, today=date(2026, 11, 23), now=NOW)
    assert rows(db, entity="target", entity_id=target.id) == []


# --- rule 4: announcements ---------------------------------------------------------------


def announce(db, who, *, team_ids=None, kind=AnnouncementKind.promotion):
    announcement, _ = rules.create_announcement(
        db,
        principal=who,
        kind=kind,
        title="Kopi 2+1",
        body="Beli 2 gratis 1",
        effective_at=NOW + timedelta(hours=2),
        team_ids=team_ids,
    )
    return announcement


def test_an_announcement_reaches_each_rep_in_their_language_once(db, world, admin):
    world.rep_b.language = "en"
    world.rep_a2.is_active = False
    announcement = announce(db, admin, kind=AnnouncementKind.price_change)
    assert rows(db, entity="announcement", entity_id=announcement.id) == []
    due = announcement.effective_at
    notification_events.emit_due_announcements(db, now=due)
    found = rows(db, entity="announcement", entity_id=announcement.id)
    assert sorted((r.recipient_user_id, str(r.channel)) for r in found) == sorted(
        (rep.id, channel) for rep in (world.rep_a, world.rep_b) for channel in ("in_app", "push")
    )
    assert all(r.due_at == due and r.rule == "announcement" for r in found)
    by_rep = {r.recipient_user_id: rendered(r).subject for r in found if r.channel is Channel.push}
    assert by_rep == {
        world.rep_a.id: "Perubahan harga: Kopi 2+1",  # the company's language
        world.rep_b.id: "Price change: Kopi 2+1",
    }
    notification_events.emit_due_announcements(db, now=due + timedelta(minutes=1))
    deliver_again(db, types.ANNOUNCEMENT_DUE, announcement.id)
    assert len(rows(db, entity="announcement", entity_id=announcement.id)) == 4


def test_an_announcement_to_a_team_and_switched_off(db, world, admin):
    announcement = announce(db, admin, team_ids=[world.team_b.id])
    notification_events.emit_due_announcements(db, now=announcement.effective_at)
    found = rows(db, entity="announcement", entity_id=announcement.id)
    assert {r.recipient_user_id for r in found} == {world.rep_b.id}
    assert rendered(found[0]).body == "Beli 2 gratis 1"
    switch_off(db, admin, "announcement")
    quiet = announce(db, admin)
    notification_events.emit_due_announcements(db, now=quiet.effective_at)
    assert rows(db, entity="announcement", entity_id=quiet.id) == []


# --- rule 3: delivery date ---------------------------------------------------------------


def test_a_delivery_date_redelivered_sends_one_sms(db, world, admin, make_order):
    world.customer_b.phone = "+6281100000009"
    order = make_order("0", rep=world.rep_b, customer=world.customer_b)
    rules.confirm_delivery_date(
        db, principal=admin, order_id=order.id, delivery_date=date(2026, 12, 1), now=NOW
    )
    drain_events(db)
    deliver_again(db, types.DELIVERY_CONFIRMED, order.id)
    [sms] = rows(db, entity="order", entity_id=order.id, channel=Channel.sms)
    assert (sms.recipient_customer_id, sms.address, sms.rule) == (
        world.customer_b.id,
        "+6281100000009",
        "delivery_confirmed",
    )
    assert (
        rendered(sms).body == f"Yth. Toko B001, pesanan #{order.id} akan dikirim pada 01-12-2026."
    )
    runs = db.scalars(select(WorkflowRun).where(WorkflowRun.subject_id == order.id)).all()
    assert [r.status for r in runs if r.trigger_type == types.DELIVERY_CONFIRMED] == [
        RunStatus.completed
    ]


# --- rule 2: overdue invoices --------------------------------------------------------------


def morning(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta


@pytest.fixture
def invoice(db, world):
    world.customer_b.phone = "+6281100000007"
    row = Invoice(
        external_id="INV-WF",
        number="INV/2026/077",
        customer_id=world.customer_b.id,
        state="posted",
        currency="IDR",
        due_date=date(2026, 11, 1),
        total_amount=Decimal("500000"),
        amount_to_pay=Decimal("500000"),
    )
    db.add(row)
    db.flush()
    return row


def reminder_days(db, invoice, first: date, last: date) -> list[int]:
    """The days (of November) an SMS was queued, running each day's jobs from `first`."""
    queued = []
    day = first
    while day <= last:
        before = len(rows(db, entity="invoice", entity_id=invoice.id))
        overdue.emit_overdue_invoices(db, today=day, now=morning(day))
        drain_events(db)
        timers.wake_due(db, now=morning(day))
        after = len(rows(db, entity="invoice", entity_id=invoice.id))
        queued += [day.day] * (after - before)
        day += timedelta(days=1)
    return queued


def test_an_overdue_invoice_gets_its_reminders_in_the_customers_language(db, world, invoice):
    assert reminder_days(db, invoice, date(2026, 11, 1), date(2026, 11, 20)) == [2, 5, 8]
    sms = rows(db, entity="invoice", entity_id=invoice.id)
    assert {(r.recipient_customer_id, r.address, r.rule) for r in sms} == {
        (world.customer_b.id, "+6281100000007", "invoice_overdue")
    }
    assert rendered(sms[0]).body.startswith(
        "Yth. Toko B001, tagihan INV/2026/077 sebesar IDR 500,000.00 telah jatuh tempo "
        "pada 2026-11-01."
    )
    deliver_again(db, types.INVOICE_OVERDUE, invoice.id)
    assert len(rows(db, entity="invoice", entity_id=invoice.id)) == 3


def test_first_seen_late_it_sends_the_latest_reminder_due_not_a_burst(db, invoice):
    # Five days overdue when first seen: the 2nd reminder (day 4) is the latest due.
    assert reminder_days(db, invoice, date(2026, 11, 6), date(2026, 11, 20)) == [6, 9]


def test_an_invoice_overdue_longer_than_the_sequence_gets_none(db, invoice):
    assert reminder_days(db, invoice, date(2026, 11, 11), date(2026, 11, 20)) == []


def test_the_rules_parameters_set_the_rhythm(db, admin, invoice):
    rule_settings.update_rule(
        db,
        principal=admin,
        rule="invoice_overdue",
        enabled=None,
        params={"every_days": 7, "max_reminders": 2},
    )
    assert reminder_days(db, invoice, date(2026, 11, 2), date(2026, 11, 30)) == [2, 9]


def test_paid_moved_or_switched_off_the_reminders_stop(db, admin, invoice, world):
    assert reminder_days(db, invoice, date(2026, 11, 2), date(2026, 11, 3)) == [2]
    invoice.paid = True
    db.flush()
    assert reminder_days(db, invoice, date(2026, 11, 4), date(2026, 11, 20)) == []

    moved = Invoice(
        external_id="INV-WF2",
        number="INV/2026/078",
        customer_id=world.customer_b.id,
        state="posted",
        currency="IDR",
        due_date=date(2026, 11, 1),
        total_amount=Decimal("1000"),
        amount_to_pay=Decimal("1000"),
    )
    db.add(moved)
    db.flush()
    assert reminder_days(db, moved, date(2026, 11, 2), date(2026, 11, 3)) == [2]
    moved.due_date = date(2026, 11, 30)  # the ERP gave the customer more time
    db.flush()
    assert reminder_days(db, moved, date(2026, 11, 4), date(2026, 11, 29)) == []
    runs = db.scalars(
        select(WorkflowRun).where(
            WorkflowRun.subject_kind == "invoice", WorkflowRun.subject_id == moved.id
        )
    ).all()
    assert [r.status for r in runs] == [RunStatus.completed]

    switch_off(db, admin, "invoice_overdue")
    assert reminder_days(db, moved, date(2026, 12, 1), date(2026, 12, 5)) == []
