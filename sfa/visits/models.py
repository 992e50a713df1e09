import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base
from sfa.geo import point_type


class VerificationStatus(enum.StrEnum):
    verified = "verified"
    too_far = "too_far"
    customer_location_unknown = "customer_location_unknown"
    no_position = "no_position"
    mock_location = "mock_location"


class DwellSource(enum.StrEnum):
    check_out = "check_out"
    pings = "pings"  # no check-out: time the rep's pings stayed near the customer
    not_checked_out = "not_checked_out"  # closed at the next check-in or end of day


class Visit(Base):
    __tablename__ = "visits"
    __table_args__ = (
        # Idempotency: a client id is unique per rep, so a replayed check-in finds its visit.
        UniqueConstraint("rep_id", "client_id"),
        Index("ix_visits_rep_id_check_in_at", "rep_id", "check_in_at"),
        Index("ix_visits_rep_id_local_day", "rep_id", "local_day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    client_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    request_hash: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    planned_visit_id: Mapped[int | None] = mapped_column(BigInteger)
    device_id: Mapped[str | None] = mapped_column(String(120))
    check_in_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    check_in_position = mapped_column(point_type(), nullable=True)
    check_in_accuracy_m: Mapped[float | None] = mapped_column(Float)
    check_in_mock: Mapped[bool] = mapped_column(Boolean, default=False)
    verification_status: Mapped[VerificationStatus] = mapped_column(
        Enum(VerificationStatus, name="verification_status")
    )
    distance_to_customer_m: Mapped[float | None] = mapped_column(Float)
    radius_m: Mapped[float | None] = mapped_column(Float)
    check_out_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_out_position = mapped_column(point_type(), nullable=True)
    check_out_accuracy_m: Mapped[float | None] = mapped_column(Float)
    check_out_mock: Mapped[bool | None] = mapped_column(Boolean)
    check_out_hash: Mapped[str | None] = mapped_column(String(64))
    dwell_seconds: Mapped[int | None] = mapped_column(Integer)
    dwell_source: Mapped[DwellSource | None] = mapped_column(Enum(DwellSource, name="dwell_source"))
    # The company-local day of the check-in: "day" always means the company's day.
    local_day: Mapped[date] = mapped_column(Date)
    # 0..100 from the visit's flags (analytics); None until first computed.
    trust_score: Mapped[int | None] = mapped_column(Integer)
    # Kept by a trigger on every update (migration 0016): incremental exports read it.
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class VisitFlag(Base):
    """One reason a visit looks suspicious, with the numbers that triggered it."""

    __tablename__ = "visit_flags"

    visit_id: Mapped[int] = mapped_column(
        ForeignKey("visits.id", ondelete="CASCADE"), primary_key=True
    )
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    rep_id: Mapped[int] = mapped_column(BigInteger, index=True)
    numbers: Mapped[dict] = mapped_column(JSONB)
    reason_en: Mapped[str] = mapped_column(String(300))
    reason_id: Mapped[str] = mapped_column(String(300))
    # Kept by a trigger on every update (migration 0016): incremental exports read it.
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
