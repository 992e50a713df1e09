"""indexes for the workflow date-field triggers

The date-trigger job (sfa/workflows/date_triggers.py) reads, per workflow, the rows whose
date column falls in a few days' range: each column of the whitelist
(sfa/workflows/date_sources.py) gets a btree index it did not have.

Revision ID: 0021
Revises: 0019
Create Date: 2026-12-08
"""

from alembic import op

revision = "0021"
down_revision = "0019"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_contracts_start_date", "contracts", "start_date"),
    ("ix_opportunities_expected_close", "opportunities", "expected_close"),
    ("ix_orders_delivery_date", "orders", "delivery_date"),
    ("ix_visits_local_day", "visits", "local_day"),
    ("ix_invoices_invoice_date", "invoices", "invoice_date"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column], unique=False)


def downgrade() -> None:
    for name, table, _column in reversed(_INDEXES):
        op.drop_index(name, table_name=table)
