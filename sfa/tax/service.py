"""Tax identities and the Coretax export of invoiced orders.

An invoice is exportable when it is linked to one of our orders, its customer has a tax
identity, every product has its Coretax codes, and quantities have at most two decimals
(Coretax's limit). Any other invoice is listed with its reasons and left out of the file:
the tax office never receives a broken one. Van sales: an invoice the ERP records at the
point of sale is exportable on its own at once (`invoice_id`), without waiting for the
month.
"""

import calendar
import re
from dataclasses import dataclass, field, replace
from datetime import date

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.erp.models import Invoice
from sfa.errors import InvalidInput, NotFound
from sfa.orders.models import Order, OrderLine
from sfa.pagination import Page, paginate
from sfa.tax import coretax, identity
from sfa.tax.models import CustomerTaxIdentity, ProductTaxCode

_PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def set_customer_identity(
    session: Session, *, principal: Principal, customer_id: int, data: dict
) -> CustomerTaxIdentity:
    principal.require("tax_invoices:write")
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise NotFound(f"customer {customer_id} does not exist")
    id_type = data["id_type"]
    number = identity.npwp(data["number"]) if id_type == "npwp" else identity.nik(data["number"])
    values = {
        "id_type": id_type,
        "number": number,
        "tku": identity.tku(data.get("tku") or "000000"),
        "tax_name": (data.get("tax_name") or customer.name).strip(),
        "tax_address": (data.get("tax_address") or customer.address or "").strip(),
        "email": data.get("email") or customer.email,
    }
    if not values["tax_address"]:
        raise InvalidInput("tax_address is needed: the customer has no address either")
    stmt = insert(CustomerTaxIdentity).values(customer_id=customer_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["customer_id"], set_=values))
    audit_service.record(
        session,
        actor=principal.actor,
        entity="customer_tax_identity",
        entity_id=customer_id,
        action="set",
        new=values,
    )
    session.flush()
    return session.get_one(CustomerTaxIdentity, customer_id, populate_existing=True)


def get_customer_identity(
    session: Session, *, principal: Principal, customer_id: int
) -> CustomerTaxIdentity:
    principal.require("tax_invoices:read")
    found = session.get(CustomerTaxIdentity, customer_id)
    if found is None:
        raise NotFound(f"customer {customer_id} has no tax identity", hint="PUT one first")
    return found


def set_product_code(
    session: Session, *, principal: Principal, product_id: int, data: dict
) -> ProductTaxCode:
    principal.require("tax_invoices:write")
    if session.get(Product, product_id) is None:
        raise NotFound(f"product {product_id} does not exist")
    values = {
        "opt": data.get("opt") or "A",
        "goods_code": identity.goods_code(data["goods_code"]),
        "unit_code": identity.unit_code(data["unit_code"]),
    }
    if values["opt"] not in ("A", "B"):
        raise InvalidInput("opt is A (goods) or B (services)")
    stmt = insert(ProductTaxCode).values(product_id=product_id, **values)
    session.execute(stmt.on_conflict_do_update(index_elements=["product_id"], set_=values))
    session.flush()
    return session.get_one(ProductTaxCode, product_id, populate_existing=True)


@dataclass
class Candidate:
    invoice: Invoice
    reasons: list[str] = field(default_factory=list)
    tax_invoice: coretax.TaxInvoice | None = None


def period_bounds(period: str) -> tuple[date, date]:
    m = _PERIOD.match(period or "")
    if not m:
        raise InvalidInput(f"period {period!r} is not a month as YYYY-MM, e.g. 2026-11")
    year, month = int(m[1]), int(m[2])
    return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])


def _invoices(*, period: str | None, invoice_id: int | None) -> Select[Invoice]:
    stmt = select(Invoice).order_by(Invoice.invoice_date, Invoice.id)
    if invoice_id is not None:
        return stmt.where(Invoice.id == invoice_id)
    if period is None:
        raise InvalidInput("give a period (YYYY-MM) or an invoice_id")
    start, end = period_bounds(period)
    return stmt.where(Invoice.invoice_date >= start, Invoice.invoice_date <= end)


def candidates(
    session: Session,
    *,
    principal: Principal,
    period: str | None = None,
    invoice_id: int | None = None,
) -> list[Candidate]:
    """Every invoice of the month (or the one), each with what keeps it from Coretax."""
    principal.require("tax_invoices:read")
    invoices = list(session.scalars(_invoices(period=period, invoice_id=invoice_id)))
    if invoice_id is not None and not invoices:
        raise NotFound(f"invoice {invoice_id} does not exist")
    return [_candidate(session, invoice) for invoice in invoices]


