"""What an ERP that pushes sends to /v1/erp/*: one model per kind of item, each turned
into the domain's type with `to_domain()`, and the answer of an upsert."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, Field

from api.schemas.common import Instant, Strict, Text
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
    external_id: Text = ExternalId
    name: Text = Field(max_length=200)
    type: Literal["percentage", "fixed"]
    rate: Decimal | None = Field(None, ge=0, le=1, description="0.11 = 11 %")
    amount: Decimal | None = None


class ProductIn(ErpItemIn):
    external_id: Text = ExternalId
    code: Text | None = Field(None, max_length=80)
    name: Text = Field(min_length=1, max_length=300)
    unit: Text = Field(min_length=1, max_length=20)
    unit_digits: int | None = Field(
        None, ge=0, le=4, description="decimals a quantity in this unit may have (0: whole)"
    )
    unit_rounding: Decimal | None = Field(
        None, gt=0, max_digits=18, decimal_places=4, description="quantities are multiples of it"
    )
    list_price: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=PRICE_DECIMALS)
    currency: Text | None = Field(None, pattern=r"^[A-Z]{3}$")
    taxes: list[TaxIn] = []
    salable: bool = True
    active: bool = True
    type: Text | None = None
    updated_at: Instant | None = None

    def to_domain(self) -> ErpProduct:
        data = self.model_dump()
        data["taxes"] = tuple(ErpTax(**t) for t in data["taxes"])
        return ErpProduct(**data)


class PriceIn(ErpItemIn):
    customer_external_id: Text = ExternalId
    product_external_id: Text = ExternalId
    price: Decimal = Field(ge=0, max_digits=18, decimal_places=PRICE_DECIMALS)
    currency: Text | None = Field(None, pattern=r"^[A-Z]{3}$")

    def to_domain(self) -> upserts.PriceItem:
        return upserts.PriceItem(**self.model_dump())


class CustomerIn(ErpItemIn):
    external_id: Text = ExternalId
    code: Text | None = Field(None, max_length=40)
    name: Text = Field(min_length=1, max_length=200)
    active: bool = True
    tax_identifier: Text | None = None
    street: Text | None = Field(None, max_length=300)
    postal_code: Text | None = Field(None, max_length=20)
    city: Text | None = Field(None, max_length=100)
    subdivision: Text | None = Field(None, max_length=100)
    country: Text | None = Field(None, pattern=r"^[A-Z]{2}$")
    phone: Text | None = Field(None, max_length=40)
    mobile: Text | None = Field(None, max_length=40)
    email: Text | None = Field(None, max_length=254)
    payment_term: Text | None = None
    updated_at: Instant | None = None
    language: Text | None = Field(None, pattern=r"^[a-z]{2}$", description="ISO 639-1")
    latitude: float | None = Field(None, ge=-90, le=90, allow_inf_nan=False)
    longitude: float | None = Field(None, ge=-180, le=180, allow_inf_nan=False)

    def to_domain(self) -> ErpCustomer:
        return ErpCustomer(**self.model_dump())


class InvoiceIn(ErpItemIn):
    external_id: Text = ExternalId
    number: Text | None = Field(None, max_length=80)
    state: Literal["draft", "validated", "posted", "paid", "cancelled"]
    customer_external_id: Text = ExternalId
    sale_references: list[str] = Field(
        [], description="the sale references we sent: SFA-<order id>"
    )
    currency: Text | None = Field(None, pattern=r"^[A-Z]{3}$")
    invoice_date: dt.date | None = None
    due_date: dt.date | None = None
    untaxed_amount: Decimal = Field(Decimal(0), max_digits=18, decimal_places=2)
    tax_amount: Decimal = Field(Decimal(0), max_digits=18, decimal_places=2)
    total_amount: Decimal = Field(max_digits=18, decimal_places=2)
    amount_to_pay: Decimal = Field(max_digits=18, decimal_places=2)
    updated_at: Instant | None = None

    def to_domain(self) -> ErpInvoice:
        data = self.model_dump()
        data["sale_references"] = tuple(data["sale_references"])
        return ErpInvoice(paid=self.state == "paid", **data)


class PaymentIn(ErpItemIn):
    external_id: Text = ExternalId
    invoice_external_id: Text = ExternalId
    customer_external_id: Text | None = None
    amount: Decimal = Field(max_digits=18, decimal_places=2)
    currency: Text | None = Field(None, pattern=r"^[A-Z]{3}$")
    date: dt.date | None = None
    method: Text | None = Field(None, max_length=80)
    description: Text | None = None
    updated_at: Instant | None = None

    def to_domain(self) -> ErpPayment:
        return ErpPayment(**self.model_dump())


class UpsertOut(BaseModel):
    upserted: int
    rejected: list[RejectedOut]
