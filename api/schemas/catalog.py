from datetime import datetime
from decimal import Decimal

from api.schemas.common import PageOut
from api.schemas.csv_rows import CsvRow
from sfa.catalog.models import Product
from sfa.catalog.service import EffectivePrice


class ProductOut(CsvRow):
    id: int
    external_id: str
    code: str | None
    name: str
    unit: str
    list_price: Decimal | None
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
    active: bool
    salable: bool
    price: Decimal | None  # None: the product has no price and cannot be ordered
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
            active=product.active,
            salable=product.salable,
            price=price.price if price else None,
            currency=(price.currency or default_currency) if price else None,
            source=price.source if price else None,
        )


class CustomerPricesOut(PageOut[PriceOut]):
    customer_id: int
