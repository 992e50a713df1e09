"""What the extractor makes of the usual OCR slips: labels glued or with a letter wrong,
specks around numbers and units, a colon read as a 1, a number split in two, and the
arithmetic that points at a misread number (integrations/pdf/checks.py)."""

from decimal import Decimal

import pytest

from integrations.pdf import checks, parse, table
from integrations.pdf.extract import extract
from integrations.pdf.labels import near
from sfa.purchase_orders.document import Field, PageWords


@pytest.mark.parametrize(
    ("text", "label", "ok"),
    [
        ("itemcode", "item code", True),  # glued
        ("kodeltem", "kode item", True),  # glued, and l for i
        ("reg delivery", "req delivery", True),
        ("jumian", "jumlah", True),  # two letters wrong, both ones OCR confuses
        ("jumxah", "jumlah", True),
        ("jurnxah", "jumlah", False),
        ("aty", "qty", True),  # a three-letter label: only its first letter
        ("qtv", "qty", False),
        ("date", "data", True),
        ("po", "no", False),  # two letters: never near
        ("kode  item", "kode item", False),
    ],
)
def test_labels_as_ocr_reads_them(text, label, ok):
    assert near(text, label, min_letters=3) is ok


@pytest.mark.parametrize(
    ("read", "unit"),
    [("CIN", "CTN"), ("\u201cBTL", "BTL"), ("BIL", "BTL"), ("PES", "PCS"), ("BAX", "BAX")],
)
def test_units_with_specks_or_one_slip(read, unit):
    # BAX is one letter from BOX and from BAL, neither a usual OCR confusion: left as read.
    assert table._known_unit(Field(read, 0.9)).value == unit


def _number(raw: str) -> Field:
    value = parse.to_decimal(raw)
    return Field(None if value is None else str(value), 0.9, None, raw)


def _row(qty: str, price: str, total: str) -> dict[str, Field]:
    return {"quantity": _number(qty), "unit_price": _number(price), "line_total": _number(total)}


def test_a_misread_quantity_is_proposed_from_price_and_total():
    row, problems = _row("4200", "21,167.00", "254,004.00"), []
    checks.check_line(1, row, problems)
    assert row["quantity"].value == "12"
    assert row["quantity"].confidence <= checks.PROPOSED_CONFIDENCE
    assert row["unit_price"].value == "21167.00"
    assert "quantity read as '4200' is probably 12" in problems[0]


def test_a_price_that_lost_its_comma_is_proposed_from_qty_and_total():
    row, problems = _row("100", "17137515", "1,713,775.00"), []
    row["unit_price"].confidence = 0.3  # OCR was unsure of it; of the total, less so
    row["line_total"].confidence = 0.55
    checks.check_line(1, row, problems)
    assert row["unit_price"].value == "17137.75"
    assert row["line_total"].value == "1713775.00"


def test_a_mismatch_no_value_explains_is_only_reported():
    row, problems = _row("5", "100.00", "999,999.00"), []
    checks.check_line(2, row, problems)
    assert [row[k].value for k in row] == ["5", "100.00", "999999.00"]
    assert all(row[k].confidence < 0.9 for k in row)
    assert problems == ["line 2: qty x price = 500.00 but the line total is 999999.00"]


def test_an_unreadable_quantity_is_computed():
    row, problems = _row("86:5.", "20,492.50", "737,730.00"), []
    checks.check_line(3, row, problems)
    assert row["quantity"].value == "36"
    assert row["quantity"].confidence <= checks.PROPOSED_CONFIDENCE
    assert "not readable" in problems[0]


def _page(lines: list[list[tuple[str, float]]]) -> PageWords:
    """Phrases (text, x) on lines 14 pt apart: 5 pt a character, words 3 pt apart."""
    words = []
    for n, line in enumerate(lines):
        y = 40.0 + 14 * n
        for phrase, x in line:
            for text in phrase.split():
                words.append((text, x, y, x + 5 * len(text), y + 9, 90.0))
                x += 5 * len(text) + 3
    return PageWords(595, 842, "ocr", words)


def test_header_values_with_a_colon_read_as_1_and_a_split_number():
    page = _page(
        [
            [("PESANAN", 40)],
            # OCR split the number: a gap narrower than a character inside it.
            [("Nomor Pesanan: BHG/PO/26091", 40), ("3939", 173)],
            [("Tgl. Kirim 113 September 2026", 40)],  # ": 13 September" read as "113"
            [("NPWP 10319876543210987", 40)],  # ":0319…" read as "10319…"
            [("Tanggal Pesanan :5 Sep 2026", 40)],
            [("Kode", 40), ("Deskripsi", 100), ("Kuantitas", 260), ("Harga", 330)],
            [("BHG-11", 40), ("Mie Goreng", 100), ("60", 280), ("3.019", 330)],
        ]
    )
    ex = extract([page])
    assert ex.header["po_number"].value == "BHG/PO/260913939"
    assert ex.header["delivery_date"].value == "2026-09-13"
    assert ex.header["buyer_npwp"].value == "0319876543210987"
    assert ex.header["po_date"].value == "2026-09-05"
    assert [ln["quantity"].value for ln in ex.lines] == ["60"]
    assert ex.lines[0]["unit_price"].value == str(Decimal("3019"))


def test_an_amount_column_whose_heading_cannot_be_read_is_where_it_must_be():
    page = _page(
        [
            [("Kode", 40), ("Keterangan", 100), ("Qty", 260), ("Harga", 330), ("J#%&8h", 420)],
            [("BHG-11", 40), ("Mie Goreng", 100), ("60", 262), ("3.019", 330), ("181.140", 420)],
        ]
    )
    (line,) = extract([page]).lines
    assert (line["unit_price"].value, line["line_total"].value) == ("3019", "181140")
