"""Pulse surveys, who has answered (without their answers), and the anonymous answers."""

import enum
import uuid
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    Enum,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    String,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from sfa.db import Base, TimestampMixin


class Cadence(enum.StrEnum):
    weekly = "weekly"  # ISO weeks, 2026-W47
    monthly = "monthly"  # 2026-11
    quarterly = "quarterly"  # 2026-Q4


class Survey(TimestampMixin, Base):
    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[Cadence] = mapped_column(Enum(Cadence, name="survey_cadence"))
    # [{"key", "kind": scale|choice|text, "text", "min"?, "max"?, "options"?, "enps"?}]
    questions: Mapped[list] = mapped_column(JSONB)
    # The key of the 0-10 "would you recommend working here" question, if there is one.
    enps_key: Mapped[str | None] = mapped_column(String(40))
    starts_on: Mapped[date] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Participation(Base):
    """That a rep answered a survey in a period — and nothing else: no time, no link to
    the answer, so that the two can never be joined (docs/pipeline.md, anonymity)."""

    __tablename__ = "survey_participation"
    __table_args__ = (PrimaryKeyConstraint("survey_id", "period", "user_id"),)

    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class Response(Base):
    """One anonymous set of answers: a random id, no author, no timestamp."""

    __tablename__ = "survey_responses"
    __table_args__ = (Index("ix_survey_responses_survey_id_period", "survey_id", "period"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    period: Mapped[str] = mapped_column(String(10))
    # The team the survey was for when answered (results are per team and period).
    team_id: Mapped[int] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    answers: Mapped[dict] = mapped_column(JSONB)
