from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base
from sfa.geo import point_type


class Device(Base):
    """A tracker app installation registered to a rep (OsmAnd / Traccar Client)."""

    __tablename__ = "devices"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    label: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Ping(Base):
    """A GPS position. Partitioned by month on `at` (see the migration); the key carries
    rep_id so the table can be distributed by rep."""

    __tablename__ = "pings"
    __table_args__ = (
        PrimaryKeyConstraint("rep_id", "at"),
        {"postgresql_partition_by": "RANGE (at)"},
    )

    rep_id: Mapped[int] = mapped_column(BigInteger)
    # Device time: a duplicate is the same rep at the same device time.
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    position = mapped_column(point_type(), nullable=False)
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    speed_mps: Mapped[float | None] = mapped_column(Float)
    bearing: Mapped[float | None] = mapped_column(Float)
    altitude_m: Mapped[float | None] = mapped_column(Float)
    battery_pct: Mapped[float | None] = mapped_column(Float)
    mock: Mapped[bool] = mapped_column(Boolean, default=False)
    device_id: Mapped[str | None] = mapped_column(String(120))
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class RepDay(Base):
    """Pre-aggregated tracking of one rep's local day; `dirty` when pings arrived since."""

    __tablename__ = "rep_days"
    __table_args__ = (
        PrimaryKeyConstraint("rep_id", "day"),
        Index("ix_rep_days_dirty", "dirty", postgresql_where="dirty"),
        # Company-wide reports select a date range across all reps.
        Index("ix_rep_days_day", "day"),
        Index(
            "ix_rep_days_parked", "refresh_failed_at", postgresql_where="refresh_error IS NOT NULL"
        ),
    )

    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    dirty: Mapped[bool] = mapped_column(Boolean, default=True)
    distance_m: Mapped[float] = mapped_column(Float, default=0)
    coverage: Mapped[float] = mapped_column(Float, default=0)
    ping_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[dict] = mapped_column(JSONB, default=dict)
    gaps: Mapped[list] = mapped_column(JSONB, default=list)
    trips: Mapped[list] = mapped_column(JSONB, default=list)
    first_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    computed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The accepted track as store_day found it, for drawing the day without its pings
    # (sfa.tracking.drawn). Deferred: only a map reads it. NULL: stored before it existed.
    track: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    # Visit side of the day, kept by analytics for the team-days report.
    flags_dirty: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    visits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    verified_visits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    dwell_seconds: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flagged_visits: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flag_counts: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    planned: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    planned_done: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_activity_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Parked by the refresh job after a failure (sfa.anomalies.jobs): the reason, and when.
    refresh_error: Mapped[str | None] = mapped_column(Text)
    refresh_failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RepStop(Base):
    """A detected stop; near a customer without a check-in it is an unlogged visit."""

    __tablename__ = "rep_stops"
    __table_args__ = (
        Index("ix_rep_stops_rep_id_day", "rep_id", "day"),
        Index("ix_rep_stops_position", "position", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    end_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    position = mapped_column(point_type(), nullable=False)
    n_pings: Mapped[int] = mapped_column(Integer)
    spans_gap: Mapped[bool] = mapped_column(Boolean, default=False)
    gap_minutes: Mapped[float] = mapped_column(Float, default=0)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    distance_to_customer_m: Mapped[float | None] = mapped_column(Float)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
