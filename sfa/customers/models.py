import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, TimestampMixin
from sfa.geo import point_type


class LocationStatus(enum.StrEnum):
    unknown = "unknown"  # no location yet
    imported = "imported"  # set by an admin, an import or the ERP
    captured = "captured"  # taken from the first accurate check-in
    approved = "approved"  # moved through a manager-approved proposal


class Customer(TimestampMixin, Base):
    __tablename__ = "customers"
    __table_args__ = (
        CheckConstraint("verify_radius_m IS NULL OR verify_radius_m > 0", name="radius_positive"),
        CheckConstraint(
            "distributor_id IS NULL OR distributor_id <> id", name="not_own_distributor"
        ),
        # Radius search runs on geography (metres); viewport search on the geometry cast.
        Index("ix_customers_location", "location", postgresql_using="gist"),
        Index("ix_customers_location_geom", text("(location::geometry)"), postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    customer_class: Mapped[str] = mapped_column(String(40), default="retail")
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(254))
    language: Mapped[str | None] = mapped_column(String(8))
    # Geography so that distances are metres on the spheroid, not degrees.
    location = mapped_column(point_type(), nullable=True)
    location_status: Mapped[LocationStatus] = mapped_column(
        Enum(LocationStatus, name="location_status"), default=LocationStatus.unknown
    )
    verify_radius_m: Mapped[float | None] = mapped_column(Float)
    is_distributor: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    # A secondary customer is served by a distributor, itself a customer.
    distributor_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    # Territory: the team whose reps serve this customer.
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("teams.id", ondelete="RESTRICT"), index=True
    )
    external_id: Mapped[str | None] = mapped_column(String(80), unique=True)


class ProposalStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"


class LocationProposal(Base):
    """A proposed move of a customer's location; a manager approves or rejects it.

    Approved and rejected rows stay: they are the location history."""

    __tablename__ = "customer_location_proposals"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    proposed_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
    position = mapped_column(point_type(), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    previous_position = mapped_column(point_type(), nullable=True)
    note: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[ProposalStatus] = mapped_column(
        Enum(ProposalStatus, name="proposal_status"), default=ProposalStatus.pending
    )
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CustomerFlag(Base):
    """A suspicious customer (e.g. one of several registered from the same spot)."""

    __tablename__ = "customer_flags"
    __table_args__ = (PrimaryKeyConstraint("customer_id", "code"),)

    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    numbers: Mapped[dict] = mapped_column(JSONB)
    reason_en: Mapped[str] = mapped_column(String(300))
    reason_id: Mapped[str] = mapped_column(String(300))
