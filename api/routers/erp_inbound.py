"""Inbound ERP data for ERPs that push instead of being pulled (API key scope `erp:write`).

Each endpoint takes a JSON array (up to 1,000 items) and upserts by the ERP's external id:
sending the same items again changes nothing. Every item is validated on its own; valid
items are stored even when others are rejected, and each rejected item is reported with
its index and reason, as `POST /v1/pings` does.
"""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Body
from pydantic import ValidationError

from api.deps import PrincipalDep, SessionDep
from api.schemas.erp import (
    CustomerIn,
    ErpItemIn,
    InvoiceIn,
    PaymentIn,
    PriceIn,
    ProductIn,
    UpsertOut,
)
from api.schemas.tracking import RejectedOut
from sfa.erp import upserts
from sfa.errors import InvalidInput

# Up to MAX_ITEMS master-data records of ~1-2 KB each per request.
router = APIRouter(prefix="/v1/erp", tags=["ERP inbound"], max_body_size=4 * 1024 * 1024)

MAX_ITEMS = 1000


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
    description="Known customers get name, phone, email, address (and language) "
    "updated; unknown ones are created with a generated code, the team of the nearest "
    "customer when `latitude`/`longitude` are given, else none (the unassigned queue, "
    "`GET /v1/customers?unassigned=true`), and the given or the company's language." + _DOC,
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
