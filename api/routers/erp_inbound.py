"""Inbound ERP data for ERPs that push instead of being pulled (API key scope `erp:write`).

Each endpoint takes a JSON array (up to 1,000 items) and upserts by the ERP's external id:
sending the same items again changes nothing. Every item is validated on its own; valid
items are stored even when others are rejected, and each rejected item is reported with
its index and reason, as `POST /v1/pings` does.
"""

import datetime as dt
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field, ValidationError

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Strict
from api.schemas.tracking import RejectedOut
from sfa.erp import upserts
from sfa.erp.connector import ErpCustomer, ErpInvoice, ErpPayment, ErpProduct, ErpTax
from sfa.errors import InvalidInput

router = APIRouter(prefix="/v1/erp", tags=["ERP inbound"])

MAX_ITEMS = 1000
ExternalId = Field(min_length=1, max_length=80)
Money = Field(max_digits=18, decimal_places=2)


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
    list_price: Decimal | None = Field(None, ge=0, max_digits=18, decimal_places=2)
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
    price: Decimal = Field(ge=0, max_digits=18, decimal_places=2)
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


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())


def _upsert(
    session, principal, payload: Any, schema: type[ErpItemIn], apply: Callable[..., upserts.Applied]
) -> UpsertOut:
    principal.require("erp:write")
    if not isinstance(payload, list):
        raise InvalidInput(
            "the body must be a JSON array of items",
            hint=f"send up to {MAX_ITEMS} items per request",
        )
    if len(payload) > MAX_ITEMS:
        raise InvalidInput(
            f"{len(payload)} items in one request; at most {MAX_ITEMS}",
            hint="split the list into several requests",
        )
    valid, positions, rejected = [], [], []
    for index, item in enumerate(payload):
        try:
            valid.append(schema.model_validate(item).to_domain())
            positions.append(index)
        except ValidationError as exc:
            rejected.append((index, _problem(exc)))
        except (TypeError, ValueError) as exc:
            rejected.append((index, str(exc)))
    applied = apply(session, valid)
    rejected.extend((positions[i], reason) for i, reason in applied.rejected)
    return UpsertOut(
        upserted=applied.upserted,
        rejected=[RejectedOut(index=i, reason=r) for i, r in sorted(rejected)],
    )


_DOC = " Body: a JSON array of up to 1,000 items; needs the `erp:write` scope."


@router.post(
    "/products",
    response_model=UpsertOut,
    summary="Upsert products by external id",
    description="Products and list prices." + _DOC,
)
def post_products(session: SessionDep, principal: PrincipalDep, payload: Any = Body(...)):
    return _upsert(session, principal, payload, ProductIn, upserts.apply_products)


@router.post(
    "/prices",
    response_model=UpsertOut,
    summary="Upsert customer-specific prices",
    description="Keyed on (customer external id, product external id); the customer "
    "and the product must have been sent before." + _DOC,
)
def post_prices(session: SessionDep, principal: PrincipalDep, payload: Any = Body(...)):
    return _upsert(session, principal, payload, PriceIn, upserts.apply_prices)


@router.post(
    "/customers",
    response_model=UpsertOut,
    summary="Upsert customers by external id",
    description="Known customers get name, phone, email and address updated; "
    "unknown ones are created with a generated code and no territory (an admin "
    "assigns the team)." + _DOC,
)
def post_customers(session: SessionDep, principal: PrincipalDep, payload: Any = Body(...)):
    return _upsert(session, principal, payload, CustomerIn, upserts.apply_customers)


@router.post(
    "/invoices",
    response_model=UpsertOut,
    summary="Upsert invoices by external id",
    description="Linked to our orders by sale reference (`SFA-<order id>`); a posted "
    "invoice moves its order to `invoiced`, a paid one to `paid`." + _DOC,
)
def post_invoices(session: SessionDep, principal: PrincipalDep, payload: Any = Body(...)):
    return _upsert(session, principal, payload, InvoiceIn, upserts.apply_invoices)


@router.post(
    "/payments",
    response_model=UpsertOut,
    summary="Upsert payments by external id",
    description="Each payment names its invoice's external id; the invoice must "
    "have been sent before." + _DOC,
)
def post_payments(session: SessionDep, principal: PrincipalDep, payload: Any = Body(...)):
    return _upsert(
        session,
        principal,
        payload,
        PaymentIn,
        lambda s, items: upserts.apply_payments(s, items, require_invoice=True),
    )
