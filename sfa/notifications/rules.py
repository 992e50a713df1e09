"""The notification rules. Each is a built-in workflow (sfa/workflows/defaults/*.json)
that consumes the domain events the orders, this module's actions and the scheduled jobs
emit; no domain calls a rule directly.

1. order of a secondary customer approved → distributor (email), rep (in-app):
   `order.approved` starts the built-in workflow order-placed; its follow-ups are
   order-cancelled (`order.cancelled`: the notices not yet sent withdrawn, a cancellation
   to a distributor who may have been told, the rep told when the office cancelled it)
   and order-corrected (`order.corrected`: the rep told of the office's correction);
2. invoice past due → SMS to the customer, then every N days up to M times, stopping
   once paid: the daily job overdue-invoice-reminders emits `invoice.overdue`
   (sfa/erp/overdue.py), the built-in workflow invoice-overdue sends and repeats them;
   the sender cancels a reminder whose invoice was paid before it went out;
3. delivery date confirmed → SMS to the customer: `confirm_delivery_date` emits
   `delivery.confirmed`, the built-in workflow delivery-confirmed sends it
   (sfa/workflows/defaults/delivery_confirmed.json);
4. price change / promotion → reps at its effective time: `create_announcement`; the
   job announcements-due emits `announcement.due` (sfa/notifications/events.py), the
   built-in workflow announcement tells the reps;
5. target progress → reps, daily: the job target-progress emits `target.progress`, the
   built-in workflow target-progress sends the note.
"""

from datetime import date, datetime

from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Forbidden, InvalidInput, NotFound
from sfa.events.service import Actor
from sfa.notifications import repository
from sfa.notifications.models import Announcement, AnnouncementKind
from sfa.orders import events as order_events
from sfa.orders.models import Order


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
