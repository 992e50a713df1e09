"""Report rows, as JSON items and as flat CSV rows.

Every row names its rep and team with flat keys (rep_id, rep_username, rep_name, team_id,
team_name) so that a spreadsheet gets one column each. In CSV (`CsvRow`) lists are
joined and objects are compact JSON; numbers are the same values as in the JSON.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field

from api.schemas.csv_rows import CsvRow
from sfa.visits.flags import WEIGHTS

# Every flag code, for the team-days CSV columns.
FLAG_CODES = tuple(sorted(WEIGHTS))


class Lang(StrEnum):
    en = "en"
    id = "id"


class PlanGrouping(StrEnum):
    week = "week"
    day = "day"


class ReportRow(CsvRow):
    rep_id: int
    rep_username: str
    rep_name: str
    team_id: int | None
    team_name: str | None


class VisitFlagOut(BaseModel):
    code: str
    numbers: dict
    reason: str


class SuspiciousVisitOut(ReportRow):
    visit_id: int
    customer_id: int
    customer_code: str
    customer_name: str
    local_day: date
    check_in_at: datetime = Field(description="in the company's timezone")
    check_out_at: datetime | None
    dwell_seconds: int | None
    verification_status: str
    distance_to_customer_m: float | None
    trust_score: int | None = Field(description="0-100 from the flags; null until computed")
    codes: list[str]
    flags: list[VisitFlagOut]

    # In CSV the flags are their reasons, in one column.
    csv_exclude = frozenset({"flags"})

    @classmethod
    def csv_columns(cls) -> list[str]:
        return [*super().csv_columns(), "reasons"]

    def csv_row(self) -> dict[str, Any]:
        row = super().csv_row()
        # Reasons contain ';' themselves; ' | ' keeps them apart, in the order of `codes`.
        row["reasons"] = " | ".join(f.reason for f in self.flags)
        return row


class WeeklyAnomalyOut(ReportRow):
    week_start: date
    week: str = Field(description="ISO week, e.g. 2026-W47")
    code: str
    numbers: dict
    reason: str
    computed_at: datetime


class PlanComplianceOut(ReportRow):
    week_start: date
    week: str = Field(description="ISO week, e.g. 2026-W47")
    day: date | None = Field(description="set with by=day")
    planned: int
    done: int
    rate: float | None = Field(description="done / planned (0-1); null when nothing planned")


class TeamDayOut(ReportRow):
    day: date
    visits: int
    verified_visits: int
    verified_share: float | None = Field(description="verified / visits (0-1)")
    distance_m: float
    coverage: float = Field(description="share of the working day with GPS data (0-1)")
    dwell_seconds: int = Field(description="total dwell time of the day's visits")
    first_activity_at: datetime | None
    last_activity_at: datetime | None
    flagged_visits: int
    flag_counts: dict[str, int] = Field(description="flagged visits by flag code")
    planned: int
    planned_done: int
    pending_recompute: bool = Field(
        description="new pings or visits arrived since the numbers were computed"
    )

    # In CSV, one column per flag code (flags.too_far, …), 0 where the day had none.
    csv_exclude = frozenset({"flag_counts"})

    @classmethod
    def csv_columns(cls) -> list[str]:
        return [*super().csv_columns(), *(f"flags.{code}" for code in FLAG_CODES)]

    def csv_row(self) -> dict[str, Any]:
        return super().csv_row() | {
            f"flags.{code}": self.flag_counts.get(code, 0) for code in FLAG_CODES
        }
