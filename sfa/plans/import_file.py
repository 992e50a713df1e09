"""The file of a plans import (sfa/plans/imports.py): CSV with a header line, or a JSON
array of objects; one row per journey plan or planned visit, checked on its own."""

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from sfa.errors import InvalidInput

MAX_ROWS = 50_000
KINDS = ("journey_plan", "planned_visit")
COLUMNS = (
    "kind",
    "rep",
    "customer",
    "weekday",
    "every_n_weeks",
    "anchor_week",
    "valid_from",
    "valid_to",
    "day",
)


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    kind: Literal["journey_plan", "planned_visit"]
    rep: str = Field(min_length=1, max_length=80, description="the rep's username")
    customer: str = Field(min_length=1, max_length=40, description="the customer's code")


class JourneyPlanRow(_Row):
    kind: Literal["journey_plan"]
    weekday: int = Field(ge=1, le=7)
    every_n_weeks: int = Field(1, ge=1, le=52)
    anchor_week: date | None = None  # default: the Monday of valid_from's week
    valid_from: date
    valid_to: date | None = None


class PlannedVisitRow(_Row):
    kind: Literal["planned_visit"]
    day: date


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class _AnyRow(BaseModel):
    """What a row must at least say to be routed to its kind."""

    model_config = ConfigDict(extra="allow")
    kind: str

    @field_validator("kind")
    @classmethod
    def _known(cls, value: str) -> str:
        if value.strip() not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, got {value!r}")
        return value.strip()


@dataclass(frozen=True)
class RawRow:
    index: int  # 0-based position among the data rows (JSON: the array index)
    line: int | None  # the CSV line (the header is line 1); None for JSON
    fields: dict[str, Any]


# --- reading the file -------------------------------------------------------------------


def read_rows(data: bytes, fmt: Literal["csv", "json"]) -> list[RawRow]:
    """The data rows of a CSV file (with a header line) or a JSON array of objects."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the file is not UTF-8 text", hint="save it as UTF-8") from exc
    rows = _csv_rows(text) if fmt == "csv" else _json_rows(text)
    if not rows:
        raise InvalidInput("the file has no rows", hint=f"columns: {', '.join(COLUMNS)}")
    if len(rows) > MAX_ROWS:
        raise InvalidInput(
            f"{len(rows):,} rows in one file; at most {MAX_ROWS:,}",
            hint="split the file into several imports",
        )
    return rows


def _csv_rows(text: str) -> list[RawRow]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = sorted(set(header) - set(COLUMNS))
    if "kind" not in header or unknown:
        raise InvalidInput(
            "the CSV header must name the columns: "
            + (f"unknown {', '.join(unknown)}" if unknown else "kind is missing"),
            hint=f"columns: {', '.join(COLUMNS)}",
        )
    reader.fieldnames = header
    rows = []
    for index, record in enumerate(reader):
        fields = {k: _blank_to_none(v) for k, v in record.items() if k is not None}
        if None in record:
            fields["_extra"] = record[None]  # more cells than columns: rejected below
        rows.append(RawRow(index, reader.line_num, fields))
    return rows


def _json_rows(text: str) -> list[RawRow]:
    try:
        payload = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"the file is not valid JSON: {exc}") from exc
    if not isinstance(payload, list):
        raise InvalidInput("the JSON must be an array of rows", hint='[{"kind": ...}, ...]')
    return [
        RawRow(i, None, item if isinstance(item, dict) else {"_not_an_object": item})
        for i, item in enumerate(payload)
    ]


# --- checking rows ---------------------------------------------------------------------


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'row'}: {e['msg']}" for e in exc.errors())


def parse_row(raw: RawRow) -> JourneyPlanRow | PlannedVisitRow:
    if "_not_an_object" in raw.fields:
        raise InvalidInput("the row is not an object")
    if "_extra" in raw.fields:
        raise InvalidInput("the row has more cells than the header has columns")
    fields = {k: v for k, v in raw.fields.items() if v is not None}
    try:
        kind = _AnyRow.model_validate(fields).kind
        model = JourneyPlanRow if kind == "journey_plan" else PlannedVisitRow
        return model.model_validate(fields | {"kind": kind})
    except ValidationError as exc:
        raise InvalidInput(_problem(exc)) from None
