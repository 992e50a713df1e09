from datetime import date, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator

from api.schemas.common import Latitude, Longitude, Strict
from api.schemas.visits import VisitOut
from sfa.tracking.ingest import PingInput


class PingIn(Strict):
    at: AwareDatetime
    lat: Latitude
    lon: Longitude
    accuracy_m: float | None = Field(None, ge=0, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0, le=400, allow_inf_nan=False)
    bearing: float | None = Field(None, ge=0, le=360, allow_inf_nan=False)
    altitude_m: float | None = Field(None, ge=-500, le=10_000, allow_inf_nan=False)
    battery_pct: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)
    mock: bool = False
    device_id: str | None = Field(None, max_length=120)

    @field_validator("accuracy_m")
    @classmethod
    def _zero_accuracy_is_unknown(cls, value: float | None) -> float | None:
        # A phone reporting 0 m knows nothing; ingest stores the model as it is.
        return value or None

    def to_domain(self) -> PingInput:
        return PingInput(at=self.at, lat=self.lat, lon=self.lon,
                         accuracy_m=self.accuracy_m or None, speed_mps=self.speed_mps,
                         bearing=self.bearing, altitude_m=self.altitude_m,
                         battery_pct=self.battery_pct, mock=self.mock,
                         device_id=self.device_id)


class RejectedOut(BaseModel):
    index: int
    reason: str


class IngestOut(BaseModel):
    accepted: int
    duplicates: int
    rejected: list[RejectedOut]


class DeviceIn(Strict):
    id: str = Field(min_length=4, max_length=120, pattern=r"^[A-Za-z0-9_.:-]+$",
                    description="the identifier the tracker app sends as id/deviceid")
    rep_id: int
    label: str | None = Field(None, max_length=120)


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
