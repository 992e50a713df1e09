"""The data a run's conditions read: plain JSON built from the database, in one place.

Documented shape (docs/workflows.md, "Context"), every key optional:

    event:    {id, type, occurred_at, subject_kind, subject_id, actor_kind, actor_id, payload}
    payload:  the event's payload again, where the catalog (and a trigger's filter) has it
    order:    {id, state, currency, gross_amount, discount_amount, net_amount,
               discount_pct (shown, 3 decimals), risk_pct (exact), approval_tier, note,
               delivery_date, submitted_at,
               lines: [{line_no, product_id, quantity, unit_price, discount_pct, net_amount}],
               totals: {line_count, quantity, gross, discount, net}}
    customer: {id, code, name, class, is_distributor, team_id, overdue_invoices,
               distributor: {id, code, name} | null}
    rep:      {id, username, full_name, role, team: {id, name, manager_id} | null,
               manager: {id, username, full_name} | null}
    visit:    {id, rep_id, customer_id, verification_status, dwell_seconds, trust_score,
               local_day, flags: [code, ...]}
    invoice:  {id, number, order_id, customer_id, state, currency, invoice_date, due_date,
               total_amount, amount_to_pay, paid}
    contract: {id, customer_id, title, acv, currency, start_date, end_date, auto_renew,
               notice_days, status, upsell_score, enterprise}
    opportunity: {id, kind, title, amount, currency, expected_close, probability, score,
               source, pipeline_id, stage: {id, name, outcome} | null, owner_id, team_id,
               customer_id}
    trigger:  {kind: event | schedule | date_field, fired_at}
    settings: {discount_auto_max_pct, discount_single_max_pct, discount_escalation_hours,
               <rule>_enabled and <rule>_<parameter> of each notification rule}

sfa/workflows/catalog.py lists the same shape for the definitions' validation (a test
checks every key built here is listed there).

Numbers are JSON numbers (amounts as floats: conditions compare them, they are never
written back), dates ISO strings. The subject is found from the event's subject (or a
context given by hand) and the ids its payload names (order_id, customer_id, visit_id,
rep_id, invoice_id, contract_id, opportunity_id); an order brings its customer and rep, a
visit its customer and rep, an invoice its order and customer, a contract its customer,
an opportunity its customer and its owner as the rep.
"""

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.contracts.models import Contract
from sfa.customers.models import Customer
from sfa.erp.models import Invoice
from sfa.notifications import rule_settings
from sfa.orders import decisions as order_decisions
from sfa.orders.models import Order, OrderLine
from sfa.pipeline.models import Opportunity, Stage
from sfa.users.models import Team, User
from sfa.visits.models import Visit, VisitFlag
from sfa.workflows import batch as run_batch
from sfa.workflows import catalog

_ID_KEYS = {
    "order": "order_id",
    "customer": "customer_id",
    "visit": "visit_id",
    "rep": "rep_id",
    "invoice": "invoice_id",
    "contract": "contract_id",
    "opportunity": "opportunity_id",
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
        "risk_pct": float(order_decisions.risk_pct(order)),
        "approval_tier": str(order.approval_tier) if order.approval_tier else None,
        "note": order.note,
        "delivery_date": order.delivery_date.isoformat() if order.delivery_date else None,
        "submitted_at": order.submitted_at.astimezone(UTC).isoformat()
        if order.submitted_at
        else None,
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
        "id": invoice.id,
        "number": invoice.number,
        "order_id": invoice.order_id,
        "customer_id": invoice.customer_id,
        "state": invoice.state,
        "currency": invoice.currency,
        "invoice_date": invoice.invoice_date.isoformat() if invoice.invoice_date else None,
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "total_amount": _num(invoice.total_amount),
        "amount_to_pay": _num(invoice.amount_to_pay),
        "paid": invoice.paid,
    }


def notification_settings(session: Session) -> dict:
    """The notification rules' switches and parameters (sfa/notifications/rule_settings.py)
    as flat settings: `<rule>_enabled`, `<rule>_<parameter>` (invoice_overdue_every_days),
    read by the built-in reminder workflows."""
    flat: dict[str, Any] = {}
    for rule, (enabled, params) in rule_settings.all_rules(session).items():
        flat[f"{rule}_enabled"] = enabled
        flat |= {f"{rule}_{name}": value for name, value in params.items()}
    return flat


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value) if isinstance(value, enum.Enum) else value


def _fields(row: Any, names: tuple[str, ...]) -> dict:
    return {name: _plain(getattr(row, name)) for name in names}


