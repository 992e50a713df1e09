"""The office's and the ERP's events, emitted in the transaction of the change: each real
action writes exactly one event (subject, actor, payload); doing it again (a retried
request, a job run twice, the ERP sending the same document) writes nothing; an action
rolled back leaves no event."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.erp import overdue, push
from sfa.erp.connector import ErpInvoice, ErpRejected, ErpSaleRef
from sfa.erp.context import RunContext
from sfa.erp.models import Invoice
from sfa.erp.upserts import apply_invoices, sale_reference
from sfa.events import types
from sfa.events.models import DomainEvent
from sfa.notifications import events as notification_events
from sfa.notifications import rules, targets
from sfa.notifications.models import AnnouncementKind
from sfa.orders import changes
from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState, OutboxState

NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta


def emitted(db, event_type: str, subject_id) -> list[DomainEvent]:
    return list(
        db.scalars(
            select(DomainEvent)
            .where(DomainEvent.type == event_type, DomainEvent.subject_id == str(subject_id))
            .order_by(DomainEvent.id)
        )
    )


def principal(db, user):
    return auth_service.principal_for_user(db, user)


@pytest.fixture
def product(db):
    row = Product(external_id="erp-P1", code="P1", name="Produk 1", unit="pcs")
    db.add(row)
    db.flush()
    return row


@pytest.fixture
def make_order(db, world, product):
    """An approved order of rep A with one line and its outbox row (`outbox` state)."""

    def make(state=OrderState.approved, outbox=OutboxState.pending, attempts=0) -> Order:
        world.customer_a.external_id = "erp-A001"
        order = Order(
            client_id=uuid.uuid4(),
            request_hash="x" * 64,
            rep_id=world.rep_a.id,
            customer_id=world.customer_a.id,
            state=state,
            currency="IDR",
            gross_amount=Decimal("300000"),
            discount_amount=Decimal(0),
            net_amount=Decimal("300000"),
            discount_pct=Decimal(0),
        )
        db.add(order)
        db.flush()
        db.add(
            OrderLine(
                order_id=order.id,
                line_no=1,
                product_id=product.id,
                quantity=Decimal(3),
                unit_price=Decimal("100000"),
                discount_pct=Decimal(0),
                net_price=Decimal("100000"),
                net_amount=Decimal("300000"),
            )
        )
        db.add(ErpOutbox(order_id=order.id, state=outbox, attempts=attempts))
        db.flush()
        return order

    return make


# --- order.cancelled, order.corrected ---------------------------------------------------


def test_a_cancelled_order_emits_once_with_who_and_why(db, world, make_order):
    order = make_order()
    changes.cancel_order(db, principal=principal(db, world.rep_a), order_id=order.id, now=NOW)
    changes.cancel_order(db, principal=principal(db, world.rep_a), order_id=order.id)  # no-op
    [event] = emitted(db, types.ORDER_CANCELLED, order.id)
    assert (event.subject_kind, event.actor_kind, event.actor_id) == (
        "order",
        "user",
        str(world.rep_a.id),
    )
    assert event.occurred_at == NOW
    assert event.payload["previous_state"] == "approved" and event.payload["state"] == "cancelled"
    assert event.payload["by_office"] is False and event.payload["reason"] is None
    assert (event.payload["rep_id"], event.payload["customer_id"]) == (
        world.rep_a.id,
        world.customer_a.id,
    )

    parked = make_order(outbox=OutboxState.parked, attempts=1)
    admin = principal(db, world.admin)
    changes.cancel_order(db, principal=admin, order_id=parked.id, reason="customer closed")
    [by_office] = emitted(db, types.ORDER_CANCELLED, parked.id)
    assert by_office.actor_id == str(world.admin.id)
    assert (by_office.payload["by_office"], by_office.payload["reason"]) == (
        True,
        "customer closed",
    )


def test_a_cancel_rolled_back_leaves_no_event(db, world, make_order):
    order = make_order()
    change = db.begin_nested()
    changes.cancel_order(db, principal=principal(db, world.rep_a), order_id=order.id)
    assert len(emitted(db, types.ORDER_CANCELLED, order.id)) == 1
    change.rollback()
    assert emitted(db, types.ORDER_CANCELLED, order.id) == []


def test_each_correction_emits_one_event_and_a_refused_retry_none(db, world, make_order):
    order = make_order(outbox=OutboxState.parked, attempts=1)
    admin = principal(db, world.admin)
    changes.correct_order(
        db, principal=admin, order_id=order.id, quantities={1: Decimal(2)}, note="2 only"
    )
    [event] = emitted(db, types.ORDER_CORRECTED, order.id)
    assert (event.actor_kind, event.actor_id) == ("user", str(world.admin.id))
    assert event.payload["note"] == "2 only"
    assert Decimal(event.payload["net_amount"]) == Decimal("200000")
    # The same request again: the order is no longer parked, refused, nothing emitted.
    with pytest.raises(Exception, match="not parked"):
        changes.correct_order(db, principal=admin, order_id=order.id, quantities={1: Decimal(2)})
    assert len(emitted(db, types.ORDER_CORRECTED, order.id)) == 1
    # Refused by the ERP again and corrected again: a second correction, a second event.
    outbox = db.scalar(select(ErpOutbox).where(ErpOutbox.order_id == order.id))
    outbox.state = OutboxState.parked
    db.flush()
    change = db.begin_nested()
    changes.correct_order(db, principal=admin, order_id=order.id, quantities={1: Decimal(1)})
    assert len(emitted(db, types.ORDER_CORRECTED, order.id)) == 2
    change.rollback()
    assert len(emitted(db, types.ORDER_CORRECTED, order.id)) == 1
    changes.correct_order(db, principal=admin, order_id=order.id, quantities={1: Decimal(1)})
    second = emitted(db, types.ORDER_CORRECTED, order.id)[1]
    assert second.event_id != event.event_id and second.payload["note"] is None


# --- order.sent_to_erp -------------------------------------------------------------------


class FakeErp:
    """The ERP side of a push: confirms every sale, or refuses with `refuse`."""

    def __init__(self):
        self.refuse: str | None = None
        self.pushed: list[str] = []

    def push_sale(self, sale) -> ErpSaleRef:
        if self.refuse:
            raise ErpRejected(self.refuse, code="refused")
        self.pushed.append(sale.reference)
        return ErpSaleRef(
            external_id=f"sale-{sale.reference}",
            reference=sale.reference,
            number=f"SO/{sale.reference}",
            state="confirmed",
            currency="IDR",
            untaxed_amount=None,
            tax_amount=None,
            total_amount=None,
        )

    def cancel_sale(self, reference: str) -> None:
        pass


def push_all(db, erp: FakeErp, now=lambda: NOW) -> dict:
    ctx = RunContext(
        sessions=db,
        connector=erp,  # type: ignore[arg-type]
        now=now,
        settings=company_service.get_company_settings(db),
        page_size=100,
        max_pages=None,
        push_waiting=True,
    )
    push.push_phase(ctx)
    return ctx.counts["push"]


def test_the_erp_confirming_a_sale_emits_once(db, make_order):
    order, erp = make_order(), FakeErp()
    assert push_all(db, erp)["confirmed"] == 1
    [event] = emitted(db, types.ORDER_SENT_TO_ERP, order.id)
    assert (event.actor_kind, event.actor_id) == ("erp", None)
    assert event.payload["erp_sale_id"] == f"sale-{sale_reference(order.id)}"
    assert event.payload["erp_number"] == f"SO/{sale_reference(order.id)}"
    assert event.payload["state"] == "confirmed"
    # Re-queued and pushed again (the ERP finds the sale by reference): no new event.
    outbox = db.scalar(select(ErpOutbox).where(ErpOutbox.order_id == order.id))
    outbox.state = OutboxState.pending
    db.flush()
    assert push_all(db, erp)["confirmed"] == 1
    assert len(emitted(db, types.ORDER_SENT_TO_ERP, order.id)) == 1


def test_a_push_that_breaks_after_the_erp_confirmed_leaves_no_event(db, make_order):
    """Our side fails while finishing the row (after the sale was confirmed and the event
    written): the row's transaction rolls back with its event; the retry emits it."""
    order, erp = make_order(), FakeErp()
    calls = []

    def now_failing_once():
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database hiccup")
        return NOW

    assert push_all(db, erp, now=now_failing_once)["retry_later"] == 1
    assert erp.pushed == [sale_reference(order.id)]
    assert emitted(db, types.ORDER_SENT_TO_ERP, order.id) == []
    assert push_all(db, erp)["confirmed"] == 1
    assert len(emitted(db, types.ORDER_SENT_TO_ERP, order.id)) == 1


