"""Queries on what the ERP sent us (invoices, payments)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.erp.models import Invoice


def outstanding_invoices(session: Session, customer_id: int) -> list[Invoice]:
    """The customer's unpaid invoices from the ERP, oldest due first."""
    return list(
        session.scalars(
            select(Invoice)
            .where(Invoice.customer_id == customer_id, Invoice.paid.is_(False))
            .order_by(Invoice.due_date.nulls_last(), Invoice.id)
        )
    )