def candidates_page(
    session: Session,
    *,
    principal: Principal,
    period: str | None = None,
    invoice_id: int | None = None,
    limit: int = 100,
    offset: int = 0,
) -> Page[Candidate]:
    """One page of `candidates` (the listing; the export takes the whole month)."""
    principal.require("tax_invoices:read")
    stmt = _invoices(period=period, invoice_id=invoice_id)
    page = paginate(session, stmt, limit=limit, offset=offset)
    if invoice_id is not None and not page.total:
        raise NotFound(f"invoice {invoice_id} does not exist")
    return replace(page, items=[_candidate(session, invoice) for invoice in page.items])


def _candidate(session: Session, invoice: Invoice) -> Candidate:
    found = Candidate(invoice)
    reasons = found.reasons
    if invoice.state in ("cancelled", "draft"):
        reasons.append(f"the invoice is {invoice.state}")
    if invoice.invoice_date is None:
        reasons.append("the invoice has no date")
    if invoice.currency not in (None, "IDR"):
        reasons.append(f"the invoice is in {invoice.currency}; Coretax takes IDR")
    order = session.get(Order, invoice.order_id) if invoice.order_id else None
    if order is None:
        reasons.append("the invoice is not linked to an order of ours (no lines to declare)")
        return found
    tax_id = session.get(CustomerTaxIdentity, order.customer_id)
    if tax_id is None:
        reasons.append(f"customer {order.customer_id} has no NPWP or NIK (PUT its tax identity)")
    lines = list(
        session.scalars(
            select(OrderLine).where(OrderLine.order_id == order.id).order_by(OrderLine.line_no)
        )
    )
    tax_lines = []
    for line in lines:
        product = session.get_one(Product, line.product_id)
        code = session.get(ProductTaxCode, line.product_id)
        if code is None:
            reasons.append(
                f"product {product.code or product.id} ({product.name}) "
                "has no Coretax goods and unit code"
            )
            continue
        if line.quantity != line.quantity.quantize(coretax.CENT):
            reasons.append(
                f"line {line.line_no}: quantity {line.quantity} has more than 2 decimals"
            )
        tax_lines.append(
            coretax.Line(
                code.opt,
                code.goods_code,
                product.name,
                code.unit_code,
                line.unit_price,
                line.quantity,
                line.net_amount,
            )
        )
    if not lines:
        reasons.append("the order has no lines")
    if not reasons and tax_id is not None and invoice.invoice_date is not None:
        found.tax_invoice = coretax.TaxInvoice(
            date=invoice.invoice_date,
            reference=invoice.number or f"INV-{invoice.id}",
            buyer=coretax.Buyer(
                tax_id.id_type,
                tax_id.number,
                tax_id.tku,
                tax_id.tax_name,
                tax_id.tax_address,
                tax_id.email,
            ),
            lines=tuple(tax_lines),
        )
    return found


def seller(session: Session) -> coretax.Seller:
    settings = company_service.get_company_settings(session)
    if not settings.tax_seller_npwp:
        raise InvalidInput(
            "the company's NPWP is not set",
            hint="PATCH /v1/settings with tax_seller_npwp (16 digits) and tax_seller_tku",
        )
    return coretax.Seller(settings.tax_seller_npwp, settings.tax_seller_tku, settings.tax_trx_code)


def export(
    session: Session,
    *,
    principal: Principal,
    period: str | None = None,
    invoice_id: int | None = None,
) -> tuple[bytes, list[Candidate]]:
    """The XML of the exportable invoices, and the ones left out with their reasons."""
    found = candidates(session, principal=principal, period=period, invoice_id=invoice_id)
    ready = [c.tax_invoice for c in found if c.tax_invoice is not None]
    skipped = [c for c in found if c.tax_invoice is None]
    if not ready:
        raise InvalidInput(
            "no invoice can be exported" + (f" for {period}" if period else ""),
            hint="GET /v1/tax-invoices lists each invoice with what it lacks",
            details={
                "skipped": [{"invoice_id": c.invoice.id, "reasons": c.reasons} for c in skipped]
            },
        )
    return coretax.build(seller(session), ready), skipped
