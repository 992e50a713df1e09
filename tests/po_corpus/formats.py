"""How the corpus writes numbers and dates, per language and layout."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

MONTHS = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "id": ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"],
}
LONG_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "id": [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ],
}


def amount(value: Decimal, style: str, decimals: int = 2) -> str:
    """style 'id': 1.234.567,00; 'en': 1,234,567.00."""
    q = Decimal(1).scaleb(-decimals)
    text = f"{value.quantize(q, ROUND_HALF_UP):,.{decimals}f}"
    if style == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def quantity(value: Decimal, style: str) -> str:
    if value == value.to_integral_value():
        return amount(value, style, 0)
    return amount(value, style, 2)


def day(value: date, style: str, lang: str) -> str:
    if style == "dmy_slash":
        return value.strftime("%d/%m/%Y")
    if style == "dmy_dash":
        return value.strftime("%d-%m-%Y")
    if style == "iso":
        return value.isoformat()
    if style == "d_mon_y":
        return f"{value.day:02d} {MONTHS[lang][value.month - 1]} {value.year}"
    if style == "d_month_y":
        return f"{value.day} {LONG_MONTHS[lang][value.month - 1]} {value.year}"
    raise ValueError(style)
