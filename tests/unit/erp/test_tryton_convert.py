"""Tryton records → domain dataclasses and our sale lines → Tryton values, without a server.

The records have the shape ``read`` returns over JSON-RPC (dotted fields nested under
``"name."``), as seen from the real server in tests/integration/erp.
"""

import datetime as dt
from decimal import Decimal

from integrations.erp.tryton import convert
from sfa.erp.connector import ErpSaleLine, ErpSaleRef, ErpTax

T0 = dt.datetime(2026, 11, 20, 8, 0, 0)
PPN = ErpTax(external_id="3", name="PPN 11%", type="percentage", rate=Decimal("0.11"))


def test_product_takes_unit_price_taxes_and_the_latest_change():
    record = {
        "id": 41,
        "code": "KB-1",
        "name": "Kopi Bubuk 250g",
        "type": "goods",
        "salable": True,
        "active": True,
        "list_price_used": Decimal("25000"),
        "default_uom.": {"id": 1, "symbol": "u"},
        "account_category": 7,
        "template.": {"id": 40, "active": True, "last_modified_at": T0 + dt.timedelta(hours=1)},
        "last_modified_at": T0,
    }
    product = convert.product(record, taxes={7: (PPN,)}, currency="IDR")
    assert product.external_id == "41" and product.code == "KB-1"
    assert product.unit == "u" and product.list_price == Decimal("25000")
    assert product.currency == "IDR" and product.taxes == (PPN,)
    assert product.salable and product.active and product.type == "goods"
    assert product.updated_at == T0 + dt.timedelta(hours=1)
    assert (product.unit_digits, product.unit_rounding) == (None, None)


def test_product_keeps_its_unit_digits_and_rounding():
    kg = {"id": 2, "symbol": "kg", "digits": 2, "rounding": 0.01}
    whole = {"id": 1, "symbol": "u", "digits": 0, "rounding": 1.0}
    base = {"id": 43, "name": "Gula", "active": True, "template.": {}}
    sugar = convert.product(base | {"default_uom.": kg}, taxes={}, currency="IDR")
    soap = convert.product(base | {"default_uom.": whole}, taxes={}, currency="IDR")
    assert (sugar.unit, sugar.unit_digits, sugar.unit_rounding) == ("kg", 2, Decimal("0.01"))
    assert (soap.unit, soap.unit_digits, soap.unit_rounding) == ("u", 0, Decimal("1"))


def test_a_product_of_an_inactive_template_is_inactive_and_without_category_untaxed():
    record = {
        "id": 42,
        "name": "Old",
        "salable": False,
        "active": True,
        "account_category": None,
        "template.": {"active": False},
    }
    product = convert.product(record, taxes={7: (PPN,)}, currency=None)
    assert not product.active and not product.salable
    assert product.taxes == () and product.code is None and product.unit == ""


def test_tax_record():
    tax = convert.tax({"id": 3, "name": "PPN 11%", "type": "percentage", "rate": Decimal("0.11")})
    assert tax == PPN


def test_customer_uses_the_first_active_address_by_sequence():
    addresses = {
        10: {"id": 10, "sequence": 2, "active": True, "street": "Jl. Dua", "city": "Bogor"},
        11: {
            "id": 11,
            "sequence": 1,
            "active": True,
            "street": "Jl. Satu 1",
            "postal_code": "40111",
            "city": "Bandung",
            "country.": {"code": "ID"},
            "subdivision.": {"name": "Jawa Barat"},
            "last_modified_at": T0 + dt.timedelta(days=1),
        },
        12: {"id": 12, "sequence": 0, "active": False, "street": "Jl. Lama"},
    }
    record = {
        "id": 7,
        "code": "C7",
        "name": "Toko Tujuh",
        "active": True,
        "phone": "+62 22 1",
        "mobile": "",
        "email": "toko@example.com",
        "tax_identifier.": {"code": "0123456789012345"},
        "customer_payment_term.": {"name": "Net 30"},
        "addresses": [10, 11, 12],
        "last_modified_at": T0,
    }
    customer = convert.customer(record, addresses)
    assert (customer.street, customer.postal_code, customer.city) == (
        "Jl. Satu 1",
        "40111",
        "Bandung",
    )
    assert customer.country == "ID" and customer.subdivision == "Jawa Barat"
    assert customer.phone == "+62 22 1" and customer.mobile is None
    assert customer.tax_identifier == "0123456789012345"
    assert customer.payment_term == "Net 30"
    # an address changed later than the party makes the party newer
    assert customer.updated_at == T0 + dt.timedelta(days=1)


def test_customer_language_from_the_partys_language():
    record = {"id": 9, "name": "T", "active": True, "lang.": {"code": "en"}}
    assert convert.customer(record, {}).language == "en"
    assert convert.customer(record | {"lang.": {"code": "zh_CN"}}, {}).language == "zh"
    assert convert.customer(record | {"lang.": None}, {}).language is None


