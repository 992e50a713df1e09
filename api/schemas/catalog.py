from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, PlainSerializer

from api.schemas.common import PageOut
from api.schemas.csv_rows import CsvRow
from sfa.catalog.models import Product
from sfa.catalog.service import EffectivePrice


def price_text(value: Decimal) -> str:
    """A unit price as the ERP keeps it: every significant decimal (prices are stored with
    six), and at least two, as amounts are written: 25000 → "25000.00", 3100.1250 →
    "3100.125"."""
    whole, _, decimals = f"{value:f}".partition(".")
    return f"{whole}.{decimals.rstrip('0').ljust(2, '0')}"


# A unit price in answers (JSON and CSV): see price_text.
PriceValue = Annotated[Decimal, PlainSerializer(price_text, return_type=str, when_used="json")]
# A quantity step of a unit: 1, 0.01 (not 1.000000).
UnitStep = Annotated[
    Decimal, PlainSerializer(lambda v: f"{v.normalize():f}", return_type=str, when_used="json")
]


class ProductOut(CsvRow):
    id: int
    external_id: str
    code: str | None
    name: str
    unit: str
    unit_digits: int | None = Field(
        description="decimals a quantity in this unit may have (0: whole units; null: unknown)"
    )
    unit_rounding: UnitStep | None = Field(description="quantities are multiples of it")
    list_price: PriceValue | None
    currency: str | None
    taxes: list
    salable: bool
    active: bool
    updated_at: datetime

    @classmethod
    def of(cls, p: Product) -> "ProductOut":
        return cls(
            id=p.id,
            external_id=p.external_id,
            code=p.code,
            name=p.name,
            unit=p.unit,
            unit_digits=p.unit_digits,
            unit_rounding=p.unit_rounding,
            list_price=p.list_price,
            currency=p.currency,
            taxes=p.taxes or [],
            salable=p.salable,
            active=p.active,
            updated_at=p.updated_at,
        )


class PriceOut(CsvRow):
    product_id: int
    code: str | None
    name: str
    unit: str
    unit_digits: int | None
    active: bool
    salable: bool
    price: PriceValue | None  # None: the product has no price and cannot be ordered
    currency: str | None
    source: str | None  # "customer" (customer-specific price) or "list"

    @classmethod
    def of(
        cls, product: Product, price: EffectivePrice | None, default_currency: str
    ) -> "PriceOut":
        return cls(
            product_id=product.id,
            code=product.code,
            name=product.name,
            unit=product.unit,
            unit_digits=product.unit_digits,
            active=product.active,
            salable=product.salable,
            price=price.price if price else None,
            currency=(price.currency or default_currency) if price else None,
            source=price.source if price else None,
        )


class CustomerPricesOut(PageOut[PriceOut]):
    customer_id: int
