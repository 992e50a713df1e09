"""The fields a `notify` step fills its template from before its own `payload`: the
words and numbers of the records the run is about, written as the messages write them
(amounts 1,500,000.00, dates in the company's way), which JsonLogic cannot format.

Read from the database by the ids of the run's context, so that a message sent after a
wait says what is true then (a moved delivery date, the amount still to pay)."""

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.company.settings import CompanySettings
from sfa.contracts.models import Contract
from sfa.erp.models import Invoice
from sfa.money import money_text
from sfa.notifications.models import Announcement
from sfa.notifications.templates import local_date
from sfa.orders.models import Order
from sfa.pipeline.models import Opportunity
from sfa.workflows.actions.base import lookup

_TARGET_AMOUNTS = ("sales_done", "sales_target")
_TARGET_FIELDS = (
    "target_id",
    "period_start",
    "period_end",
    "visits_done",
    "visits_target",
    "visits_pct",
    "sales_pct",
    "days_left",
)


def order_ref(order: Order) -> str:
    """How the messages name an order: its ERP number once it has one."""
    return order.erp_number or f"#{order.id}"


def _people(data: dict) -> dict:
    customer, rep = data.get("customer") or {}, data.get("rep") or {}
    return {
        "customer_name": customer.get("name", ""),
        "distributor_name": (customer.get("distributor") or {}).get("name", ""),
        "rep_name": rep.get("full_name", ""),
    }


def _order(session: Session, settings: CompanySettings, order_id) -> dict:
    order = session.get(Order, order_id) if order_id else None
    if order is None:
        return {"order_ref": "", "currency": "", "net_amount": ""}
    return {
        "order_id": order.id,
        "order_ref": order_ref(order),
        "currency": order.currency,
        "net_amount": money_text(order.net_amount),
        "delivery_date": (
            local_date(settings.language, order.delivery_date) if order.delivery_date else ""
        ),
    }


def _invoice(session: Session, invoice_id) -> dict:
    invoice = session.get(Invoice, invoice_id) if invoice_id else None
    if invoice is None:
        return {}
    due: date | None = invoice.due_date
    return {
        "invoice_id": invoice.id,
        "invoice_number": invoice.number or invoice.external_id,
        "currency": invoice.currency or "",
        "amount": money_text(invoice.amount_to_pay),
        "due_date": due.isoformat() if due else "",
    }


def _announcement(session: Session, announcement_id) -> dict:
    announcement = session.get(Announcement, announcement_id) if announcement_id else None
    if announcement is None:
        return {}
    return {
        "announcement_id": announcement.id,
        "title": announcement.title,
        "body": announcement.body,
    }


def _target(payload: dict) -> dict:
    """A target's progress as its `target.progress` event measured it that day."""
    if "target_id" not in payload:
        return {}
    fields = {name: payload[name] for name in _TARGET_FIELDS if name in payload}
    for name in _TARGET_AMOUNTS:
        if name in payload:
            fields[name] = money_text(Decimal(str(payload[name])))
    return fields


def _contract(session: Session, settings: CompanySettings, contract_id) -> dict:
    contract = session.get(Contract, contract_id) if contract_id else None
    if contract is None:
        return {}
    deadline = contract.end_date - timedelta(days=contract.notice_days)
    return {
        "contract_id": contract.id,
        "contract_title": contract.title,
        "end_date": local_date(settings.language, contract.end_date),
        "notice_deadline": local_date(settings.language, deadline),
        "acv": money_text(contract.acv),
        "currency": contract.currency,
    }


def _opportunity(session: Session, opportunity_id) -> dict:
    deal = session.get(Opportunity, opportunity_id) if opportunity_id else None
    if deal is None:
        return {}
    return {
        "opportunity_id": deal.id,
        "opportunity_title": deal.title,
        "score": deal.score if deal.score is not None else "-",
    }


def fields(session: Session, settings: CompanySettings, data: dict) -> dict:
    """Every field the run's records give, for whichever template the step names."""
    payload = lookup(data, "event.payload") or {}
    return (
        _people(data)
        | _order(session, settings, lookup(data, "order.id"))
        | _invoice(session, lookup(data, "invoice.id"))
        | _announcement(session, payload.get("announcement_id"))
        | _target(payload)
        | _contract(session, settings, lookup(data, "contract.id"))
        | _opportunity(session, lookup(data, "opportunity.id"))
    )
