"""The date fields a `date_field` trigger may count from, in one place: record kind →
table (model) → date columns. The authoring catalog lists these names (catalog.DATE_FIELDS)
and the date-trigger job (sfa/workflows/date_triggers.py) queries exactly these columns.

The job reads a range of one column per workflow (the rows whose fire day is today or a
few days back), so each column has a btree index: the ones the tables lacked are declared
here (migration 0021 creates them) rather than in the owning domains' models, so that the
index lives next to the query that needs it.
"""

from dataclasses import dataclass, field

from sqlalchemy import Index

from sfa.contracts.models import Contract
from sfa.erp.models import Invoice
from sfa.orders.models import Order
from sfa.pipeline.models import Opportunity
from sfa.visits.models import Visit


@dataclass(frozen=True)
class DateSource:
    model: type
    columns: tuple[str, ...]
    # Payload key -> column: the related records the run's context loads with the record
    # (runtime_context finds them by these ids; an order or visit brings its own).
    related: dict[str, str] = field(default_factory=dict)


DATE_SOURCES: dict[str, DateSource] = {
    "contract": DateSource(Contract, ("start_date", "end_date"), {"customer_id": "customer_id"}),
    "opportunity": DateSource(
        Opportunity, ("expected_close",), {"customer_id": "customer_id", "rep_id": "owner_id"}
    ),
    "order": DateSource(Order, ("delivery_date",)),
    "visit": DateSource(Visit, ("local_day",)),
    "invoice": DateSource(
        Invoice,
        ("due_date", "invoice_date"),
        {"customer_id": "customer_id", "order_id": "order_id"},
    ),
}

# Indexes the job's range queries need that the tables did not have (contracts.end_date
# and invoices.due_date had theirs; visits' (rep_id, local_day) cannot serve a range on
# local_day alone).
INDEXES = (
    Index("ix_contracts_start_date", Contract.start_date),
    Index("ix_opportunities_expected_close", Opportunity.expected_close),
    Index("ix_orders_delivery_date", Order.delivery_date),
    Index("ix_visits_local_day", Visit.local_day),
    Index("ix_invoices_invoice_date", Invoice.invoice_date),
)


def column(date_field: str):
    """The model and column of "record.field", or None when it is not a date source."""
    record, _, name = date_field.partition(".")
    source = DATE_SOURCES.get(record)
    if source is None or name not in source.columns:
        return None
    return source.model, getattr(source.model, name)