def test_customer_without_address():
    customer = convert.customer({"id": 8, "name": "Tanpa Alamat", "active": False}, {})
    assert customer.street is None and customer.city is None and not customer.active


def test_invoice_links_sales_and_takes_the_earliest_open_maturity():
    maturities = {
        1: {"id": 1, "maturity_date": dt.date(2026, 12, 1), "reconciliation": 5},
        2: {"id": 2, "maturity_date": dt.date(2026, 12, 15), "reconciliation": None},
        3: {"id": 3, "maturity_date": dt.date(2026, 12, 30), "reconciliation": None},
    }
    record = {
        "id": 90,
        "number": "INV/2026/00001",
        "state": "posted",
        "party": 7,
        "currency.": {"code": "IDR"},
        "invoice_date": dt.date(2026, 11, 1),
        "untaxed_amount": Decimal("100000.00"),
        "tax_amount": Decimal("11000.00"),
        "total_amount": Decimal("111000.00"),
        "amount_to_pay": Decimal("71000.00"),
        "lines_to_pay": [1, 2, 3],
        "sales": [55, 56, 57],
        "last_modified_at": T0,
    }
    invoice = convert.invoice(
        record, maturities=maturities, references={55: "SFA-2", 56: "SFA-1", 57: None}
    )
    assert invoice.due_date == dt.date(2026, 12, 15)
    assert invoice.sale_references == ("SFA-1", "SFA-2")
    assert invoice.customer_external_id == "7" and invoice.currency == "IDR"
    assert invoice.amount_to_pay == Decimal("71000.00") and not invoice.paid


def test_a_paid_invoice_falls_back_to_the_earliest_maturity():
    maturities = {1: {"id": 1, "maturity_date": dt.date(2026, 12, 1), "reconciliation": 9}}
    record = {"id": 91, "state": "paid", "party": 7, "lines_to_pay": [1], "sales": []}
    invoice = convert.invoice(record, maturities=maturities, references={})
    assert invoice.paid and invoice.due_date == dt.date(2026, 12, 1)
    assert invoice.total_amount == Decimal(0) and invoice.number is None


def test_payment_in_company_and_in_second_currency():
    base = {
        "id": 300,
        "invoice_payment": 90,
        "party": 7,
        "date": dt.date(2026, 11, 3),
        "move.": {"journal.": {"name": "Cash"}},
        "description": "",
        "move_description_used": "Cash at visit",
    }
    local = convert.payment(
        base | {"credit": Decimal("111000.00"), "debit": Decimal(0)}, company_currency="IDR"
    )
    assert (local.amount, local.currency) == (Decimal("111000.00"), "IDR")
    assert local.method == "Cash" and local.description == "Cash at visit"
    assert local.invoice_external_id == "90" and local.customer_external_id == "7"
    foreign = convert.payment(
        base
        | {
            "credit": Decimal("111000.00"),
            "amount_second_currency": Decimal("-7.10"),
            "second_currency.": {"code": "USD"},
        },
        company_currency="IDR",
    )
    assert (foreign.amount, foreign.currency) == (Decimal("7.10"), "USD")


def test_sale_ref_and_the_sale_that_stands_for_an_order():
    def ref(external_id, state):
        return ErpSaleRef(external_id, "SFA-1", None, state, "IDR", None, None, None)

    record = {
        "id": 5,
        "reference": "SFA-1",
        "number": "S0005",
        "state": "processing",
        "currency.": {"code": "IDR"},
        "untaxed_amount": Decimal("10.00"),
        "tax_amount": Decimal("1.10"),
        "total_amount": Decimal("11.10"),
    }
    sale = convert.sale_ref(record)
    assert sale.confirmed and sale.number == "S0005" and sale.total_amount == Decimal("11.10")
    assert (
        convert.pick([ref("4", "cancelled"), ref("6", "draft"), ref("7", "draft")]).external_id
        == "6"
    )
    assert convert.pick([ref("4", "cancelled"), ref("8", "cancelled")]).external_id == "4"


def test_sale_line_carries_our_net_price_and_the_price_before_discount():
    line = ErpSaleLine("41", Decimal("3"), Decimal("25000"), discount=Decimal("0.10"))
    values = convert.sale_line(2, line, product_id=41, unit_id=1, tax_ids=[3], with_base_price=True)
    assert values == {
        "sequence": 2,
        "type": "line",
        "product": 41,
        "quantity": 3.0,
        "unit": 1,
        "unit_price": Decimal("22500.0000"),
        "taxes": [("add", [3])],
        "base_price": Decimal("25000.0000"),
    }
    without = convert.sale_line(
        1, line, product_id=41, unit_id=1, tax_ids=[], with_base_price=False
    )
    assert "base_price" not in without and without["unit_price"] == Decimal("22500.0000")
