from datetime import date, datetime
from typing import Annotated, Required

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic validates only this one before 3.12

from api.schemas.common import MOBILE, EventTime, Id, Latitude, Longitude, Strict, Text
from api.schemas.visits import VisitOut


class PingIn(TypedDict, total=False):
    """One ping of POST /v1/pings, validated into a plain dict: ingest reads it as its
    `PingRecord` (same keys) without building a model per ping (sfa.tracking.ingest).
    Absent optional keys stay absent; an accuracy of 0 means unknown (ingest)."""

    __pydantic_config__ = MOBILE  # type: ignore[misc]

    at: Required[EventTime]
    lat: Required[Latitude]
    lon: Required[Longitude]
    accuracy_m: Annotated[float | None, Field(ge=0, allow_inf_nan=False)]
    speed_mps: Annotated[float | None, Field(ge=0, le=400, allow_inf_nan=False)]
    bearing: Annotated[float | None, Field(ge=0, le=360, allow_inf_nan=False)]
    altitude_m: Annotated[float | None, Field(ge=-500, le=10_000, allow_inf_nan=False)]
    battery_pct: Annotated[float | None, Field(ge=0, le=100, allow_inf_nan=False)]
    mock: bool
    device_id: Annotated[Text | None, Field(max_length=120)]


class RejectedOut(BaseModel):
    index: int
    reason: str


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


class DeviceIn(Strict):
    id: str = Field(
        min_length=4,
        max_length=120,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="the identifier the tracker app sends as id/deviceid",
    )
    rep_id: Id
    label: Text | None = Field(None, max_length=120)


class DeviceOut(BaseModel):
    model_config = {"from_attributes": True}
    id: str
    rep_id: int
    label: str | None
    created_at: datetime


class GapOut(BaseModel):
    start: datetime
    end: datetime
    minutes: float


class StopOut(BaseModel):
    start: datetime
    end: datetime
    minutes: float
    lat: float
    lon: float
    n_pings: int
    spans_gap: bool
    gap_minutes: float
    customer_id: int | None
    distance_to_customer_m: float | None
    visit_id: int | None
    unlogged_visit: bool = Field(description="near a customer, but no check-in")


class TripOut(BaseModel):
    start: datetime
    end: datetime
    distance_m: float


class DayOut(BaseModel):
    rep_id: int
    day: date
    distance_m: float
    coverage: float = Field(description="share of the working day with GPS data, 0..1")
    pings: int
    accepted_pings: int
    rejected_pings: dict[str, int]
    first_at: datetime | None
    last_at: datetime | None
    gaps: list[GapOut]
    stops: list[StopOut]
    trips: list[TripOut]
    visits: list[VisitOut]
    track: dict = Field(description="GeoJSON LineString of the accepted pings")
