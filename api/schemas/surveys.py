from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, Field

from api.schemas.common import Day, Id, Int64, PatchIn, Strict, Text
from api.schemas.csv_rows import CsvRow
from sfa.surveys.models import Cadence, Survey
from sfa.surveys.service import OpenSurvey


class QuestionIn(Strict):
    key: Text | None = Field(None, max_length=40, description="default q1, q2, …")
    kind: Literal["scale", "choice", "text"]
    text: Text = Field(min_length=1, max_length=500)
    min: int | None = Field(None, ge=0, le=100, description="scale: default 1 (0 for eNPS)")
    max: int | None = Field(None, ge=0, le=100, description="scale: default 5 (10 for eNPS)")
    options: list[Text] | None = Field(None, max_length=20, description="choice: 2-20 options")
    multiple: bool | None = Field(None, description="choice: several answers allowed")
    enps: bool | None = Field(None, description="the 0-10 eNPS question (at most one)")


class SurveyCreate(Strict):
    team_id: Id
    title: Text = Field(min_length=1, max_length=200)
    cadence: Cadence
    questions: list[QuestionIn] = Field(min_length=1, max_length=10)
    starts_on: Day | None = Field(None, description="default: today (company day)")
    active: bool = True


class SurveyUpdate(PatchIn):
    title: Text | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None
    starts_on: Day | None = None
    questions: list[QuestionIn] | None = Field(
        None, min_length=1, max_length=10, description="only before the first answer"
    )


class SurveyOut(BaseModel):
    id: int
    team_id: int
    title: str
    cadence: Cadence
    questions: list[dict]
    starts_on: date
    active: bool
    created_at: datetime

    @classmethod
    def of(cls, s: Survey) -> "SurveyOut":
        return cls(
            id=s.id,
            team_id=s.team_id,
            title=s.title,
            cadence=s.cadence,
            questions=s.questions,
            starts_on=s.starts_on,
            active=s.active,
            created_at=s.created_at,
        )


class MySurveyOut(BaseModel):
    id: int
    title: str
    cadence: Cadence
    period: str = Field(description="the period being answered, e.g. 2026-W47")
    answered: bool
    questions: list[dict]

    @classmethod
    def of(cls, o: OpenSurvey) -> "MySurveyOut":
        s = o.survey
        return cls(
            id=s.id,
            title=s.title,
            cadence=s.cadence,
            period=o.period,
            answered=o.answered,
            questions=s.questions,
        )


class AnswersIn(Strict):
    answers: dict[Text, Int64 | Text | list[Text] | None] = Field(
        max_length=10, description="question key -> answer (scale: integer; choice: option)"
    )


class EnpsOut(CsvRow):
    answers: int
    hidden: bool = Field(description="fewer answers than the minimum group size")
    promoters: int | None
    passives: int | None
    detractors: int | None
    enps: Decimal | None = Field(description="% answering 9-10 minus % answering 0-6")


class SurveyResultsOut(BaseModel):
    survey_id: int
    team_id: int
    period: str
    responses: int
    min_group_size: int
    hidden: bool = Field(description="below the minimum group size: nothing but the count")
    questions: list[dict] | None
    enps: EnpsOut | None


class EnpsRowOut(EnpsOut):
    survey_id: int
    survey_title: str
    team_id: int
    team_name: str
    period: str
    min_group_size: int