def test_a_sale_the_erp_refuses_emits_nothing(db, make_order):
    order, erp = make_order(), FakeErp()
    erp.refuse = "unknown product"
    assert push_all(db, erp)["parked"] == 1
    assert emitted(db, types.ORDER_SENT_TO_ERP, order.id) == []


# --- order.invoiced, order.paid ------------------------------------------------------------


def erp_invoice(order: Order, external_id: str, *, paid: bool, state="posted") -> ErpInvoice:
    return ErpInvoice(
        external_id=external_id,
        number=f"INV/{external_id}",
        state="paid" if paid else state,
        customer_external_id="erp-A001",
        sale_references=(sale_reference(order.id),),
        currency="IDR",
        invoice_date=date(2026, 11, 20),
        due_date=date(2026, 12, 20),
        untaxed_amount=Decimal("300000"),
        tax_amount=Decimal(0),
        total_amount=Decimal("300000"),
        amount_to_pay=Decimal(0) if paid else Decimal("300000"),
        paid=paid,
    )


def test_invoiced_then_paid_emit_once_each_with_the_invoices(db, make_order):
    order = make_order(state=OrderState.confirmed, outbox=OutboxState.done)
    posted = erp_invoice(order, f"I-{order.id}", paid=False)
    apply_invoices(db, [posted])
    apply_invoices(db, [posted])  # the same document again
    invoice_id = db.scalar(select(Invoice.id).where(Invoice.external_id == posted.external_id))
    [invoiced] = emitted(db, types.ORDER_INVOICED, order.id)
    assert (invoiced.actor_kind, invoiced.payload["invoice_ids"]) == ("erp", [invoice_id])
    assert invoiced.payload["state"] == "invoiced"
    assert emitted(db, types.ORDER_PAID, order.id) == []

    paid = erp_invoice(order, f"I-{order.id}", paid=True)
    apply_invoices(db, [paid])
    apply_invoices(db, [paid])
    [event] = emitted(db, types.ORDER_PAID, order.id)
    assert event.payload["invoice_ids"] == [invoice_id] and event.payload["state"] == "paid"
    assert len(emitted(db, types.ORDER_INVOICED, order.id)) == 1


