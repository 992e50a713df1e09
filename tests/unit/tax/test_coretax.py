"""The Coretax XML against a golden file worked out by hand (tests/data/coretax)."""

from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest

from paths import TEST_DATA
from sfa.errors import InvalidInput
from sfa.tax import coretax, identity

GOLDEN = TEST_DATA / "coretax" / "two_invoices.xml"
SELLER = coretax.Seller("0123456789012345", "000000", "04")


def golden_invoices() -> list[coretax.TaxInvoice]:
    npwp_buyer = coretax.Buyer(
        "npwp",
        "0213456789012345",
        "000000",
        "PT Lumbung Pangan Sejahtera",
        "Jl. Gatot Subroto Kav. 21, Jakarta Selatan 12930",
        "ap@lumbungpangan.example",
    )
    nik_buyer = coretax.Buyer(
        "nik",
        "3171014506850002",
        "000000",
        "Siti Rahayu",
        "Jl. Kemang Raya 8, Jakarta Selatan",
        None,
    )
    return [
        coretax.TaxInvoice(
            date(2026, 11, 3),
            "INV/2026/11/0001",
            npwp_buyer,
            (
                coretax.Line(
                    "A",
                    "190200",
                    "Mie Goreng Spesial 85 g",
                    "UM.0021",
                    Decimal("3100.00"),
                    Decimal(120),
                    Decimal("372000.00"),
                ),
                coretax.Line(
                    "A",
                    "090100",
                    "Kopi Bubuk Robusta 200 g",
                    "UM.0021",
                    Decimal("18500.00"),
                    Decimal(7),
                    Decimal("126262.50"),
                ),
            ),
        ),
        coretax.TaxInvoice(
            date(2026, 11, 28),
            "INV/2026/11/0002",
            nik_buyer,
            (
                coretax.Line(
                    "A",
                    "170100",
                    "Gula Pasir Kristal 1 kg",
                    "UM.0021",
                    Decimal("17900.00"),
                    Decimal(10),
                    Decimal("179000.00"),
                ),
            ),
        ),
    ]


def test_matches_the_golden_file_byte_for_byte():
    assert coretax.build(SELLER, golden_invoices()) == GOLDEN.read_bytes()


def test_is_well_formed_with_the_bulk_structure():
    root = ET.fromstring(coretax.build(SELLER, golden_invoices()))
    assert root.tag == "TaxInvoiceBulk"
    assert [c.tag for c in root] == ["TIN", "ListOfTaxInvoice"]
    invoices = root.findall("./ListOfTaxInvoice/TaxInvoice")
    assert len(invoices) == 2
    assert [len(i.findall("./ListOfGoodService/GoodService")) for i in invoices] == [2, 1]


def test_other_tax_base_is_eleven_twelfths_and_vat_an_effective_eleven_percent():
    line = coretax.Line(
        "A", "000000", "x", "UM.0021", Decimal("18500.00"), Decimal(7), Decimal("126262.50")
    )
    amounts = coretax.line_amounts(line, "04")
    assert amounts["OtherTaxBase"] == Decimal("115740.63")  # 115,740.625 rounded half-up
    assert amounts["VAT"] == Decimal("13888.88")
    assert (amounts["VAT"] / amounts["TaxBase"]).quantize(Decimal("0.0001")) == Decimal("0.1100")
    # Other transaction codes: VAT on the whole base.
    assert coretax.line_amounts(line, "01")["OtherTaxBase"] == Decimal("126262.50")


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (identity.npwp, "02.134.567.8-901.234", "0021345678901234"),
        (identity.npwp, "0213456789012345", "0213456789012345"),
        (identity.nik, "3171014506850002", "3171014506850002"),
        (identity.tku, "000001", "000001"),
    ],
)
def test_identities_accepted(check, value, expected):
    assert check(value) == expected


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (identity.npwp, "12345", "not 16 digits"),
        (identity.npwp, "0000000000000000", "not 16 digits"),
        (identity.nik, "0071014506850002", "no province code"),
        (identity.nik, "3171019906850002", "no valid birth date"),
        (identity.tku, "12", "not 6 digits"),
        (identity.goods_code, "12AB", "not 6 digits"),
        (identity.unit_code, "PCS", "UM.0000"),
    ],
)
def test_identities_refused_with_a_clear_error(check, value, message):
    with pytest.raises(InvalidInput, match=message):
        check(value)
