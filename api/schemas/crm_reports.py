"""Rows of the renewal audit, the pipeline metrics and the eNPS report."""

from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from api.schemas.csv_rows import CsvRow
from api.schemas.surveys import EnpsRowOut


class RenewalStepOut(BaseModel):
    step: str
    entered_at: datetime
    left_at: datetime | None
    days: float = Field(description="time spent in the step so far (to now while in it)")


class RenewalRowOut(CsvRow):
    rank: int
    contract_id: int
    title: str
    customer_id: int
    customer_code: str
    customer_name: str
    team_id: int | None
    team_name: str | None
    acv: Decimal
    currency: str
    status: str
    end_date: date
    days_to_end: int = Field(description="from today (company day); negative when past")
    owner_id: int | None
    owner_name: str | None
    owner_role: str | None
    mode: str | None = Field(description="automated, owned, unassigned; null: not routed yet")
    routing_reason: str | None
    decided_at: datetime | None
    current_step: str | None
    current_step_days: float | None
    steps: list[RenewalStepOut]

    def flat(self, group: str) -> "RenewalCsvRow":
        steps = "; ".join(f"{s.step} {s.days:g}d" for s in self.steps)
        return RenewalCsvRow(group=group, **self.model_dump(exclude={"steps"}), steps=steps)


class RenewalCsvRow(RenewalRowOut):
    """A renewal-audit row flat: the steps as one text, and which list it is in."""

    steps: str = Field(description="e.g. 'active 300d; renewal_due 12.5d'")  # type: ignore[assignment]
    group: str = Field(description="largest or smallest")


class RenewalAuditOut(BaseModel):
    today: date
    largest: list[RenewalRowOut] = Field(description="by ACV, largest first")
    smallest: list[RenewalRowOut] = Field(description="by ACV, smallest first")


class StageMetricsOut(BaseModel):
    stage_id: int
    name: str
    position: int
    outcome: str
    probability: Decimal
    reached: int | None = Field(description="deals of the cohort that reached it or beyond")
    conversion_to_next: float | None = Field(description="share reaching the next stage")
    drop_off: int | None = Field(description="reached this stage but not the next")
    lost_after: int | None = Field(description="furthest stage this one, and lost now")
    stays: int = Field(description="stays in it that ended in the period")
    median_days: float | None
    p90_days: float | None


class SummaryOut(BaseModel):
    cohort_deals: int = Field(description="opened in the period")
    won: int = Field(description="won in the period")
    lost: int
    win_rate: float | None = Field(description="won ÷ (won + lost)")
    won_amount: Decimal
    average_deal_size: Decimal | None = Field(description="mean amount of the won deals")
    cycle_days: float | None = Field(description="mean days from opening to winning")
    open_deals: int = Field(description="open now")
    open_amount: Decimal
    weighted_pipeline: Decimal = Field(description="Σ amount × probability of open deals")
    velocity_per_day: Decimal | None = Field(
        description="open deals × win rate × average deal size ÷ cycle days"
    )
    other_currency_deals: int = Field(description="deals in another currency, not in the sums")


class ForecastOut(BaseModel):
    month: str | None = Field(description="expected close month, YYYY-MM; null: no date")
    deals: int
    amount: Decimal
    weighted: Decimal


class LostReasonOut(BaseModel):
    reason: str
    deals: int
    amount: Decimal


class PipelineGroupOut(BaseModel):
    pipeline_id: int
    pipeline_name: str
    group_by: str
    group_id: int | None
    group_name: str | None
    currency: str
    summary: SummaryOut
    stages: list[StageMetricsOut]
    forecast: list[ForecastOut]
    lost_reasons: list[LostReasonOut]

    def csv_rows(self) -> list["PipelineCsvRow"]:
        """Long format: one row per metric, so that every section fits one table."""
        head = {
            "pipeline_id": self.pipeline_id,
            "pipeline": self.pipeline_name,
            "group_by": self.group_by,
            "group_id": self.group_id,
            "group_name": self.group_name,
            "currency": self.currency,
        }
        rows = []

        def add(section: str, key: str, values: dict) -> None:
            for metric, value in values.items():
                rows.append(
                    PipelineCsvRow(**head, section=section, key=key, metric=metric, value=value)
                )

        add("summary", "", self.summary.model_dump(mode="json"))
        for s in self.stages:
            add("stage", s.name, s.model_dump(mode="json", exclude={"name"}))
        for f in self.forecast:
            add("forecast", f.month or "", f.model_dump(mode="json", exclude={"month"}))
        for r in self.lost_reasons:
            add("lost_reason", r.reason, r.model_dump(mode="json", exclude={"reason"}))
        return rows


class PipelineCsvRow(CsvRow):
    pipeline_id: int
    pipeline: str
    group_by: str
    group_id: int | None
    group_name: str | None
    currency: str
    section: str = Field(description="summary, stage, forecast or lost_reason")
    key: str = Field(description="the stage, month or reason the row is about")
    metric: str
    value: str | int | float | None


class PipelineReportOut(BaseModel):
    items: list[PipelineGroupOut]


class EnpsReportOut(BaseModel):
    items: list[EnpsRowOut]
