"""Purchase orders that customers send as documents (PDF, scan, photo), and what the
intake learns from corrections: item-code aliases, unit conversions, layout hints."""

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    Numeric,
    PrimaryKeyConstraint,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class IntakeState(enum.StrEnum):
    received = "received"  # stored, waiting for the job
    processing = "processing"  # claimed by a job run
    needs_review = "needs_review"  # a value is missing or below the confidence threshold
    ready = "ready"  # every value is confident: a person may confirm it as it is
    parked = "parked"  # the document cannot be read (reason says why)
    confirmed = "confirmed"  # submitted as an order (order_id)


STATES = tuple(s.value for s in IntakeState)


class PoIntake(Base):
    __tablename__ = "po_intakes"
    __table_args__ = (
        CheckConstraint(f"state IN {STATES}", name="state_known"),
        CheckConstraint("source IN ('upload', 'email')", name="source_known"),
        Index("ix_po_intakes_state_created_at", "state", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # The same file twice is one intake.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(10))
    sender: Mapped[str | None] = mapped_column(String(254))  # e-mail From
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    state: Mapped[str] = mapped_column(String(20), default=IntakeState.received)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(String(500))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the reader saw: pages of words with positions (sfa.purchase_orders.document).
    pages: Mapped[list | None] = mapped_column(JSONB)
    page_count: Mapped[int | None] = mapped_column(Integer)
    read_seconds: Mapped[float | None] = mapped_column(Float)
    # The extractor's output, then the draft a person reviews and corrects.
    extraction: Mapped[dict | None] = mapped_column(JSONB)
    draft: Mapped[dict | None] = mapped_column(JSONB)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="SET NULL"), index=True
    )
    rep_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    confirmed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


class PoIntakeFile(Base):
    """The document's bytes, apart from the intake row so that lists never load them."""

    __tablename__ = "po_intake_files"

    intake_id: Mapped[int] = mapped_column(
        ForeignKey("po_intakes.id", ondelete="CASCADE"), primary_key=True
    )
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ProductAlias(Base):
    """A customer's own name for one of our products: its item code, or (without one)
    its description. Learned when a person corrects a line's product."""

    __tablename__ = "po_product_aliases"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "key"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))  # "code:100234" or "desc:mie goreng 85 g"
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class UnitConversion(Base):
    """How many of a product's own unit one buyer unit holds (a carton of 40 pcs)."""

    __tablename__ = "po_unit_conversions"
    __table_args__ = (
        PrimaryKeyConstraint("product_id", "unit"),
        CheckConstraint("factor > 0", name="factor_positive"),
    )

    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    unit: Mapped[str] = mapped_column(String(20))  # upper case, e.g. CTN
    factor: Mapped[Decimal] = mapped_column(Numeric(12, 4))


class LayoutHint(Base):
    """Per customer: the wording of its documents learned from corrections, e.g.
    {"labels": {"po_number": ["ref pesanan"]}, "columns": {"quantity": ["order qty"]}}."""

    __tablename__ = "po_layout_hints"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    hints: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
