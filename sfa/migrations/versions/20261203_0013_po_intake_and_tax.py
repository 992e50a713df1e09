"""purchase-order intake (documents, aliases, unit conversions, layout hints) and tax
identities for the Coretax e-Faktur export

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None

_STATES = "('received', 'processing', 'needs_review', 'ready', 'parked', 'confirmed')"


def _stamp(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False)


def upgrade() -> None:
    # Buyer matching of e-mailed POs looks customers up by name similarity (trigrams)
    # among any number of customers (sfa/purchase_orders/repository.buyer_candidates).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_customers_name_trgm ON customers USING gin (lower(name) gin_trgm_ops)"
    )
    op.create_table(
        "po_intakes",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(10), nullable=False),
        sa.Column("sender", sa.String(254)),
        sa.Column("uploaded_by", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("reason_code", sa.String(40)),
        sa.Column("reason", sa.String(500)),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("pages", postgresql.JSONB()),
        sa.Column("page_count", sa.Integer()),
        sa.Column("read_seconds", sa.Float()),
        sa.Column("extraction", postgresql.JSONB()),
        sa.Column("draft", postgresql.JSONB()),
        sa.Column(
            "customer_id", sa.BigInteger(), sa.ForeignKey("customers.id", ondelete="SET NULL")
        ),
        sa.Column("rep_id", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.id", ondelete="SET NULL")),
        sa.Column("confirmed_by", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
        sa.Column("processed_at", sa.DateTime(timezone=True)),
        _stamp("created_at"),
        _stamp("updated_at"),
        sa.UniqueConstraint("sha256"),
        sa.CheckConstraint(f"state IN {_STATES}", name="state_known"),
        sa.CheckConstraint("source IN ('upload', 'email')", name="source_known"),
    )
    op.create_index("ix_po_intakes_customer_id", "po_intakes", ["customer_id"])
    op.create_index("ix_po_intakes_state_created_at", "po_intakes", ["state", "created_at"])
    op.create_table(
        "po_intake_files",
        sa.Column(
            "intake_id",
            sa.BigInteger(),
            sa.ForeignKey("po_intakes.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "po_product_aliases",
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column(
            "product_id",
            sa.BigInteger(),
            sa.ForeignKey("products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("created_by", sa.BigInteger(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        _stamp("created_at"),
        sa.PrimaryKeyConstraint("customer_id", "key"),
    )
    op.create_table(
        "po_unit_conversions",
        sa.Column(
            "product_id",
            sa.BigInteger(),
            sa.ForeignKey("products.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("unit", sa.String(20), nullable=False),
        sa.Column("factor", sa.Numeric(12, 4), nullable=False),
        sa.PrimaryKeyConstraint("product_id", "unit"),
        sa.CheckConstraint("factor > 0", name="factor_positive"),
    )
    op.create_table(
        "po_layout_hints",
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("hints", postgresql.JSONB(), server_default="{}", nullable=False),
        _stamp("updated_at"),
    )
    op.create_table(
        "customer_tax_identities",
        sa.Column(
            "customer_id",
            sa.BigInteger(),
            sa.ForeignKey("customers.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("id_type", sa.String(4), nullable=False),
        sa.Column("number", sa.String(16), nullable=False),
        sa.Column("tku", sa.String(6), nullable=False),
        sa.Column("tax_name", sa.String(200), nullable=False),
        sa.Column("tax_address", sa.String(500), nullable=False),
        sa.Column("email", sa.String(254)),
        _stamp("updated_at"),
        sa.CheckConstraint("id_type IN ('npwp', 'nik')", name="id_type_known"),
        sa.CheckConstraint("number ~ '^[0-9]{16}$'", name="number_16_digits"),
        sa.CheckConstraint("tku ~ '^[0-9]{6}$'", name="tku_6_digits"),
    )
    # A PO's NPWP finds its buyer first.
    op.create_index("ix_customer_tax_identities_number", "customer_tax_identities", ["number"])
    op.create_table(
        "product_tax_codes",
        sa.Column(
            "product_id",
            sa.BigInteger(),
            sa.ForeignKey("products.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("opt", sa.String(1), nullable=False),
        sa.Column("goods_code", sa.String(6), nullable=False),
        sa.Column("unit_code", sa.String(10), nullable=False),
        _stamp("updated_at"),
        sa.CheckConstraint("goods_code ~ '^[0-9]{6}$'", name="goods_code_6_digits"),
        sa.CheckConstraint("unit_code ~ '^UM\\.[0-9]{4}$'", name="unit_code_format"),
        sa.CheckConstraint("opt IN ('A', 'B')", name="opt_known"),
    )


def downgrade() -> None:
    for table in (
        "product_tax_codes",
        "customer_tax_identities",
        "po_layout_hints",
        "po_unit_conversions",
        "po_product_aliases",
        "po_intake_files",
        "po_intakes",
    ):
        op.drop_table(table)
    op.execute("DROP INDEX IF EXISTS ix_customers_name_trgm")
    # pg_trgm stays: other features may use it, and dropping it needs its owner.
