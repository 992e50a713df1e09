"""Tryton records (as ``read`` returns them) to the domain's dataclasses, and our sale
lines to Tryton values. Pure functions: the related records they need (taxes, addresses,
maturities) are fetched by the caller and passed in, so they are tested without a server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from integrations.erp.tryton.records import latest, many2one_id, related
from sfa import money
from sfa.erp.connector import (
    ErpCustomer,
    ErpInvoice,
    ErpPayment,
    ErpProduct,
    ErpSaleLine,
    ErpSaleRef,
    ErpTax,
)

Record = Mapping[str, Any]

# -- sales ---------------------------------------------------------------------


def sale_ref(record: Record) -> ErpSaleRef:
    return ErpSaleRef(
        external_id=str(record["id"]),
        reference=record.get("reference") or "",
        number=record.get("number") or None,
        state=record.get("state") or "",
        currency=related(record, "currency").get("code"),
        untaxed_amount=record.get("untaxed_amount"),
        tax_amount=record.get("tax_amount"),
        total_amount=record.get("total_amount"),
    )


def pick(sales: Sequence[ErpSaleRef]) -> ErpSaleRef:
    """The sale that stands for our order when several carry its reference:
    the oldest one that is not cancelled, else the oldest."""
    alive = [s for s in sales if s.state != "cancelled"]
    return (alive or list(sales))[0]


def sale_line(
    sequence: int,
    line: ErpSaleLine,
    *,
    product_id: int,
    unit_id: int | None,
    tax_ids: list[int],
    with_base_price: bool,
    price_decimals: int = money.DEFAULT_PRICE_DECIMALS,
) -> dict[str, Any]:
    """The ``sale.line`` values of one of our lines: our net price replaces Tryton's;
    with ``sale_discount`` activated the price before discount goes in ``base_price``.
    Prices are sent as the order has them; a price with more decimals than the ERP keeps
    (``price_decimals``) is rounded as the ERP would round it."""
    assert line.net_price is not None  # set by ErpSaleLine itself
    net = money.round_price(line.net_price, price_decimals)
    result: dict[str, Any] = {
        "sequence": sequence,
        "type": "line",
        "product": product_id,
        "quantity": float(line.quantity),
        # quantities and prices are in the catalogue unit (default UoM)
        "unit": unit_id,
        "unit_price": net,
        "taxes": [("add", tax_ids)],
    }
    if line.description:
        result["description"] = line.description
    if with_base_price:
        result["base_price"] = money.round_price(line.unit_price, price_decimals)
    return result


# -- products ------------------------------------------------------------------


def tax(record: Record) -> ErpTax:
    return ErpTax(
        external_id=str(record["id"]),
        name=record["name"] or "",
        type=record["type"] or "",
        rate=record.get("rate"),
        amount=record.get("amount"),
    )


def product(
    record: Record, *, taxes: Mapping[int | None, tuple[ErpTax, ...]], currency: str | None
) -> ErpProduct:
    """A ``product.product`` read with ``template.*`` and ``default_uom.*``; ``taxes``
    are the customer taxes per accounting category id."""
    template = related(record, "template")
    uom = related(record, "default_uom")
    rounding = uom.get("rounding")
    return ErpProduct(
        external_id=str(record["id"]),
        code=record.get("code") or None,
        name=record.get("name") or "",
        unit=uom.get("symbol") or "",
        list_price=record.get("list_price_used"),
        currency=currency,
        taxes=taxes.get(many2one_id(record.get("account_category")), ()),
        salable=bool(record.get("salable")),
        active=bool(record.get("active")) and bool(template.get("active", True)),
        type=record.get("type"),
        updated_at=latest(record.get("last_modified_at"), template.get("last_modified_at")),
        unit_digits=uom.get("digits"),
        # a Float in Tryton: its shortest repr is the value people typed (0.01, 1.0)
        unit_rounding=Decimal(repr(rounding)) if rounding is not None else None,
    )


# -- customers -----------------------------------------------------------------


def own_addresses(record: Record, addresses: Mapping[int, Record]) -> list[Record]:
    """The party's active addresses, first the one Tryton puts first (sequence, id)."""
    own = [
        addresses[a]
        for a in (record.get("addresses") or [])
        if a in addresses and addresses[a].get("active", True)
    ]
    own.sort(key=lambda a: (a.get("sequence") is None, a.get("sequence") or 0, a["id"]))
    return own


