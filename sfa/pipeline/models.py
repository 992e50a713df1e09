"""Pipelines with their stages, leads and opportunities, and the stage history."""

import enum
import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, Money, TimestampMixin
from sfa.geo import point_type

Probability = Numeric(5, 2)  # percent, 0-100


class StageOutcome(enum.StrEnum):
    open = "open"
    won = "won"
    lost = "lost"


class OpportunityKind(enum.StrEnum):
    lead = "lead"  # not yet qualified
    opportunity = "opportunity"


class Pipeline(TimestampMixin, Base):
    __tablename__ = "pipelines"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # New opportunities without a pipeline go to the default one (at most one).
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class Stage(Base):
    __tablename__ = "pipeline_stages"
    __table_args__ = (
        UniqueConstraint("pipeline_id", "position"),
        UniqueConstraint("pipeline_id", "name"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(SmallInteger)  # the order; open stages come first
    probability: Mapped[Decimal] = mapped_column(Probability)  # default for deals in it
    outcome: Mapped[StageOutcome] = mapped_column(Enum(StageOutcome, name="stage_outcome"))


class Opportunity(TimestampMixin, Base):
    __tablename__ = "opportunities"
    __table_args__ = (
        UniqueConstraint("created_by_id", "client_id"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability_range"),
        CheckConstraint(
            "customer_id IS NOT NULL OR prospect_name IS NOT NULL", name="customer_or_prospect"
        ),
        # The report's filters: a team's or a rep's deals opened or closed in a period.
        Index("ix_opportunities_team_id_opened_at", "team_id", "opened_at"),
        Index("ix_opportunities_owner_id_opened_at", "owner_id", "opened_at"),
        Index("ix_opportunities_pipeline_id_closed_at", "pipeline_id", "closed_at"),
        Index("ix_opportunities_location", "location", postgresql_using="gist"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # Idempotent creation from the app: the same client_id again answers the same row.
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[OpportunityKind] = mapped_column(Enum(OpportunityKind, name="opportunity_kind"))
    title: Mapped[str] = mapped_column(String(200))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    stage_id: Mapped[int] = mapped_column(
        ForeignKey("pipeline_stages.id", ondelete="RESTRICT"), index=True
    )
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="RESTRICT"), index=True
    )
    # A prospect is not a customer yet: who and where (lead assignment uses the location).
    prospect_name: Mapped[str | None] = mapped_column(String(200))
    prospect_phone: Mapped[str | None] = mapped_column(String(40))
    prospect_email: Mapped[str | None] = mapped_column(String(254))
    location = mapped_column(point_type(), nullable=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3))
    expected_close: Mapped[date | None] = mapped_column(Date)
    # None: the stage's default probability.
    probability: Mapped[Decimal | None] = mapped_column(Probability)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The team whose pipeline it is (the owner's, else the customer's): managers see theirs.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    source: Mapped[str | None] = mapped_column(String(40))
    lost_reason: Mapped[str | None] = mapped_column(String(200))
    score: Mapped[int | None] = mapped_column(Integer)  # lead score, when scored
    # A renewal's opportunity (enterprise contracts, CURE).
    contract_id: Mapped[int | None] = mapped_column(
        ForeignKey("contracts.id", ondelete="SET NULL"), index=True
    )
    # The furthest non-lost stage (by position) the deal has ever been in: what the funnel
    # counts. Kept by every move (the maximum, whatever order moves arrive in) and
    # recomputed from the history when a pipeline's stages are re-ordered.
    reached_position: Mapped[int | None] = mapped_column(SmallInteger)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    stage_entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StageSpan(Base):
    """A stay of an opportunity in a stage: written on every move. The spans of one
    opportunity tile its life without gaps or overlaps (each `left_at` is the next span's
    `entered_at`; the last one is open), whatever order the moves arrived in."""

    __tablename__ = "opportunity_stage_history"
    __table_args__ = (
        UniqueConstraint("opportunity_id", "client_id"),
        CheckConstraint("left_at IS NULL OR left_at >= entered_at", name="span_ordered"),
        # Order statistics of a stage's ended stays (median, p90) by index position.
        Index(
            "ix_opportunity_stage_history_seconds",
            "stage_id",
            "seconds",
            postgresql_where=text("left_at IS NOT NULL"),
        ),
        # Covering: a team's stays are read from it alone (index-only), not the table.
        Index(
            "ix_opportunity_stage_history_opportunity_id",
            "opportunity_id",
            "entered_at",
            postgresql_include=["stage_id", "left_at"],
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(ForeignKey("opportunities.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(ForeignKey("pipeline_stages.id", ondelete="RESTRICT"))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    entered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    left_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The stay's length in seconds once it has ended (kept by PostgreSQL): the company-wide
    # time-in-stage percentiles read it in order from ix_opportunity_stage_history_seconds.
    seconds: Mapped[float | None] = mapped_column(
        Float, Computed("date_part('epoch', left_at - entered_at)", persisted=True)
    )
    # The move's id from the client (a retried move is recorded once).
    client_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
