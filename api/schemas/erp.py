"""What an ERP that pushes sends to /v1/erp/*: one model per kind of item, each turned
into the domain's type with `to_domain()`, and the answer of an upsert."""

import datetime as dt
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Strict
from api.schemas.tracking import RejectedOut
from sfa.erp import upserts
from sfa.erp.connector import ErpCustomer, ErpInvoice, ErpPayment, ErpProduct, ErpTax

ExternalId = Field(min_length=1, max_length=80)
Money = Field(max_digits=18, decimal_places=2)
# Unit prices keep the ERP's precision, up to sfa.db.Price's 6 decimals.
PRICE_DECIMALS = 6


class ErpItemIn(Strict):
    """An item an ERP pushes: validated on its own, then turned into the domain's type."""

    def to_domain(self) -> Any:
        raise NotImplementedError


class TaxIn(Strict):
    external_id: str = ExternalId
    name: str = Field(max_length=200)
    type: Literal["percentage", "fixed"]
    rate: Decimal | None = Field(None, ge=0, le=1, description="0.11 = 11 %")
    amount: Decimal | None = None


class ProductIn(ErpItemIn):
    external_id: str = ExternalId
    code: str | None = Field(None, max_length=80)
    name: str = Field(min_length=1, max_length=300)
    unit: str = Field(min_length=1, max_length=20)
    unit_digits: int | None = Field(
        None, ge=0, le=4, description="decimals a quantity in this unit may have (0: whole)"
    )
    unit_rounding: Decimal | None = Field(
        None, gt=0, max_digits=18, decimal_places=4, description="quantities are multiples of it"
    )
    list_price: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=PRICE_DECIMALS)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    taxes: list[TaxIn] = []
    salable: bool = True
    active: bool = True
    type: str | None = None
    updated_at: datetime | None = None

    def to_domain(self) -> ErpProduct:
        data = self.model_dump()
        data["taxes"] = tuple(ErpTax(**t) for t in data["taxes"])
        return ErpProduct(**data)


class PriceIn(ErpItemIn):
    customer_external_id: str = ExternalId
    product_external_id: str = ExternalId
    price: Decimal = Field(ge=0, max_digits=18, decimal_places=PRICE_DECIMALS)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")

    def to_domain(self) -> upserts.PriceItem:
        return upserts.PriceItem(**self.model_dump())


class CustomerIn(ErpItemIn):
    external_id: str = ExternalId
    code: str | None = Field(None, max_length=40)
    name: str = Field(min_length=1, max_length=200)
    active: bool = True
    tax_identifier: str | None = None
    street: str | None = Field(None, max_length=300)
    postal_code: str | None = Field(None, max_length=20)
    city: str | None = Field(None, max_length=100)
    subdivision: str | None = Field(None, max_length=100)
    country: str | None = Field(None, pattern=r"^[A-Z]{2}$")
    phone: str | None = Field(None, max_length=40)
    mobile: str | None = Field(None, max_length=40)
    email: str | None = Field(None, max_length=254)
    payment_term: str | None = None
    updated_at: datetime | None = None
    language: str | None = Field(None, pattern=r"^[a-z]{2}$", description="ISO 639-1")
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)

    def to_domain(self) -> ErpCustomer:
        return ErpCustomer(**self.model_dump())


class InvoiceIn(ErpItemIn):
    external_id: str = ExternalId
    number: str | None = Field(None, max_length=80)
    state: Literal["draft", "validated", "posted", "paid", "cancelled"]
    customer_external_id: str = ExternalId
    sale_references: list[str] = Field(
        [], description="the sale references we sent: SFA-<order id>"
    )
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    invoice_date: dt.date | None = None
    due_date: dt.date | None = None
    untaxed_amount: Decimal = Field(Decimal(0), max_digits=18, decimal_places=2)
    tax_amount: Decimal = Field(Decimal(0), max_digits=18, decimal_places=2)
    total_amount: Decimal = Field(max_digits=18, decimal_places=2)
    amount_to_pay: Decimal = Field(max_digits=18, decimal_places=2)
    updated_at: datetime | None = None

    def to_domain(self) -> ErpInvoice:
        data = self.model_dump()
        data["sale_references"] = tuple(data["sale_references"])
        return ErpInvoice(paid=self.state == "paid", **data)


class PaymentIn(ErpItemIn):
    external_id: str = ExternalId
    invoice_external_id: str = ExternalId
    customer_external_id: str | None = None
    amount: Decimal = Field(max_digits=18, decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Z]{3}$")
    date: dt.date | None = None
    method: str | None = Field(None, max_length=80)
    description: str | None = None
    updated_at: datetime | None = None

    def to_domain(self) -> ErpPayment:
        return ErpPayment(**self.model_dump())


class UpsertOut(BaseModel):
    upserted: int
    rejected: list[RejectedOut]