def customer(record: Record, addresses: Mapping[int, Record]) -> ErpCustomer:
    """A ``party.party``; ``addresses`` are ``party.address`` records by id."""
    own = own_addresses(record, addresses)
    first = own[0] if own else {}
    return ErpCustomer(
        external_id=str(record["id"]),
        code=record.get("code") or None,
        name=record.get("name") or "",
        active=bool(record.get("active")),
        tax_identifier=related(record, "tax_identifier").get("code"),
        street=first.get("street") or None,
        postal_code=first.get("postal_code") or None,
        city=first.get("city") or None,
        subdivision=related(first, "subdivision").get("name"),
        country=related(first, "country").get("code"),
        phone=record.get("phone") or None,
        mobile=record.get("mobile") or None,
        email=record.get("email") or None,
        payment_term=related(record, "customer_payment_term").get("name"),
        updated_at=latest(
            record.get("last_modified_at"), *(a.get("last_modified_at") for a in own)
        ),
        language=language(related(record, "lang").get("code")),
    )


def language(code: str | None) -> str | None:
    """ISO 639-1 code of a Tryton language code ("id", "en", "zh_CN" → "zh")."""
    return code.split("_")[0].lower()[:2] if code else None


# -- invoices and payments -----------------------------------------------------


def due_date(lines: Sequence[Record]):
    """The earliest maturity still open, else the earliest (all reconciled)."""
    open_dates = [
        m["maturity_date"] for m in lines if m.get("maturity_date") and not m.get("reconciliation")
    ]
    all_dates = [m["maturity_date"] for m in lines if m.get("maturity_date")]
    return min(open_dates or all_dates) if all_dates else None


def invoice(
    record: Record,
    *,
    maturities: Mapping[int, Record],
    references: Mapping[int, str | None],
) -> ErpInvoice:
    """An ``account.invoice``; ``maturities`` are its ``lines_to_pay`` by id,
    ``references`` the references of its sales by sale id."""
    lines = [maturities[i] for i in (record.get("lines_to_pay") or []) if i in maturities]
    sale_refs = tuple(
        sorted({ref for s in (record.get("sales") or []) if (ref := references.get(s))})
    )
    return ErpInvoice(
        external_id=str(record["id"]),
        number=record.get("number") or None,
        state=record.get("state") or "",
        customer_external_id=str(many2one_id(record.get("party"))),
        sale_references=sale_refs,
        currency=related(record, "currency").get("code"),
        invoice_date=record.get("invoice_date"),
        due_date=due_date(lines),
        untaxed_amount=record.get("untaxed_amount") or Decimal(0),
        tax_amount=record.get("tax_amount") or Decimal(0),
        total_amount=record.get("total_amount") or Decimal(0),
        amount_to_pay=record.get("amount_to_pay") or Decimal(0),
        paid=record.get("state") == "paid",
        updated_at=record.get("last_modified_at"),
    )


def payment(record: Record, *, company_currency: str | None) -> ErpPayment:
    """A payment line (``account.move.line`` in an invoice's payment lines): credit on
    the receivable is money received, in the second currency when there is one."""
    second = related(record, "second_currency").get("code")
    if second and record.get("amount_second_currency") is not None:
        amount = -record["amount_second_currency"]
        code = second
    else:
        amount = (record.get("credit") or Decimal(0)) - (record.get("debit") or Decimal(0))
        code = company_currency
    journal = related(related(record, "move"), "journal")
    party = many2one_id(record.get("party"))
    return ErpPayment(
        external_id=str(record["id"]),
        invoice_external_id=str(many2one_id(record.get("invoice_payment"))),
        customer_external_id=str(party) if party else None,
        amount=amount,
        currency=code,
        date=record.get("date"),
        method=journal.get("name"),
        description=record.get("description") or record.get("move_description_used") or None,
        updated_at=record.get("last_modified_at"),
    )
