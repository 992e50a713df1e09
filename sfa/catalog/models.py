"""Products and prices: read-only for field users, kept in sync from the ERP."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Numeric,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, Price


class Product(Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(String(80), unique=True)
    code: Mapped[str | None] = mapped_column(String(80), index=True)
    name: Mapped[str] = mapped_column(String(300))
    unit: Mapped[str] = mapped_column(String(20))
    # What a quantity in this unit may be (the ERP's unit digits and rounding): at most
    # `unit_digits` decimals, a multiple of `unit_rounding`. NULL: not known, not checked.
    unit_digits: Mapped[int | None] = mapped_column(SmallInteger)
    unit_rounding: Mapped[Decimal | None] = mapped_column(Numeric(18, 6))
    list_price: Mapped[Decimal | None] = mapped_column(Price)
    currency: Mapped[str | None] = mapped_column(String(3))
    # [{"external_id", "name", "type": "percentage"|"fixed", "rate"?, "amount"?}]
    taxes: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    salable: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    erp_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class CustomerPrice(Base):
    """A customer-specific price, when the ERP provides one; else the list price."""

    __tablename__ = "customer_prices"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "product_id"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    price: Mapped[Decimal] = mapped_column(Price)
    currency: Mapped[str | None] = mapped_column(String(3))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
