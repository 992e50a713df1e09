from datetime import date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    String,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class RepWeek(Base):
    """Per rep per company ISO week: the numbers weekly anomalies are computed from."""

    __tablename__ = "rep_weeks"
    __table_args__ = (
        PrimaryKeyConstraint("rep_id", "week_start"),
        Index("ix_rep_weeks_week_start", "week_start"),
    )

    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)  # Monday
    iso_year: Mapped[int] = mapped_column(Integer)
    iso_week: Mapped[int] = mapped_column(Integer)
    visits: Mapped[int] = mapped_column(Integer, default=0)
    short_visits: Mapped[int] = mapped_column(Integer, default=0)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    planned_done: Mapped[int] = mapped_column(Integer, default=0)


class WeeklyAnomaly(Base):
    __tablename__ = "weekly_anomalies"
    __table_args__ = (
        PrimaryKeyConstraint("rep_id", "week_start", "code"),
        Index("ix_weekly_anomalies_week_start", "week_start"),
    )

    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    week_start: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(40))
    numbers: Mapped[dict] = mapped_column(JSONB)
    reason_en: Mapped[str] = mapped_column(String(300))
    reason_id: Mapped[str] = mapped_column(String(300))
    computed_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    # Kept by a trigger on every update (migration 0016): incremental exports read it.
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
