"""Tax identities and the Coretax e-Faktur export (admin, or a key with the scopes)."""

from typing import Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import Id, PageOut, Strict, Text
from sfa.limits import INT64_MAX
from sfa.tax import service

router = APIRouter(prefix="/v1", tags=["tax invoices"])


class TaxIdentityIn(Strict):
    id_type: Literal["npwp", "nik"]
    number: Text = Field(max_length=30, description="16 digits; dots and dashes are ignored")
    tku: Text | None = Field(None, max_length=10, description="6 digits, 000000 = head office")
    tax_name: Text | None = Field(None, max_length=200)
    tax_address: Text | None = Field(None, max_length=500)
    email: Text | None = Field(None, max_length=254)


class TaxIdentityOut(BaseModel):
    customer_id: int
    id_type: str
    number: str
    tku: str
    tax_name: str
    tax_address: str
    email: str | None


class TaxCodeIn(Strict):
    opt: Literal["A", "B"] = "A"
    goods_code: Text = Field(max_length=6)
    unit_code: Text = Field(max_length=10)


class TaxCodeOut(BaseModel):
    product_id: int
    opt: str
    goods_code: str
    unit_code: str


class TaxInvoiceOut(BaseModel):
    invoice_id: int
    number: str | None
    invoice_date: str | None
    order_id: int | None
    exportable: bool
    reasons: list[str]


@router.put(
    "/customers/{customer_id}/tax-identity",
    response_model=TaxIdentityOut,
    summary="Set a customer's NPWP or NIK and TKU",
)
def put_identity(
    session: SessionDep, principal: PrincipalDep, customer_id: Id, body: TaxIdentityIn
):
    found = service.set_customer_identity(
        session, principal=principal, customer_id=customer_id, data=body.model_dump()
    )
    return TaxIdentityOut.model_validate(found, from_attributes=True)


@router.get(
    "/customers/{customer_id}/tax-identity",
    response_model=TaxIdentityOut,
    summary="A customer's tax identity",
)
def get_identity(session: SessionDep, principal: PrincipalDep, customer_id: Id):
    found = service.get_customer_identity(session, principal=principal, customer_id=customer_id)
    return TaxIdentityOut.model_validate(found, from_attributes=True)


@router.put(
    "/products/{product_id}/tax-code",
    response_model=TaxCodeOut,
    summary="Set a product's Coretax goods and unit codes",
)
def put_code(session: SessionDep, principal: PrincipalDep, product_id: Id, body: TaxCodeIn):
    found = service.set_product_code(
        session, principal=principal, product_id=product_id, data=body.model_dump()
    )
    return TaxCodeOut.model_validate(found, from_attributes=True)


def _listed(c: service.Candidate) -> TaxInvoiceOut:
    return TaxInvoiceOut(
        invoice_id=c.invoice.id,
        number=c.invoice.number,
        invoice_date=c.invoice.invoice_date.isoformat() if c.invoice.invoice_date else None,
        order_id=c.invoice.order_id,
        exportable=c.tax_invoice is not None,
        reasons=c.reasons,
    )


@router.get(
    "/tax-invoices",
    response_model=PageOut[TaxInvoiceOut],
    summary="Invoices of a month (or one) and whether each can be exported",
)
def list_tax_invoices(
    session: SessionDep,
    principal: PrincipalDep,
    period: Text | None = Query(None, description="YYYY-MM"),
    invoice_id: Id | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    page = service.candidates_page(
        session,
        principal=principal,
        period=period,
        invoice_id=invoice_id,
        limit=limit,
        offset=offset,
    )
    return PageOut.of(page, _listed)


@router.get(
    "/tax-invoices/export",
    summary="The Coretax TaxInvoiceBulk XML of a month's invoices (or of one, for van sales)",
    description="Invoices that cannot be exported are left out and counted in "
    "`X-Skipped-Invoices` (their reasons: `GET /v1/tax-invoices`); none exportable: 422.",
    responses={200: {"content": {"application/xml": {}}}},
)
def export(
    session: SessionDep,
    principal: PrincipalDep,
    period: Text | None = Query(None, description="YYYY-MM"),
    invoice_id: Id | None = None,
):
    xml, skipped = service.export(
        session, principal=principal, period=period, invoice_id=invoice_id
    )
    name = f"coretax-{period or f'invoice-{invoice_id}'}.xml"
    return Response(
        xml,
        media_type="application/xml",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Skipped-Invoices": str(len(skipped)),
        },
    )
