"""The data a run's conditions read: plain JSON built from the database, in one place.

Documented shape (docs/workflows-runtime.md, "Context"), every key optional:

    event:    {id, type, occurred_at, subject_kind, subject_id, actor_kind, actor_id, payload}
    payload:  the event's payload again, where the catalog (and a trigger's filter) has it
    order:    {id, state, currency, gross_amount, discount_amount, net_amount,
               discount_pct (shown, 3 decimals), risk_pct (exact), approval_tier,
               lines: [{line_no, product_id, quantity, unit_price, discount_pct, net_amount}],
               totals: {line_count, quantity, gross, discount, net}}
    customer: {id, code, name, class, is_distributor, team_id, overdue_invoices,
               distributor: {id, code, name} | null}
    rep:      {id, username, full_name, team: {id, name, manager_id} | null,
               manager: {id, username, full_name} | null}
    visit:    {id, rep_id, customer_id, verification_status, dwell_seconds, trust_score,
               local_day, flags: [code, ...]}
    settings: {discount_auto_max_pct, discount_single_max_pct, discount_escalation_hours}
    trigger:  {kind: event | schedule | date_field, fired_at}
    contract, opportunity: the catalog's fields (sfa/workflows/context.py loads them)
    invoice:  {id, number, order_id, customer_id, state, currency, invoice_date,
               due_date, total_amount, amount_to_pay, paid}

Numbers are JSON numbers (amounts as floats: conditions compare them, they are never
written back), dates ISO strings. The subject is found from the event's subject (or a
context given by hand) and the ids its payload names (order_id, customer_id, visit_id,
rep_id, contract_id, opportunity_id, invoice_id); an order brings its customer and rep, a
visit its customer and rep, a contract its customer, an opportunity its customer and its
owner (the rep), an invoice its order and customer.
"""

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.erp.models import Invoice
from sfa.orders import approvals as order_approvals
from sfa.orders.models import Order, OrderLine
from sfa.users.models import Team, User
from sfa.visits.models import Visit, VisitFlag
from sfa.workflows import context as record_context

_ID_KEYS = {
    "order": "order_id",
    "customer": "customer_id",
    "visit": "visit_id",
    "rep": "rep_id",
    "contract": "contract_id",
    "opportunity": "opportunity_id",
    "invoice": "invoice_id",
}
# Records loaded before the order, customer and rep (they name them): record -> (context
# key the id of a related record comes from -> the record it names).
_LINKING = {
    "invoice": {"order_id": "order", "customer_id": "customer"},
    "contract": {"customer_id": "customer"},
    "opportunity": {"customer_id": "customer", "owner_id": "rep"},
}
# Trigger types that are not events (sfa/workflows/schedules.py, date_triggers.py).
_TRIGGER_KINDS = ("schedule", "date_field")


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def order_data(session: Session, order: Order) -> dict:
    lines = session.scalars(
        select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
    ).all()
    return {
        "id": order.id,
        "state": str(order.state),
        "currency": order.currency,
        "gross_amount": _num(order.gross_amount),
        "discount_amount": _num(order.discount_amount),
        "net_amount": _num(order.net_amount),
        "discount_pct": _num(order.discount_pct),
        "risk_pct": float(order_approvals.risk_pct(order)),
        "approval_tier": str(order.approval_tier) if order.approval_tier else None,
        "lines": [
            {
                "line_no": line.line_no,
                "product_id": line.product_id,
                "quantity": _num(line.quantity),
                "unit_price": _num(line.unit_price),
                "discount_pct": _num(line.discount_pct),
                "net_amount": _num(line.net_amount),
            }
            for line in lines
        ],
        "totals": {
            "line_count": len(lines),
            "quantity": float(sum((line.quantity for line in lines), Decimal(0))),
            "gross": _num(order.gross_amount),
            "discount": _num(order.discount_amount),
            "net": _num(order.net_amount),
        },
    }


def customer_data(session: Session, customer: Customer, today: date) -> dict:
    distributor = (
        session.get(Customer, customer.distributor_id) if customer.distributor_id else None
    )
    overdue = session.scalar(
        select(func.count())
        .select_from(Invoice)
        .where(
            Invoice.customer_id == customer.id,
            Invoice.paid.is_(False),
            Invoice.amount_to_pay > 0,
            Invoice.due_date < today,
        )
    )
    return {
        "id": customer.id,
        "code": customer.code,
        "name": customer.name,
        "class": customer.customer_class,
        "is_distributor": customer.is_distributor,
        "team_id": customer.team_id,
        "overdue_invoices": overdue or 0,
        "distributor": (
            {"id": distributor.id, "code": distributor.code, "name": distributor.name}
            if distributor
            else None
        ),
    }


