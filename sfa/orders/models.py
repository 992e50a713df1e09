"""Field orders and the ERP outbox that carries them out."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, Money, Price

Quantity = Numeric(18, 4)
Percent = Numeric(6, 3)


class OrderState(enum.StrEnum):
    draft = "draft"
    submitted = "submitted"  # waiting for discount approval
    approved = "approved"  # queued in the ERP outbox
    sent = "sent"  # the ERP has the sale
    confirmed = "confirmed"
    invoiced = "invoiced"
    paid = "paid"
    rejected = "rejected"  # a discount approver said no
    cancelled = "cancelled"


class ApprovalTier(enum.StrEnum):
    auto = "auto"  # discount <= discount_auto_max_pct
    single = "single"  # <= discount_single_max_pct: the rep's manager
    double = "double"  # above: manager, then a second level (admin / finance)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("rep_id", "client_id"),
        Index("ix_orders_rep_id_created_at", "rep_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    request_hash: Mapped[str] = mapped_column(String(64))
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    state: Mapped[OrderState] = mapped_column(Enum(OrderState, name="order_state"))
    currency: Mapped[str] = mapped_column(String(3))
    gross_amount: Mapped[Decimal] = mapped_column(Money)  # before discounts
    discount_amount: Mapped[Decimal] = mapped_column(Money)
    net_amount: Mapped[Decimal] = mapped_column(Money)
    discount_pct: Mapped[Decimal] = mapped_column(Percent)  # discount ÷ gross, the risk
    approval_tier: Mapped[ApprovalTier | None] = mapped_column(
        Enum(ApprovalTier, name="approval_tier")
    )
    note: Mapped[str | None] = mapped_column(String(1000))
    erp_sale_id: Mapped[str | None] = mapped_column(String(80))
    erp_number: Mapped[str | None] = mapped_column(String(80))
    # Confirmed by the ERP or an admin (PUT /v1/orders/{id}/delivery-date); SMS to the customer.
    delivery_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int] = mapped_column(SmallInteger)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="RESTRICT"))
    quantity: Mapped[Decimal] = mapped_column(Quantity)
    unit_price: Mapped[Decimal] = mapped_column(Price)  # before discount
    discount_pct: Mapped[Decimal] = mapped_column(Percent)
    # unit price after discount, at the ERP's price precision: the price the ERP gets
    net_price: Mapped[Decimal] = mapped_column(Price)
    net_amount: Mapped[Decimal] = mapped_column(Money)


class OutboxState(enum.StrEnum):
    pending = "pending"
    done = "done"
    parked = "parked"  # the ERP rejected it: needs a person; retried on request


class OutboxAction(enum.StrEnum):
    push = "push"  # create and confirm the sale
    # the order was cancelled after an attempt to send it: remove what the ERP may hold
    cancel = "cancel"


class ErpOutbox(Base):
    """An approved order waiting to reach the ERP; written in the approving transaction."""

    __tablename__ = "erp_outbox"
    __table_args__ = (Index("ix_erp_outbox_state_next_attempt_at", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"), unique=True)
    state: Mapped[OutboxState] = mapped_column(Enum(OutboxState, name="outbox_state"))
    action: Mapped[OutboxAction] = mapped_column(
        Enum(OutboxAction, name="outbox_action"),
        default=OutboxAction.push,
        server_default=OutboxAction.push.value,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_error: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
