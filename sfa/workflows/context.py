"""A run's context as plain JSON data: the records an event or a date names, loaded with
the fields sfa/workflows/catalog.py lists (and nothing else), for the dry-run here and
for the runtime.

Plain data is what makes conditions safe: JsonLogic's `var` can only index dicts and
lists, never reach an attribute or call a method of an object.

Money and percentages are JSON numbers: a whole value as an integer (exact at any size),
any other as the nearest double (`float(Decimal)`), which reads back as the same decimal
for up to 15 significant digits, every amount this product stores. A literal in a
definition (5, 15, 5.01) is read the same way, so `{"<=": [{"var":
"order.discount_pct"}, 5]}` holds for 5.00 and not for 5.01: boundaries compare
exactly. Dates and times are ISO-8601 strings (times in UTC).
"""

import enum
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.contracts.models import Contract
from sfa.customers.models import Customer
from sfa.erp.models import Invoice
from sfa.orders.models import Order, OrderLine
from sfa.pipeline.models import Opportunity, Stage
from sfa.users.models import Team, User
from sfa.visits.models import Visit, VisitFlag
from sfa.workflows import catalog


def plain(value: Any) -> Any:
    """A value as JSON data (see the module's docstring for numbers and times)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return plain(value.value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def _columns(row: Any, record: str) -> dict:
    """The catalog's scalar fields of `record` that are columns of `row`."""
    shape = catalog.RECORDS[record]
    return {
        name: plain(getattr(row, name))
        for name, kind in shape.items()
        if isinstance(kind, str) and hasattr(row, name)
    }


def _order(session: Session, order_id: int) -> dict | None:
    order = session.get(Order, order_id)
    if order is None:
        return None
    rows = session.execute(
        select(OrderLine, Product.code, Product.name)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order_id)
        .order_by(OrderLine.line_no)
    ).all()
    lines = [
        {k: plain(getattr(line, k)) for k in catalog.LINE if hasattr(line, k)}
        | {"product_code": code, "product_name": name}
        for line, code, name in rows
    ]
    return _columns(order, "order") | {"lines": lines, "line_count": len(lines)}


def _payment(session: Session, customer_id: int, today: date) -> dict:
    overdue = (~Invoice.paid) & (Invoice.due_date < today)
    open_ = ~Invoice.paid
    row = session.execute(
        select(
            func.count().filter(open_),
            func.coalesce(func.sum(Invoice.amount_to_pay).filter(open_), 0),
            func.count().filter(overdue),
            func.coalesce(func.sum(Invoice.amount_to_pay).filter(overdue), 0),
            func.min(case((overdue, Invoice.due_date))),
        ).where(Invoice.customer_id == customer_id)
    ).one()
    oldest = (today - row[4]).days if row[4] is not None else 0
    return {
        "open_invoices": row[0],
        "open_amount": plain(row[1]),
        "overdue_invoices": row[2],
        "overdue_amount": plain(row[3]),
        "oldest_overdue_days": oldest,
    }


def _customer(session: Session, customer_id: int, today: date) -> dict | None:
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    distributor = (
        session.get(Customer, customer.distributor_id) if customer.distributor_id else None
    )
    shape = catalog.RECORDS["customer"]["distributor"]
    return _columns(customer, "customer") | {
        "distributor": {k: plain(getattr(distributor, k)) for k in shape} if distributor else None,
        "payment": _payment(session, customer_id, today),
    }


def _rep(session: Session, user_id: int) -> dict | None:
    user = session.get(User, user_id)
    if user is None:
        return None
    team = session.get(Team, user.team_id) if user.team_id else None
    manager = session.get(User, team.manager_id) if team and team.manager_id else None
    return _columns(user, "rep") | {
        "team": {"id": team.id, "name": team.name} if team else None,
        "manager": {"id": manager.id, "full_name": manager.full_name} if manager else None,
    }


def _visit(session: Session, visit_id: int) -> dict | None:
    visit = session.get(Visit, visit_id)
    if visit is None:
        return None
    flags = session.scalars(
        select(VisitFlag.code).where(VisitFlag.visit_id == visit_id).order_by(VisitFlag.code)
    ).all()
    return _columns(visit, "visit") | {"flags": list(flags)}


def _contract(session: Session, contract_id: int) -> dict | None:
    contract = session.get(Contract, contract_id)
    return _columns(contract, "contract") if contract else None


def _opportunity(session: Session, opportunity_id: int) -> dict | None:
    deal = session.get(Opportunity, opportunity_id)
    if deal is None:
        return None
    stage = session.get(Stage, deal.stage_id)
    return _columns(deal, "opportunity") | {
        "stage": {"id": stage.id, "name": stage.name, "outcome": plain(stage.outcome)}
        if stage
        else None
    }


# Which id in a record names each related record.
_LINKS = {"customer": "customer_id", "rep": "rep_id"}


def load(session: Session, record: str, record_id: int, today: date) -> dict | None:
    if record == "customer":
        return _customer(session, record_id, today)
    loaders = {
        "order": _order,
        "rep": _rep,
        "visit": _visit,
        "contract": _contract,
        "opportunity": _opportunity,
    }
    return loaders[record](session, record_id)


def records(
    session: Session, names: tuple[str, ...], ids: dict[str, int | None], today: date
) -> dict:
    """The records `names` (catalog order: a record before its relations), each from its
    id in `ids` or from a record loaded before it (an order's customer_id and rep_id; an
    opportunity's owner is its rep)."""
    found: dict[str, Any] = {}
    for name in names:
        record_id = ids.get(name)
        for loaded in found.values():
            if record_id is None and isinstance(loaded, dict):
                record_id = loaded.get(_LINKS.get(name, ""))
                if record_id is None and name == "rep":
                    record_id = loaded.get("owner_id")
        found[name] = load(session, name, record_id, today) if record_id else None
    return found


def for_event(
    session: Session, *, event_type: str, event: dict, payload: dict, today: date
) -> dict:
    """The context of a run started by an event (its row: id, type, occurred_at, actor,
    subject kind and id; its payload)."""
    spec = catalog.EVENT_TYPES[event_type]
    ids = {name: payload.get(f"{name}_id") for name in spec.all_records()}
    subject = event.get("subject") or {}
    if subject.get("kind") in catalog.RECORDS and subject.get("id"):
        ids[subject["kind"]] = subject["id"]
    return {
        "trigger": {"kind": "event", "fired_at": plain(event.get("occurred_at"))},
        "event": plain(event),
        "payload": plain(payload),
        "vars": {},
    } | records(session, spec.all_records(), ids, today)


def for_record(session: Session, *, record: str, record_id: int, fired_at: datetime) -> dict:
    """The context of a run started by a date field (`contract.end_date`) of one record."""
    names = catalog.records_of_date_field(record)
    return {
        "trigger": {"kind": "date_field", "fired_at": plain(fired_at)},
        "vars": {},
    } | records(session, names, {record: record_id}, fired_at.date())
