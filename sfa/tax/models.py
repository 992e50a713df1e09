"""Tax identities for the Coretax e-Faktur export: who the buyer is to the tax office,
and how the tax office names our goods and units."""

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class CustomerTaxIdentity(Base):
    __tablename__ = "customer_tax_identities"
    __table_args__ = (
        CheckConstraint("id_type IN ('npwp', 'nik')", name="id_type_known"),
        CheckConstraint("number ~ '^[0-9]{16}$'", name="number_16_digits"),
        CheckConstraint("tku ~ '^[0-9]{6}$'", name="tku_6_digits"),
        Index("ix_customer_tax_identities_number", "number"),
    )

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    id_type: Mapped[str] = mapped_column(String(4))  # npwp (a business) or nik (a person)
    number: Mapped[str] = mapped_column(String(16))
    # The buyer's place of business (TKU) within its NPWP: 000000 is the head office.
    tku: Mapped[str] = mapped_column(String(6), default="000000")
    tax_name: Mapped[str] = mapped_column(String(200))
    tax_address: Mapped[str] = mapped_column(String(500))
    email: Mapped[str | None] = mapped_column(String(254))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class ProductTaxCode(Base):
    __tablename__ = "product_tax_codes"
    __table_args__ = (
        CheckConstraint("goods_code ~ '^[0-9]{6}$'", name="goods_code_6_digits"),
        CheckConstraint("unit_code ~ '^UM\\.[0-9]{4}$'", name="unit_code_format"),
        CheckConstraint("opt IN ('A', 'B')", name="opt_known"),
    )

    product_id: Mapped[int] = mapped_column(
        ForeignKey("products.id", ondelete="CASCADE"), primary_key=True
    )
    opt: Mapped[str] = mapped_column(String(1), default="A")  # A goods, B services
    goods_code: Mapped[str] = mapped_column(String(6))  # Coretax goods/service code
    unit_code: Mapped[str] = mapped_column(String(10))  # Coretax unit code, UM.0021 …
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