_CONTRACT = (
    "id",
    "customer_id",
    "title",
    "acv",
    "currency",
    "start_date",
    "end_date",
    "auto_renew",
    "notice_days",
    "status",
    "upsell_score",
    "enterprise",
)
_OPPORTUNITY = (
    "id",
    "kind",
    "title",
    "amount",
    "currency",
    "expected_close",
    "probability",
    "score",
    "source",
    "pipeline_id",
    "owner_id",
    "team_id",
    "customer_id",
)


def opportunity_data(session: Session, deal: Opportunity) -> dict:
    stage = session.get(Stage, deal.stage_id)
    stage_data = (
        {"id": stage.id, "name": stage.name, "outcome": _plain(stage.outcome)} if stage else None
    )
    return _fields(deal, _OPPORTUNITY) | {"stage": stage_data}


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


def settings_data(settings: CompanySettings) -> dict:
    """The company settings a context carries (catalog.SETTINGS)."""
    values = {name: getattr(settings, name) for name in catalog.SETTINGS}
    # Plain JSON: lists of enums (the reminder channels) as their strings.
    return {k: [_plain(i) for i in v] if isinstance(v, list) else v for k, v in values.items()}


def all_settings(session: Session, settings: CompanySettings | None = None) -> dict:
    """The context's `settings`: the company's and the notification rules' (flat)."""
    settings = settings or company_service.get_company_settings(session)
    return settings_data(settings) | notification_settings(session)


def company_settings(session: Session) -> CompanySettings:
    """The company's settings, once per batch of runs (a copy is made per read)."""
    current = run_batch.current(session)
    if current is None:
        return company_service.get_company_settings(session)
    if current.company is None:
        current.company = company_service.get_company_settings(session)
    return current.company


def batch_settings(session: Session, settings: CompanySettings | None = None) -> dict:
    """`all_settings`, read once per batch of runs (sfa/workflows/batch.py) and then
    shared by every run's context in it; read each time outside a batch."""
    current = run_batch.current(session)
    if current is None:
        return all_settings(session, settings)
    if current.settings is None:
        current.settings = all_settings(session, settings)
    return current.settings


# The keys `base` fills: what a context has without reading any record.
BASE_KEYS = frozenset({"settings", "event", "trigger", "payload"})


def base(settings: dict, *, event: dict | None, payload: dict | None = None) -> dict[str, Any]:
    """The part of a context that reads no record: settings, and the event (as `event`,
    `trigger` and the catalog's `payload`, which a trigger's filter names: "payload.title")."""
    context: dict[str, Any] = {"settings": settings}
    if event is not None:
        context["event"] = event
        context["trigger"] = trigger_data(event)
        context["payload"] = event.get("payload") or payload or {}
    return context


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
    settings = company_settings(session)
    today = (now or datetime.now(UTC)).astimezone(settings.tz).date()
    ids = _subject_ids(subject_kind, subject_id, payload or {})
    context = base(batch_settings(session, settings), event=event, payload=payload)
    if "invoice" in ids and (invoice := session.get(Invoice, ids["invoice"])) is not None:
        context["invoice"] = invoice_data(invoice)
        if invoice.order_id is not None:
            ids.setdefault("order", invoice.order_id)
        if invoice.customer_id is not None:
            ids.setdefault("customer", invoice.customer_id)
    if "order" in ids and (order := session.get(Order, ids["order"])) is not None:
        context["order"] = order_data(session, order)
        ids.setdefault("customer", order.customer_id)
        ids.setdefault("rep", order.rep_id)
    if "visit" in ids and (visit := session.get(Visit, ids["visit"])) is not None:
        context["visit"] = visit_data(session, visit)
        ids.setdefault("customer", visit.customer_id)
        ids.setdefault("rep", visit.rep_id)
    if "contract" in ids and (contract := session.get(Contract, ids["contract"])) is not None:
        context["contract"] = _fields(contract, _CONTRACT)
        ids.setdefault("customer", contract.customer_id)
    if "opportunity" in ids and (deal := session.get(Opportunity, ids["opportunity"])) is not None:
        context["opportunity"] = opportunity_data(session, deal)
        if deal.customer_id is not None:
            ids.setdefault("customer", deal.customer_id)
        if deal.owner_id is not None:
            ids.setdefault("rep", deal.owner_id)
    if "customer" in ids and (customer := session.get(Customer, ids["customer"])) is not None:
        context["customer"] = customer_data(session, customer, today)
    if "rep" in ids and (rep := session.get(User, ids["rep"])) is not None:
        context["rep"] = rep_data(session, rep)
    return context


def team_of(context: dict) -> int | None:
    """The team a run belongs to, for who may see it: its rep's, else its customer's."""
    rep_team = (context.get("rep") or {}).get("team") or {}
    return rep_team.get("id") or (context.get("customer") or {}).get("team_id")
