"""The notification rules. Each enqueues outbox rows in the caller's transaction.

1. order of a secondary customer approved → distributor (email), rep (in-app), with the
   follow-ups of a cancelled or corrected order: `notify_order_placed`,
   `notify_order_cancelled`, `notify_order_corrected` (in `order_rules.py`);
2. invoice past due → SMS to the customer, then every N days up to M times, stopping
   once paid: `schedule_overdue_invoice_reminders` (daily job) + a paid check at send time;
3. delivery date confirmed → SMS to the customer: `confirm_delivery_date` emits
   `delivery.confirmed`, the built-in workflow delivery-confirmed sends it
   (sfa/workflows/defaults/delivery_confirmed.json);
4. price change / promotion → reps at its effective time: `create_announcement`; the
   job announcements-due emits `announcement.due` (sfa/notifications/events.py), the
   built-in workflow announcement tells the reps;
5. target progress → reps, daily: the job target-progress emits `target.progress`, the
   built-in workflow target-progress sends the note.
"""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.erp.models import Invoice
from sfa.errors import Forbidden, InvalidInput, NotFound
from sfa.events.service import Actor
from sfa.notifications import outbox, repository, rule_settings
from sfa.notifications.models import Announcement, AnnouncementKind, Channel
from sfa.notifications.order_rules import (  # noqa: F401 - the rules, in one place
    money_text,
    notify_order_cancelled,
    notify_order_corrected,
    notify_order_placed,
    order_ref,
)
from sfa.notifications.rule_settings import (
    INVOICE_OVERDUE,
)
from sfa.notifications.templates import pick_language
from sfa.orders import events as order_events
from sfa.orders.models import Order


def overdue_reminder_index(
    *, due_date: date, today: date, every_days: int, max_reminders: int
) -> int | None:
    """Which reminder (0-based) is due by `today`: the first on the day after the due
    date, then every `every_days` days; None before the first or after the last. A missed
    day (scheduler down) sends the latest reminder reached, never a burst of old ones."""
    days_over = (today - due_date).days
    if days_over < 1:
        return None
    index = (days_over - 1) // every_days
    return index if index < max_reminders else None


def schedule_overdue_invoice_reminders(
    session: Session, *, today: date, now: datetime | None = None
) -> int:
    """Rule 2, a daily job: enqueue the reminder each unpaid overdue invoice has reached.

    Dedupe key `invoice_overdue:<invoice>:<k>`: running twice a day enqueues once. The
    sender re-checks `paid` before sending and cancels the row of a paid invoice."""
    enabled, params = rule_settings.get_rule(session, INVOICE_OVERDUE)
    if not enabled:
        return 0
    every, most = int(params["every_days"]), int(params["max_reminders"])
    settings = company_service.get_company_settings(session)
    now = now or datetime.now(UTC)
    rows = session.execute(
        select(Invoice, Customer)
        .join(Customer, Customer.id == Invoice.customer_id)
        .where(
            Invoice.paid.is_(False),
            Invoice.amount_to_pay > 0,
            Invoice.due_date < today,
            Customer.phone.is_not(None),
        )
        .order_by(Invoice.id)
    ).all()
    count = 0
    for invoice, customer in rows:
        due_date = invoice.due_date
        assert due_date is not None  # the query keeps invoices with a due date only
        index = overdue_reminder_index(
            due_date=due_date, today=today, every_days=every, max_reminders=most
        )
        if index is None:
            continue
        count += (
            outbox.enqueue(
                session,
                settings=settings,
                rule=INVOICE_OVERDUE,
                channel=Channel.sms,
                template="invoice_overdue",
                dedupe_key=f"{INVOICE_OVERDUE}:{invoice.id}:{index}",
                language=pick_language(customer.language, settings.language),
                payload={
                    "invoice_id": invoice.id,
                    "reminder": index + 1,
                    "invoice_number": invoice.number or invoice.external_id,
                    "customer_name": customer.name,
                    "currency": invoice.currency or "",
                    "amount": money_text(invoice.amount_to_pay),
                    "due_date": due_date.isoformat(),
                },
                due_at=now,
                recipient_customer_id=customer.id,
                address=customer.phone,
                entity="invoice",
                entity_id=invoice.id,
            )
            is not None
        )
    return count


def confirm_delivery_date(
    session: Session,
    *,
    principal: Principal,
    order_id: int,
    delivery_date: date,
    now: datetime | None = None,
) -> Order:
    """Rule 3: the ERP (API key with 'erp:write') or an admin confirms a delivery date;
    `delivery.confirmed` (once per order and date) makes the built-in workflow
    "delivery-confirmed" text the customer."""
    if not principal.is_admin:
        principal.require("erp:write")
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"order {order_id} does not exist")
    old = order.delivery_date
    order.delivery_date = delivery_date
    session.flush()
    if old != delivery_date:
        audit_service.record(
            session,
            actor=principal.actor,
            entity="order",
            entity_id=order.id,
            action="delivery_date",
            old={"delivery_date": old.isoformat() if old else None},
            new={"delivery_date": delivery_date.isoformat()},
        )
    order_events.delivery_confirmed(
        session, order, actor=Actor.of(principal), previous_date=old, occurred_at=now
    )
    return order


def create_announcement(
    session: Session,
    *,
    principal: Principal,
    kind: AnnouncementKind,
    title: str,
    body: str,
    effective_at: datetime,
    team_ids: list[int] | None,
) -> tuple[Announcement, int]:
    """Rule 4: a price change or promotion, and how many active reps it addresses. At
    `effective_at` the job announcements-due emits `announcement.due`, and the built-in
    workflow "announcement" tells those reps (in-app, and push held by quiet hours)."""
    principal.require("announcements:write")
    if effective_at.tzinfo is None:
        raise InvalidInput("effective_at needs a UTC offset, e.g. 2026-12-01T08:00:00+07:00")
    if team_ids is not None:
        hidden = sorted(t for t in team_ids if not principal.can_see_team(t))
        if hidden:
            raise Forbidden(
                f"you cannot address team(s) {', '.join(map(str, hidden))}",
                hint="managers address only the teams they lead",
            )
    elif principal.team_ids is not None:
        team_ids = sorted(principal.team_ids)
    announcement = Announcement(
        kind=kind,
        title=title,
        body=body,
        effective_at=effective_at,
        team_ids=team_ids,
        created_by=principal.user_id,
    )
    session.add(announcement)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="announcement",
        entity_id=announcement.id,
        action="create",
        new={
            "kind": kind.value,
            "title": title,
            "team_ids": team_ids,
            "effective_at": effective_at.isoformat(),
        },
    )
    # The built-in workflow "announcement" tells them when announcement.due comes.
    return announcement, len(repository.active_reps(session, team_ids=team_ids))
