from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

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


# Request bodies: unknown fields are an error, not silently dropped.
STRICT = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Strict(BaseModel):
    model_config = STRICT