def rep_data(session: Session, rep: User) -> dict:
    team = session.get(Team, rep.team_id) if rep.team_id else None
    manager = session.get(User, team.manager_id) if team and team.manager_id else None
    return {
        "id": rep.id,
        "username": rep.username,
        "full_name": rep.full_name,
        "role": str(rep.role),
        "team": {"id": team.id, "name": team.name, "manager_id": team.manager_id} if team else None,
        "manager": (
            {"id": manager.id, "username": manager.username, "full_name": manager.full_name}
            if manager
            else None
        ),
    }


def visit_data(session: Session, visit: Visit) -> dict:
    flags = session.scalars(
        select(VisitFlag.code).where(VisitFlag.visit_id == visit.id).order_by(VisitFlag.code)
    ).all()
    return {
        "id": visit.id,
        "rep_id": visit.rep_id,
        "customer_id": visit.customer_id,
        "verification_status": str(visit.verification_status),
        "dwell_seconds": visit.dwell_seconds,
        "trust_score": visit.trust_score,
        "local_day": visit.local_day.isoformat(),
        "flags": list(flags),
    }


def invoice_data(invoice: Invoice) -> dict:
    return {
        name: record_context.plain(getattr(invoice, name))
        for name in (
            "id",
            "number",
            "order_id",
            "customer_id",
            "state",
            "currency",
            "invoice_date",
            "due_date",
            "total_amount",
            "amount_to_pay",
            "paid",
        )
    }


def _linking_record(session: Session, record: str, record_id: int, today: date) -> dict | None:
    if record == "invoice":
        invoice = session.get(Invoice, record_id)
        return invoice_data(invoice) if invoice is not None else None
    return record_context.load(session, record, record_id, today)


def trigger_data(event: dict) -> dict:
    """`trigger`: what started the run (an event, a schedule, a date field) and when."""
    kind = event.get("type")
    return {
        "kind": kind if kind in _TRIGGER_KINDS else "event",
        "fired_at": event.get("occurred_at"),
    }


def _subject_ids(subject_kind: str | None, subject_id: int | None, payload: dict) -> dict:
    ids = {kind: payload.get(key) for kind, key in _ID_KEYS.items() if payload.get(key)}
    if subject_kind in _ID_KEYS and subject_id is not None:
        ids[subject_kind] = subject_id
    if subject_kind == "user" and subject_id is not None:
        ids.setdefault("rep", subject_id)
    return ids


def build(
    session: Session,
    *,
    subject_kind: str | None,
    subject_id: int | None,
    payload: dict | None = None,
    event: dict | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The context of a run about (subject_kind, subject_id)."""
    settings = company_service.get_company_settings(session)
    today = (now or datetime.now(UTC)).astimezone(settings.tz).date()
    ids = _subject_ids(subject_kind, subject_id, payload or {})
    context: dict[str, Any] = {
        "settings": {
            "discount_auto_max_pct": settings.discount_auto_max_pct,
            "discount_single_max_pct": settings.discount_single_max_pct,
            "discount_escalation_hours": settings.discount_escalation_hours,
        }
    }
    if event is not None:
        context["event"] = event
        context["trigger"] = trigger_data(event)
        # The catalog's `payload` (what a trigger's filter names: "payload.title").
        context["payload"] = event.get("payload") or payload or {}
    for record, links in _LINKING.items():
        if record in ids and (data := _linking_record(session, record, ids[record], today)):
            context[record] = data
            for key, linked in links.items():
                if data.get(key) is not None:
                    ids.setdefault(linked, data[key])
    if "order" in ids and (order := session.get(Order, ids["order"])) is not None:
        context["order"] = order_data(session, order)
        ids.setdefault("customer", order.customer_id)
        ids.setdefault("rep", order.rep_id)
    if "visit" in ids and (visit := session.get(Visit, ids["visit"])) is not None:
        context["visit"] = visit_data(session, visit)
        ids.setdefault("customer", visit.customer_id)
        ids.setdefault("rep", visit.rep_id)
    if "customer" in ids and (customer := session.get(Customer, ids["customer"])) is not None:
        context["customer"] = customer_data(session, customer, today)
    if "rep" in ids and (rep := session.get(User, ids["rep"])) is not None:
        context["rep"] = rep_data(session, rep)
    return context


def team_of(context: dict) -> int | None:
    """The team a run belongs to, for who may see it: its rep's, else its customer's."""
    rep_team = (context.get("rep") or {}).get("team") or {}
    return rep_team.get("id") or (context.get("customer") or {}).get("team_id")