def test_an_order_paid_at_once_was_invoiced_too_and_a_rollback_leaves_neither(db, make_order):
    order = make_order(state=OrderState.sent, outbox=OutboxState.done)
    change = db.begin_nested()
    apply_invoices(db, [erp_invoice(order, f"J-{order.id}", paid=True)])
    assert len(emitted(db, types.ORDER_PAID, order.id)) == 1
    change.rollback()
    assert emitted(db, types.ORDER_PAID, order.id) == []
    assert emitted(db, types.ORDER_INVOICED, order.id) == []
    apply_invoices(db, [erp_invoice(order, f"J-{order.id}", paid=True)])
    assert [len(emitted(db, t, order.id)) for t in (types.ORDER_INVOICED, types.ORDER_PAID)] == [
        1,
        1,
    ]


# --- invoice.overdue ---------------------------------------------------------------------


def invoice_of(db, customer, *, due: date, paid=False, external_id="INV-1") -> Invoice:
    invoice = Invoice(
        external_id=external_id,
        number=f"INV/{external_id}",
        customer_id=customer.id,
        state="posted",
        currency="IDR",
        due_date=due,
        total_amount=Decimal("500000"),
        amount_to_pay=Decimal(0) if paid else Decimal("500000"),
        paid=paid,
    )
    db.add(invoice)
    db.flush()
    return invoice


def test_an_unpaid_invoice_past_due_emits_once_per_due_date(db, world):
    invoice = invoice_of(db, world.customer_b, due=date(2026, 11, 1))
    settled = invoice_of(db, world.customer_b, due=date(2026, 11, 1), paid=True, external_id="P")
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 1), now=NOW) == 0  # due today
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 2), now=NOW) == 1
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 2), now=NOW) == 0  # rerun
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 5), now=NOW) == 0  # next days
    [event] = emitted(db, types.INVOICE_OVERDUE, invoice.id)
    assert (event.subject_kind, event.actor_kind, event.occurred_at) == ("invoice", "system", NOW)
    assert Decimal(event.payload.pop("amount_to_pay")) == invoice.amount_to_pay
    assert event.payload == {
        "invoice_id": invoice.id,
        "customer_id": world.customer_b.id,
        "number": invoice.number,
        "currency": "IDR",
        "due_date": "2026-11-01",
        "days_overdue": 1,
    }
    assert emitted(db, types.INVOICE_OVERDUE, settled.id) == []
    # The ERP moves the due date: overdue afresh once the new date has passed.
    invoice.due_date = date(2026, 11, 10)
    db.flush()
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 10), now=NOW) == 0
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 11), now=NOW) == 1
    assert [e.payload["due_date"] for e in emitted(db, types.INVOICE_OVERDUE, invoice.id)] == [
        "2026-11-01",
        "2026-11-10",
    ]


def test_an_overdue_run_rolled_back_emits_nothing(db, world):
    invoice = invoice_of(db, world.customer_b, due=date(2026, 11, 1))
    change = db.begin_nested()
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 2), now=NOW) == 1
    change.rollback()
    assert emitted(db, types.INVOICE_OVERDUE, invoice.id) == []
    assert overdue.emit_overdue_invoices(db, today=date(2026, 11, 2), now=NOW) == 1


# --- delivery.confirmed ------------------------------------------------------------------


