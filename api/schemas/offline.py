"""The offline sync's answer (GET /v1/me/sync, docs/sync.md)."""

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas.catalog import PriceValue, ProductOut
from api.schemas.common import LatLon
from api.schemas.notifications import InboxItemOut, ProgressOut
from api.schemas.plans import PlannedVisitOut
from sfa.catalog.models import CustomerPrice
from sfa.company.settings import CompanySettings
from sfa.customers.models import Customer, LocationStatus
from sfa.geo import lat_lon
from sfa.offline.service import SyncPage


class SyncCustomerOut(BaseModel):
    id: int
    code: str
    name: str
    address: str | None
    customer_class: str
    phone: str | None
    location: LatLon | None
    location_status: LocationStatus
    verify_radius_m: float | None = Field(description="the customer's own radius, if set")
    radius_m: float = Field(description="the radius a check-in is verified with")
    is_distributor: bool
    distributor_id: int | None
    updated_at: datetime

    @classmethod
    def of(cls, customer: Customer, settings: CompanySettings) -> "SyncCustomerOut":
        point = lat_lon(customer.location)
        return cls(
            id=customer.id,
            code=customer.code,
            name=customer.name,
            address=customer.address,
            customer_class=customer.customer_class,
            phone=customer.phone,
            location=LatLon(lat=point[0], lon=point[1]) if point else None,
            location_status=customer.location_status,
            verify_radius_m=customer.verify_radius_m,
            radius_m=customer.verify_radius_m or settings.verify_radius_m,
            is_distributor=customer.is_distributor,
            distributor_id=customer.distributor_id,
            updated_at=customer.updated_at,
        )


class SyncPriceOut(BaseModel):
    """A customer-specific price; products without one sell at their list price."""

    customer_id: int
    product_id: int
    price: PriceValue
    currency: str | None

    @classmethod
    def of(cls, price: CustomerPrice) -> "SyncPriceOut":
        return cls(
            customer_id=price.customer_id,
            product_id=price.product_id,
            price=price.price,
            currency=price.currency,
        )


class PriceKeyOut(BaseModel):
    customer_id: int
    product_id: int


class SyncDeletedOut(BaseModel):
    """What the phone removes: gone, moved out of the rep's teams, read, or past."""

    customers: list[int]
    products: list[int]
    prices: list[PriceKeyOut]
    planned_visits: list[int]
    notifications: list[int]


class AppSettingsOut(BaseModel):
    """The company settings the app applies offline (docs/rules.md)."""

    timezone: str
    currency: str
    language: str
    workday_start: str
    workday_end: str
    verify_radius_m: float
    low_accuracy_radius_m: float
    low_accuracy_threshold_m: float
    capture_max_accuracy_m: float
    max_accuracy_m: float
    future_tolerance_hours: float
    max_backdate_days: int
    clock_skew_minutes: float
    visit_min_minutes: float
    visit_max_minutes: float
    discount_auto_max_pct: float
    price_decimals: int

    @classmethod
    def of(cls, settings: CompanySettings) -> "AppSettingsOut":
        return cls.model_validate(settings.model_dump(include=set(cls.model_fields)))


class SyncOut(BaseModel):
    cursor: str = Field(description="send it back as ?cursor= for what changes next")
    has_more: bool = Field(description="true: call again at once with the new cursor")
    reset: bool = Field(
        description="true: drop everything kept offline first; this is the full set again"
    )
    customers: list[SyncCustomerOut]
    products: list[ProductOut]
    prices: list[SyncPriceOut]
    planned_visits: list[PlannedVisitOut]
    notifications: list[InboxItemOut]
    deleted: SyncDeletedOut
    targets: list[ProgressOut] = Field(description="whole, with progress: replaces the kept list")
    settings: AppSettingsOut

    @classmethod
    def of(cls, page: SyncPage) -> "SyncOut":
        settings = page.settings or CompanySettings()
        gone = page.deleted
        return cls(
            cursor=page.cursor,
            has_more=page.has_more,
            reset=page.reset,
            customers=[SyncCustomerOut.of(c, settings) for c in page.upserts["customers"]],
            products=[ProductOut.of(p) for p in page.upserts["products"]],
            prices=[SyncPriceOut.of(p) for p in page.upserts["prices"]],
            planned_visits=[PlannedVisitOut.of(v) for v in page.upserts["planned_visits"]],
            notifications=[InboxItemOut.of(n) for n in page.upserts["notifications"]],
            deleted=SyncDeletedOut(
                customers=[k[0] for k in gone["customers"]],
                products=[k[0] for k in gone["products"]],
                prices=[PriceKeyOut(customer_id=c, product_id=p) for c, p in gone["prices"]],
                planned_visits=[k[0] for k in gone["planned_visits"]],
                notifications=[k[0] for k in gone["notifications"]],
            ),
            targets=[ProgressOut.of(t) for t in page.targets],
            settings=AppSettingsOut.of(settings),
        )
