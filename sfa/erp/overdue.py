"""The daily job that finds unpaid invoices past their due date and emits
`invoice.overdue`, once per invoice and due date (a due date the ERP moves makes the
invoice overdue afresh; a job run twice, or on the next day, writes nothing new)."""

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.erp.models import Invoice
from sfa.events import service as events
from sfa.events import types


def overdue(session: Session, *, today: date) -> list[Invoice]:
    """Unpaid invoices with something to pay, of a known customer, due before `today`."""
    return list(
        session.scalars(
            select(Invoice)
            .where(
                Invoice.paid.is_(False),
                Invoice.amount_to_pay > 0,
                Invoice.due_date < today,
                Invoice.customer_id.is_not(None),
            )
            .order_by(Invoice.id)
        )
    )


def emit_overdue_invoices(session: Session, *, today: date, now: datetime | None = None) -> int:
    """Emit `invoice.overdue` for every invoice overdue by `today`; how many were new."""
    now = now or datetime.now(UTC)
    count = 0
    for invoice in overdue(session, today=today):
        due, customer_id = invoice.due_date, invoice.customer_id
        assert due is not None and customer_id is not None  # the query keeps those
        count += events.emit(
            session,
            types.INVOICE_OVERDUE,
            subject_kind="invoice",
            subject_id=invoice.id,
            actor=events.SYSTEM,
            payload={
                "invoice_id": invoice.id,
                "customer_id": customer_id,
                "number": invoice.number,
                "currency": invoice.currency,
                "amount_to_pay": invoice.amount_to_pay,
                "due_date": due,
                "days_overdue": (today - due).days,
            },
            event_id=f"{invoice.id}:{due.isoformat()}",
            occurred_at=now,
        )
    return count
