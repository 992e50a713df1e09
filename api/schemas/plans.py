from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, model_validator

from api.schemas.common import DateRangeIn, Day, Id, Strict
from api.schemas.csv_rows import CsvRow
from sfa.plans.imports import ImportResult
from sfa.plans.models import JourneyPlan, PlannedVisit


def _monday(value: date) -> date:
    if value.isoweekday() != 1:
        monday = value - timedelta(days=value.isoweekday() - 1)
        raise ValueError(
            f"anchor_week must be a Monday; {value} is a {value:%A} "
            f"(the Monday of that week is {monday})"
        )
    return value


Weekday = Annotated[int, Field(ge=1, le=7, description="ISO weekday: 1 = Monday … 7 = Sunday")]
EveryNWeeks = Annotated[
    int,
    Field(
        ge=1, le=52, description="1 = every week, 2 = every other week counted from anchor_week, …"
    ),
]
AnchorWeek = Annotated[
    Day,
    AfterValidator(_monday),
    Field(description="the Monday of a week in which the plan occurs"),
]


def _ordered(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None and valid_to < valid_from:
        raise ValueError(f"valid_to {valid_to} is before valid_from {valid_from}")


class JourneyPlanCreate(Strict):
    rep_id: Id
    customer_id: Id
    weekday: Weekday
    every_n_weeks: EveryNWeeks = 1
    anchor_week: AnchorWeek
    valid_from: Day
    valid_to: Day | None = Field(None, description="last day of the plan; null: no end")

    @model_validator(mode="after")
    def _dates_ordered(self):
        _ordered(self.valid_from, self.valid_to)
        return self


class JourneyPlanUpdate(Strict):
    rep_id: Id | None = None
    customer_id: Id | None = None
    weekday: Weekday | None = None
    every_n_weeks: EveryNWeeks | None = None
    anchor_week: AnchorWeek | None = None
    valid_from: Day | None = None
    valid_to: Day | None = None

    @model_validator(mode="after")
    def _not_null(self):
        nulls = sorted(
            f for f in self.model_fields_set if f != "valid_to" and getattr(self, f) is None
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null (only valid_to can: no end)")
        _ordered(self.valid_from, self.valid_to)
        return self


class JourneyPlanOut(CsvRow):
    id: int
    rep_id: int
    customer_id: int
    weekday: int
    every_n_weeks: int
    anchor_week: date
    valid_from: date
    valid_to: date | None
    active: bool = Field(description="not ended as of today (company day)")
    created_at: datetime | None

    @classmethod
    def of(cls, plan: JourneyPlan, *, active: bool) -> "JourneyPlanOut":
        return cls(
            id=plan.id,
            rep_id=plan.rep_id,
            customer_id=plan.customer_id,
            weekday=plan.weekday,
            every_n_weeks=plan.every_n_weeks,
            anchor_week=plan.anchor_week,
            valid_from=plan.valid_from,
            valid_to=plan.valid_to,
            active=active,
            created_at=plan.created_at,
        )


class JourneyPlanDeactivated(JourneyPlanOut):
    deleted: bool = Field(
        description="the plan had not started yet, so it was removed instead of ended"
    )
    removed_planned_visits: int = Field(
        description="open planned visits from today on that were removed"
    )


class PlannedVisitCreate(Strict):
    rep_id: Id
    customer_id: Id
    day: Day = Field(description="company-local day, today or later")


class PlannedVisitSource(StrEnum):
    journey = "journey"  # an occurrence of a journey plan
    adhoc = "adhoc"  # planned on its own (POST /v1/planned-visits)
    imported = "imported"  # a dated planned visit of a bulk import


class PlannedVisitOut(CsvRow):
    id: int
    rep_id: int
    customer_id: int
    day: date
    source: PlannedVisitSource
    journey_plan_id: int | None
    visit_id: int | None = Field(description="the check-in that fulfilled it")
    done: bool

    @classmethod
    def of(cls, planned: PlannedVisit) -> "PlannedVisitOut":
        return cls(
            id=planned.id,
            rep_id=planned.rep_id,
            customer_id=planned.customer_id,
            day=planned.day,
            source=PlannedVisitSource(planned.source),
            journey_plan_id=planned.journey_plan_id,
            visit_id=planned.visit_id,
            done=planned.visit_id is not None,
        )


class ExpandIn(DateRangeIn):
    pass


class ExpandOut(BaseModel):
    date_from: date
    date_to: date
    created: int = Field(description="planned visits created")
    linked: int = Field(description="planned visits fulfilled by check-ins stored earlier")


class RateBy(StrEnum):
    day = "day"
    week = "week"


class RatePeriodOut(CsvRow):
    period_start: date
    period_end: date
    label: str = Field(examples=["2026-11-23", "2026-W48"])
    planned: int
    done: int
    rate: float | None = Field(description="done / planned, 0..1; null when nothing planned")


class VisitRateOut(BaseModel):
    rep_id: int
    by: RateBy
    date_from: date = Field(description="with by=week, the Monday of the first week")
    date_to: date = Field(description="with by=week, the Sunday of the last week")
    planned: int
    done: int
    rate: float | None
    periods: list[RatePeriodOut]


class ImportRejectionOut(BaseModel):
    index: int = Field(description="0-based position of the row among the data rows")
    line: int | None = Field(description="the CSV line (the header is line 1); null for JSON")
    reason: str


class PlanImportOut(BaseModel):
    dry_run: bool = Field(description="true: checked and counted, nothing stored")
    rows: int
    journey_plans_created: int
    journey_plans_unchanged: int = Field(description="the rep has this plan already")
    planned_visits_created: int = Field(description="dated rows and journey occurrences")
    planned_visits_unchanged: int = Field(description="already planned that day")
    fulfilled: int = Field(description="new planned visits done by check-ins stored before")
    rejected: list[ImportRejectionOut]

    @classmethod
    def of(cls, result: ImportResult) -> "PlanImportOut":
        return cls(
            dry_run=result.dry_run,
            rows=result.rows,
            journey_plans_created=result.journey_plans_created,
            journey_plans_unchanged=result.journey_plans_unchanged,
            planned_visits_created=result.planned_visits_created,
            planned_visits_unchanged=result.planned_visits_unchanged,
            fulfilled=result.fulfilled,
            rejected=[
                ImportRejectionOut(index=raw.index, line=raw.line, reason=reason)
                for raw, reason in result.rejected
            ],
        )
