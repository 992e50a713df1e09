"""Words for renewal decisions in English and Bahasa Indonesia: amounts and role names.

Amounts are shortened the way people say them ("620 M" in English, "620 jt" in Bahasa
Indonesia, where "M" means *miliar*, a thousand million). A shortened amount must never
make two different numbers look equal ("ACV 50 M < low tier 50 M" for 49,999,999 would
read as nonsense), so `amounts()` writes both in full when their short forms collide.
"""

from decimal import ROUND_HALF_UP, Decimal

LANGUAGES = ("en", "id")

# (factor, English suffix, Indonesian suffix), largest first.
_SCALES = (
    (Decimal(10) ** 12, "T", "T"),
    (Decimal(10) ** 9, "B", "M"),
    (Decimal(10) ** 6, "M", "jt"),
    (Decimal(10) ** 3, "K", "rb"),
)

ROLE_LABELS = {
    "account_manager": {"en": "account manager", "id": "account manager"},
    "renewal_manager": {"en": "renewal manager", "id": "manajer perpanjangan"},
    "customer_success": {"en": "customer success", "id": "customer success"},
    "sales_rep": {"en": "sales rep", "id": "sales"},
}


def role_label(role: str, lang: str) -> str:
    return ROLE_LABELS[role][lang]


def _localise(number: str, lang: str) -> str:
    """'1,234.5' → '1.234,5' in Bahasa Indonesia."""
    if lang != "id":
        return number
    return number.translate(str.maketrans(",.", ".,"))


def short_amount(value: Decimal, lang: str) -> str:
    """620000000 → '620 M' (en) / '620 jt' (id); 1250000000 → '1.25 B' / '1,25 M'."""
    for factor, suffix_en, suffix_id in _SCALES:
        if abs(value) >= factor:
            scaled = (value / factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            text = f"{scaled.normalize():f}"
            return f"{_localise(text, lang)} {suffix_en if lang == 'en' else suffix_id}"
    return full_amount(value, lang)


def full_amount(value: Decimal, lang: str) -> str:
    """49999999 → '49,999,999' (en) / '49.999.999' (id); cents only when there are some."""
    text = f"{value:,.2f}"
    if text.endswith(".00"):
        text = text[:-3]
    return _localise(text, lang)


def amounts(value: Decimal, *thresholds: Decimal, lang: str) -> tuple[str, ...]:
    """The value and the thresholds it is compared with, short unless that hides a
    difference (then all in full)."""
    numbers = (value, *thresholds)
    short = tuple(short_amount(n, lang) for n in numbers)
    if any(short[0] == s and value != t for s, t in zip(short[1:], thresholds, strict=True)):
        return tuple(full_amount(n, lang) for n in numbers)
    return short


def or_list(items: list[str], lang: str) -> str:
    """'a, b or c' / 'a, b atau c'."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {'or' if lang == 'en' else 'atau'} {items[-1]}"


def open_renewals(count: int, lang: str) -> str:
    if lang == "id":
        return f"{count} perpanjangan terbuka"
    return f"{count} open renewal{'' if count == 1 else 's'}"


def day_list(days: tuple[int, ...]) -> str:
    return "/".join(str(d) for d in days)
