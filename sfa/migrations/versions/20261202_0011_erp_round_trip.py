"""ERP round trip: product units, prices at the ERP's precision, net prices, cancel action

Revision ID: 0011
Revises: 0015
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0015"
branch_labels = None
depends_on = None

_PRICE = sa.Numeric(18, 6)
_MONEY = sa.Numeric(18, 2)
# (table, column) of unit prices: cut to cents before, the ERP's precision now.
_PRICES = (("products", "list_price"), ("customer_prices", "price"), ("order_lines", "unit_price"))


def upgrade() -> None:
    op.add_column("products", sa.Column("unit_digits", sa.SmallInteger(), nullable=True))
    op.add_column("products", sa.Column("unit_rounding", sa.Numeric(18, 6), nullable=True))
    for table, column in _PRICES:
        op.alter_column(table, column, type_=_PRICE, existing_type=_MONEY)
    op.add_column("order_lines", sa.Column("net_price", _PRICE, nullable=True))
    # Orders taken before: the net price the sync computed for them (4 decimals). The sync
    # rounded half to even, round() rounds half away from zero: they differ only on a tie
    # at the fifth decimal, by 0.0001.
    op.execute(
        "UPDATE order_lines SET net_price = round(unit_price * (100 - discount_pct) / 100, 4)"
    )
    op.alter_column("order_lines", "net_price", nullable=False)
    action = sa.Enum("push", "cancel", name="outbox_action")
    action.create(op.get_bind())
    op.add_column(
        "erp_outbox",
        sa.Column("action", action, server_default="push", nullable=False),
    )


def downgrade() -> None:
    op.drop_column("erp_outbox", "action")
    sa.Enum(name="outbox_action").drop(op.get_bind())
    op.drop_column("order_lines", "net_price")
    for table, column in _PRICES:
        op.alter_column(table, column, type_=_MONEY, existing_type=_PRICE)
    op.drop_column("products", "unit_rounding")
    op.drop_column("products", "unit_digits")
