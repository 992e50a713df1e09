"""The Coretax e-Faktur import file (TaxInvoiceBulk XML), from invoiced orders.

Amounts are Decimal, rounded half-up to cents at each step, line by line:

    Price = the order line's unit price;  gross = Qty x Price
    TotalDiscount = gross - the line's net amount;  TaxBase (DPP) = the line's net amount
    OtherTaxBase = TaxBase x 11/12 (transaction code 04, the 2025 rule for goods that are
                   not luxury goods), else TaxBase
    VATRate = 12;  VAT = OtherTaxBase x 12/100   (an effective 11 % of TaxBase)

Prices in the SFA exclude VAT (as the ERP's list prices do). Element names and order are
those of the tax office's TaxInvoice.xsd (including its spelling 'BuyerAdress').
"""

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from xml.etree import ElementTree as ET

CENT = Decimal("0.01")
VAT_RATE = Decimal(12)
OTHER_BASE_RATIO = Decimal(11) / Decimal(12)
DOCUMENT_TYPES = {"npwp": "TIN", "nik": "National ID"}


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Seller:
    npwp: str
    tku: str
    trx_code: str


@dataclass(frozen=True)
class Buyer:
    id_type: str  # npwp or nik
    number: str
    tku: str
    name: str
    address: str
    email: str | None


@dataclass(frozen=True)
class Line:
    opt: str
    code: str
    name: str
    unit: str
    price: Decimal
    qty: Decimal
    net: Decimal


@dataclass(frozen=True)
class TaxInvoice:
    date: date
    reference: str
    buyer: Buyer
    lines: tuple[Line, ...]


def line_amounts(line: Line, trx_code: str) -> dict[str, Decimal]:
    gross = money(line.qty * line.price)
    tax_base = money(line.net)
    other = money(tax_base * OTHER_BASE_RATIO) if trx_code == "04" else tax_base
    return {
        "TotalDiscount": gross - tax_base,
        "TaxBase": tax_base,
        "OtherTaxBase": other,
        "VAT": money(other * VAT_RATE / 100),
    }


def _qty(value: Decimal) -> str:
    return f"{value:.0f}" if value == value.to_integral_value() else f"{value.normalize():f}"


def _add(parent: ET.Element, tag: str, text: str | None = "") -> None:
    ET.SubElement(parent, tag).text = text or None


def build(seller: Seller, invoices: list[TaxInvoice]) -> bytes:
    root = ET.Element(
        "TaxInvoiceBulk",
        {
            "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
            "xsi:noNamespaceSchemaLocation": "TaxInvoice.xsd",
        },
    )
    _add(root, "TIN", seller.npwp)
    listing = ET.SubElement(root, "ListOfTaxInvoice")
    for invoice in invoices:
        _invoice(ET.SubElement(listing, "TaxInvoice"), seller, invoice)
    ET.indent(root, space="  ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8") + b"\n"


def _invoice(node: ET.Element, seller: Seller, invoice: TaxInvoice) -> None:
    buyer = invoice.buyer
    by_npwp = buyer.id_type == "npwp"
    for tag, text in (
        ("TaxInvoiceDate", invoice.date.isoformat()),
        ("TaxInvoiceOpt", "Normal"),
        ("TrxCode", seller.trx_code),
        ("AddInfo", ""),
        ("CustomDoc", ""),
        ("RefDesc", invoice.reference),
        ("FacilityStamp", ""),
        ("SellerIDTKU", seller.npwp + seller.tku),
        ("BuyerTin", buyer.number if by_npwp else "0" * 16),
        ("BuyerDocument", DOCUMENT_TYPES[buyer.id_type]),
        ("BuyerCountry", "IDN"),
        ("BuyerDocumentNumber", "" if by_npwp else buyer.number),
        ("BuyerName", buyer.name),
        ("BuyerAdress", buyer.address),
        ("BuyerEmail", buyer.email or ""),
        ("BuyerIDTKU", buyer.number + buyer.tku),
    ):
        _add(node, tag, text)
    goods = ET.SubElement(node, "ListOfGoodService")
    for line in invoice.lines:
        amounts = line_amounts(line, seller.trx_code)
        item = ET.SubElement(goods, "GoodService")
        for tag, text in (
            ("Opt", line.opt),
            ("Code", line.code),
            ("Name", line.name),
            ("Unit", line.unit),
            ("Price", f"{money(line.price):.2f}"),
            ("Qty", _qty(line.qty)),
            ("TotalDiscount", f"{amounts['TotalDiscount']:.2f}"),
            ("TaxBase", f"{amounts['TaxBase']:.2f}"),
            ("OtherTaxBase", f"{amounts['OtherTaxBase']:.2f}"),
            ("VATRate", f"{VAT_RATE}"),
            ("VAT", f"{amounts['VAT']:.2f}"),
            ("STLGRate", "0"),
            ("STLG", "0"),
        ):
            _add(item, tag, text)
