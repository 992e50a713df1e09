"""Prices and amounts, rounded the way the ERP rounds them, so that an order here and its
sale in the ERP carry the same figures to the last digit (docs/erp.md).

Tryton (and the ERPs it was checked against) keep unit prices to a fixed number of
decimals (``[product] price_decimal``, 4 by default) and round each line's amount to the
currency's rounding (0.01, or 1 for a currency without cents), both half to even:

    net unit price = round_price(unit price × (1 - discount rate))
    line amount    = round_amount(quantity × net unit price)

Used by the orders (``sfa.orders.service``) and the ERP contract (``sfa.erp.connector``).
"""

from decimal import ROUND_HALF_EVEN, Decimal

#: Tryton's default price precision; a company setting (``price_decimals``) overrides it.
DEFAULT_PRICE_DECIMALS = 4
#: The most decimals a stored price keeps (``sfa.db.Price``).
MAX_PRICE_DECIMALS = 6


def round_price(value: Decimal, decimals: int = DEFAULT_PRICE_DECIMALS) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN)


def net_unit_price(
    unit_price: Decimal, discount_rate: Decimal, decimals: int = DEFAULT_PRICE_DECIMALS
) -> Decimal:
    """The price per unit after a discount rate between 0 and 1 (0.125 = 12.5 %)."""
    return round_price(unit_price * (1 - discount_rate), decimals)


def round_amount(value: Decimal, rounding: Decimal = Decimal("0.01")) -> Decimal:
    """An amount rounded to a multiple of ``rounding`` (Tryton's ``Currency.round``), kept
    with two decimals as amounts are stored (``sfa.db.Money``)."""
    steps = (value / rounding).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    return (steps * rounding).quantize(Decimal("0.01"))


def money_text(value) -> str:
    """An amount as the messages write it: 1,500,000.00."""
    return f"{value:,.2f}"
