from datetime import date
from decimal import Decimal

import pytest

from integrations.pdf import parse


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1.234.567,00", "1234567.00"),
        ("1,234,567.00", "1234567.00"),
        ("6.152,175.00", "6152175.00"),  # OCR mixed the separators
        ("3.469.392", "3469392"),
        ("352,080", "352080"),
        ("1.5", "1.5"),
        ("Rp 12.500", "12500"),
        ("O.50", "0.50"),
    ],
)
def test_amounts_in_both_notations(text, value):
    assert parse.to_decimal(text) == Decimal(value)


def test_not_a_number():
    assert parse.to_decimal("PCS") is None


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("13/11/2026", date(2026, 11, 13)),
        ("02-10-2026", date(2026, 10, 2)),
        ("2026-11-02", date(2026, 11, 2)),
        ("02 Okt 2026", date(2026, 10, 2)),
        ("3 Desember 2026", date(2026, 12, 3)),
        ("12 Nov 2026", date(2026, 11, 12)),
    ],
)
def test_dates_in_both_languages(text, day):
    assert parse.to_date(text) == day


def test_npwp_old_and_new():
    assert parse.npwp("NPWP: 02.134.567.8-901.234") == "0021345678901234"
    assert parse.npwp("Tax ID 0213456789012345") == "0213456789012345"
