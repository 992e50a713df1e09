"""Shared schema types: every request field and parameter is built from these, so that
what the database cannot store or the analysis cannot compute with is refused with a
422 naming the field (docs/security.md, "Values"; tests/unit/test_schema_bounds.py walks
every route and fails on a field that does not use them)."""

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from sfa import limits
from sfa.pagination import Page

T = TypeVar("T")


class _Checked(Generic[T]):
    """An AfterValidator's function: the value, or a ValueError with what `problem` says
    is wrong with it."""

    bounds_check = True  # recognised by tests/unit/test_schema_bounds.py

    def __init__(self, problem: Callable[[T], str | None]):
        self.problem = problem

    def __call__(self, value: T) -> T:
        if (message := self.problem(value)) is not None:
            raise ValueError(message)
        return value


# Integers: ids are positive, everything fits in PostgreSQL's bigint.
Id = Annotated[int, Field(ge=1, le=limits.INT64_MAX)]
Int64 = Annotated[int, Field(ge=limits.INT64_MIN, le=limits.INT64_MAX)]
Offset = Annotated[int, Field(ge=0, le=limits.INT64_MAX)]
# Text never carries NUL (PostgreSQL cannot store it in text columns).
Text = Annotated[str, AfterValidator(_Checked(limits.text_problem))]
# Days and instants within the years the product deals with (sfa/limits.py).
Day = Annotated[date, AfterValidator(_Checked(limits.day_problem))]
Instant = Annotated[AwareDatetime, AfterValidator(_Checked(limits.instant_problem))]


class _BoundedByService:
    """Metadata: the value is bounded where it is used, per item, not by the schema."""

    bounds_check = True

    def __init__(self, why: str):
        self.why = why


# A device's time of a fix (check-in, check-out, ping): bounded per item by the event-time
# rules (future_tolerance_hours, max_backdate_days, the company's start: sfa/event_times.py),
# which report a rejected ping by its index instead of refusing the whole batch — and,
# for pings, cost one comparison per batch instead of a validator call per ping.
EventTime = Annotated[AwareDatetime, _BoundedByService("event-time bounds")]

Latitude = Annotated[float, Field(ge=-90, le=90, allow_inf_nan=False, examples=[-6.2])]
Longitude = Annotated[float, Field(ge=-180, le=180, allow_inf_nan=False, examples=[106.8])]


class LatLon(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: Latitude
    lon: Longitude


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, page: Page[Any], convert: Callable[[Any], T], **extra: Any) -> "PageOut[T]":
        """The answer for one page: each item through `convert`; `extra` fills the fields
        a subclass adds beside the page (e.g. the customer of a price list)."""
        return cls(
            items=[convert(item) for item in page.items],
            total=page.total,
            limit=page.limit,
            offset=page.offset,
            next_offset=page.next_offset,
            **extra,
        )


# Request bodies: unknown fields are an error, not silently dropped.
STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Strict(BaseModel):
    model_config = STRICT


class DateRangeIn(Strict):
    """A range of company days, both ends included."""

    date_from: Day
    date_to: Day

    @model_validator(mode="after")
    def _ordered(self):
        if self.date_to < self.date_from:
            raise ValueError(f"date_to {self.date_to} is before date_from {self.date_from}")
        return self


class PatchIn(Strict):
    """A partial update: absent fields stay as they are, and null clears a field only
    where no value is a value (`nullable`) — null for a required one is a 422, not a
    NOT NULL violation in the database."""

    nullable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _no_null_for_required(self):
        nulls = sorted(
            f for f in self.model_fields_set if getattr(self, f) is None and f not in self.nullable
        )
        if nulls:
            raise ValueError(f"{', '.join(nulls)} cannot be null; leave it out to keep it")
        return self


# The mobile app's and the tracker apps' payloads take no lax coercion: `true` is not a
# latitude, "yes" not a boolean, an integer not a time, "5" not an id. They are validated
# from the JSON bytes (api/bodies.py), where strict mode still reads ISO-8601 strings as
# datetimes and UUIDs (and an integer as a float).
MOBILE = ConfigDict(extra="forbid", str_strip_whitespace=True, strict=True)


class MobileIn(BaseModel):
    model_config = MOBILE


class ErrorBody(BaseModel):
    code: str = Field(examples=["invalid_input"])
    message: str
    hint: str | None = None
    details: Any = Field(None, description="per field problems, or numbers of the error")


class ErrorOut(BaseModel):
    """Every error: `{"error": {"code", "message", "hint"?, "details"?}}` (api/errors.py)."""

    error: ErrorBody


# Documented on every operation (api/main.py), FastAPI's own 422 schema replaced: what
# the API answers when it refuses a request.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorOut, "description": description}
    for status, description in {
        400: "the body could not be read",
        401: "not authenticated",
        403: "not allowed",
        404: "no such object, or not visible to you",
        405: "the path does not take this method",
        409: "conflicts with the stored state",
        413: "the body is larger than this endpoint accepts",
        422: "invalid input (each problem named in details)",
        429: "throttled (Retry-After)",
        503: "busy or the database unavailable (Retry-After)",
    }.items()
}
