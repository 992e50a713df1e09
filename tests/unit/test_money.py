"""Prices and amounts rounded as the ERP rounds them (sfa/money.py)."""

from decimal import Decimal

import pytest

from sfa import money
from sfa.catalog.models import Product
from sfa.catalog.service import unit_problem


@pytest.mark.parametrize(
    ("price", "rate", "decimals", "net"),
    [
        ("12345.6789", "0.10", 4, "11111.1110"),
        ("3333.33", "0.025", 4, "3249.9968"),  # 3249.99675: a tie, to the even 8
        ("3100.1250", "0", 4, "3100.1250"),
        ("1234.5678", "0.10", 2, "1111.11"),
    ],
)
def test_net_unit_price(price, rate, decimals, net):
    assert money.net_unit_price(Decimal(price), Decimal(rate), decimals) == Decimal(net)


@pytest.mark.parametrize(
    ("value", "rounding", "amount"),
    [
        ("1000.125", "0.01", "1000.12"),  # half to even, as Tryton's Currency.round
        ("1000.135", "0.01", "1000.14"),
        ("3333.33", "1", "3333.00"),  # a currency without cents
        ("3333.50", "1", "3334.00"),
        ("10.07", "0.05", "10.05"),
    ],
)
def test_round_amount(value, rounding, amount):
    assert money.round_amount(Decimal(value), Decimal(rounding)) == Decimal(amount)


def unit(symbol, digits, rounding):
    return Product(
        name="P",
        unit=symbol,
        unit_digits=digits,
        unit_rounding=Decimal(rounding) if rounding else None,
    )


@pytest.mark.parametrize(
    ("product", "quantity", "problem"),
    [
        (unit("u", 0, "1"), "2.5", "is sold in whole 'u': quantity 2.5 is not possible"),
        (unit("u", 0, "1"), "3", None),
        (unit("u", 0, "1"), "300", None),
        (unit("kg", 2, "0.01"), "2.5", None),
        (
            unit("kg", 2, "0.01"),
            "2.555",
            "is sold in 'kg' with at most 2 decimals: quantity 2.555 is not possible",
        ),
        (
            unit("box", 1, "0.5"),
            "2.3",
            "is sold in steps of 0.5 'box': quantity 2.3 is not possible",
        ),
        (unit("box", 1, "0.5"), "2.5", None),
        (unit("pcs", None, None), "2.5", None),  # unit not known: not checked
    ],
)
def test_a_quantity_must_fit_its_unit(product, quantity, problem):
    assert unit_problem(product, Decimal(quantity)) == problem
