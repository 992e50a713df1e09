from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base


class JourneyPlan(Base):
    """A recurring weekly pattern: this rep visits this customer on this weekday, every
    N weeks counted from the week of `anchor_week`."""

    __tablename__ = "journey_plans"
    __table_args__ = (
        CheckConstraint("weekday BETWEEN 1 AND 7", name="weekday_iso"),
        CheckConstraint("every_n_weeks BETWEEN 1 AND 52", name="every_n_weeks_range"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="valid_range"),
        Index("ix_journey_plans_rep_id", "rep_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    weekday: Mapped[int] = mapped_column(SmallInteger)  # ISO: 1 = Monday … 7 = Sunday
    every_n_weeks: Mapped[int] = mapped_column(SmallInteger, default=1)
    anchor_week: Mapped[date] = mapped_column(Date)  # the Monday of a week it occurs
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PlannedVisit(Base):
    """A dated planned visit, expanded from a journey plan or added ad hoc; a check-in
    at the planned customer on the planned day fulfils it (`visit_id`)."""

    __tablename__ = "planned_visits"
    __table_args__ = (
        UniqueConstraint("rep_id", "customer_id", "day"),
        Index("ix_planned_visits_rep_id_day", "rep_id", "day"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    rep_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(10))  # "journey", "adhoc" or "imported"
    journey_plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("journey_plans.id", ondelete="SET NULL")
    )
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id", ondelete="SET NULL"))