def test_a_delivery_date_emits_once_per_date(db, world, make_order):
    order = make_order(state=OrderState.confirmed, outbox=OutboxState.done)
    admin = principal(db, world.admin)

    def confirm(day: date):
        return rules.confirm_delivery_date(
            db, principal=admin, order_id=order.id, delivery_date=day, now=NOW
        )

    confirm(date(2026, 12, 1))
    confirm(date(2026, 12, 1))  # the ERP says it again
    [event] = emitted(db, types.DELIVERY_CONFIRMED, order.id)
    assert (event.actor_kind, event.actor_id, event.occurred_at) == (
        "user",
        str(world.admin.id),
        NOW,
    )
    assert event.payload == {
        "order_id": order.id,
        "rep_id": world.rep_a.id,
        "customer_id": world.customer_a.id,
        "delivery_date": "2026-12-01",
        "previous_date": None,
    }
    change = db.begin_nested()
    confirm(date(2026, 12, 3))
    change.rollback()
    assert len(emitted(db, types.DELIVERY_CONFIRMED, order.id)) == 1
    db.expire_all()
    confirm(date(2026, 12, 3))
    moved = emitted(db, types.DELIVERY_CONFIRMED, order.id)[1]
    assert (moved.payload["delivery_date"], moved.payload["previous_date"]) == (
        "2026-12-03",
        "2026-12-01",
    )


# --- announcement.due --------------------------------------------------------------------


def test_an_announcement_emits_once_when_its_time_comes(db, world):
    at = NOW + timedelta(hours=5)
    announcement, _ = rules.create_announcement(
        db,
        principal=principal(db, world.manager_a),
        kind=AnnouncementKind.promotion,
        title="Beli 2 gratis 1",
        body="Sampai akhir bulan",
        effective_at=at,
        team_ids=None,
    )
    assert notification_events.emit_due_announcements(db, now=at - timedelta(minutes=1)) == 0
    change = db.begin_nested()
    assert notification_events.emit_due_announcements(db, now=at) == 1
    change.rollback()
    assert emitted(db, types.ANNOUNCEMENT_DUE, announcement.id) == []
    assert notification_events.emit_due_announcements(db, now=at) == 1
    assert notification_events.emit_due_announcements(db, now=at + timedelta(minutes=1)) == 0
    [event] = emitted(db, types.ANNOUNCEMENT_DUE, announcement.id)
    assert (event.actor_kind, event.occurred_at) == ("system", at)
    assert event.payload == {
        "announcement_id": announcement.id,
        "kind": "promotion",
        "title": "Beli 2 gratis 1",
        "team_ids": [world.team_a.id],  # a manager addresses the teams they lead
        "effective_at": at.isoformat().replace("+00:00", "Z"),
    }


def test_an_announcement_long_past_is_not_announced_late(db, world):
    at = NOW - notification_events.DUE_LOOKBACK - timedelta(minutes=1)
    announcement, _ = rules.create_announcement(
        db,
        principal=principal(db, world.admin),
        kind=AnnouncementKind.price_change,
        title="Harga baru",
        body="-",
        effective_at=at,
        team_ids=None,
    )
    assert notification_events.emit_due_announcements(db, now=NOW) == 0
    assert emitted(db, types.ANNOUNCEMENT_DUE, announcement.id) == []


# --- target.progress ---------------------------------------------------------------------


def test_target_progress_emits_once_per_target_and_day(db, world):
    target = targets.create_target(
        db,
        principal=principal(db, world.manager_a),
        rep_id=world.rep_a.id,
        period_start=date(2026, 11, 1),
        period_end=date(2026, 11, 30),
        visits_target=20,
        sales_target=Decimal("1000000"),
    )
    day = date(2026, 11, 23)
    change = db.begin_nested()
    assert notification_events.emit_target_progress(db, today=day, now=NOW) == 1
    change.rollback()
    assert emitted(db, types.TARGET_PROGRESS, target.id) == []
    assert notification_events.emit_target_progress(db, today=day, now=NOW) == 1
    assert notification_events.emit_target_progress(db, today=day, now=NOW) == 0
    [event] = emitted(db, types.TARGET_PROGRESS, target.id)
    assert (event.subject_kind, event.actor_kind) == ("target", "system")
    payload = dict(event.payload)
    amounts = [Decimal(payload.pop(k)) for k in ("sales_done", "sales_target")]
    assert amounts == [Decimal(0), target.sales_target]
    assert payload == {
        "target_id": target.id,
        "rep_id": world.rep_a.id,
        "day": "2026-11-23",
        "period_start": "2026-11-01",
        "period_end": "2026-11-30",
        "days_left": 7,
        "visits_done": 0,
        "visits_target": 20,
        "visits_pct": 0.0,
        "sales_pct": 0.0,
    }
    assert notification_events.emit_target_progress(db, today=day + timedelta(days=1)) == 1
    # A deactivated rep hears nothing.
    world.rep_a.is_active = False
    db.flush()
    assert notification_events.emit_target_progress(db, today=day + timedelta(days=2)) == 0
