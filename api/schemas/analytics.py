"""On-demand analytics: a date range to recompute, a week to compute, what was done."""

from datetime import date, datetime

from pydantic import BaseModel, Field, field_validator, model_validator

from api.schemas.common import DateRangeIn, Strict, Text
from sfa.errors import InvalidInput
from sfa.weeks import parse_week

MAX_RANGE_DAYS = 400


class RecomputeIn(DateRangeIn):
    @model_validator(mode="after")
    def _not_too_long(self):
        if (self.date_to - self.date_from).days > MAX_RANGE_DAYS:
            raise ValueError(f"at most {MAX_RANGE_DAYS} days at once; split the range")
        return self


class WeekIn(Strict):
    week: Text = Field(examples=["2026-W47", "2026-11-18"])

    @field_validator("week")
    @classmethod
    def _week(cls, value: str) -> str:
        try:
            parse_week(value)
        except InvalidInput as exc:
            raise ValueError(exc.message) from exc
        return value


class ComputedOut(BaseModel):
    date_from: date
    date_to: date
    reps: int | None = Field(description="reps covered; null means every rep")
    anomalies: int


class ParkedDayOut(BaseModel):
    rep_id: int
    username: str
    day: date
    error: str = Field(description="what failed: the step, the exception and its message")
    failed_at: datetime
    tracking_stale: bool
    flags_stale: bool
