from datetime import datetime

from pydantic import Field

from api.schemas.common import Id, LatLon, PatchIn, Strict, Text
from api.schemas.csv_rows import CsvRow
from sfa.customers.models import Customer, LocationStatus
from sfa.geo import lat_lon


class CustomerFields(Strict):
    name: Text | None = Field(None, min_length=1, max_length=200)
    address: Text | None = Field(None, max_length=500)
    customer_class: Text | None = Field(None, min_length=1, max_length=40)
    phone: Text | None = Field(None, max_length=40)
    email: Text | None = Field(None, max_length=254)
    language: Text | None = Field(None, pattern=r"^[a-z]{2}$")
    location: LatLon | None = None
    verify_radius_m: float | None = Field(None, gt=0, le=10_000, allow_inf_nan=False)
    is_distributor: bool | None = None
    distributor_id: Id | None = None
    team_id: Id | None = None
    external_id: Text | None = Field(None, max_length=80)


class CustomerCreate(CustomerFields):
    code: Text = Field(min_length=1, max_length=40)
    name: Text = Field(min_length=1, max_length=200)


class CustomerUpdate(CustomerFields, PatchIn):
    nullable = frozenset(
        {
            "address",
            "phone",
            "email",
            "language",
            "location",
            "verify_radius_m",
            "distributor_id",
            "team_id",
            "external_id",
        }
    )

    code: Text | None = Field(None, min_length=1, max_length=40)


class CustomerOut(CsvRow):
    id: int
    code: str
    name: str
    address: str | None
    customer_class: str
    phone: str | None
    email: str | None
    language: str | None
    location: LatLon | None
    location_status: LocationStatus
    verify_radius_m: float | None
    is_distributor: bool
    distributor_id: int | None
    team_id: int | None
    external_id: str | None
    created_at: datetime
    updated_at: datetime
    distance_m: float | None = None

    @classmethod
    def of(cls, customer: Customer, distance_m: float | None = None) -> "CustomerOut":
        point = lat_lon(customer.location)
        return cls(
            id=customer.id,
            code=customer.code,
            name=customer.name,
            address=customer.address,
            customer_class=customer.customer_class,
            phone=customer.phone,
            email=customer.email,
            language=customer.language,
            location=LatLon(lat=point[0], lon=point[1]) if point else None,
            location_status=customer.location_status,
            verify_radius_m=customer.verify_radius_m,
            is_distributor=customer.is_distributor,
            distributor_id=customer.distributor_id,
            team_id=customer.team_id,
            external_id=customer.external_id,
            created_at=customer.created_at,
            updated_at=customer.updated_at,
            distance_m=round(distance_m, 2) if distance_m is not None else None,
        )

    def geojson_feature(self) -> dict:
        properties = self.model_dump(mode="json", exclude={"location"})
        geometry = (
            {"type": "Point", "coordinates": [self.location.lon, self.location.lat]}
            if self.location
            else None
        )
        return {"type": "Feature", "id": self.id, "geometry": geometry, "properties": properties}
