from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sfa.pagination import Page

T = TypeVar("T")

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

    date_from: date
    date_to: date

    @model_validator(mode="after")
    def _ordered(self):
        if self.date_to < self.date_from:
            raise ValueError(f"date_to {self.date_to} is before date_from {self.date_from}")
        return self
