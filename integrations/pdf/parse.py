"""Numbers, dates and identifiers as printed on Indonesian and English documents."""

import re
from datetime import date
from decimal import Decimal, InvalidOperation

MONTHS = {
    # English and Bahasa Indonesia, full and short (Agt/Agu, Nop/Nov, Des/Dec, Mei/May…).
    **dict.fromkeys(("jan", "january", "januari"), 1),
    **dict.fromkeys(("feb", "february", "februari", "pebruari"), 2),
    **dict.fromkeys(("mar", "march", "maret"), 3),
    **dict.fromkeys(("apr", "april"), 4),
    **dict.fromkeys(("may", "mei"), 5),
    **dict.fromkeys(("jun", "june", "juni"), 6),
    **dict.fromkeys(("jul", "july", "juli"), 7),
    **dict.fromkeys(("aug", "august", "agu", "agt", "agus", "agustus"), 8),
    **dict.fromkeys(("sep", "sept", "september"), 9),
    **dict.fromkeys(("oct", "october", "okt", "oktober"), 10),
    **dict.fromkeys(("nov", "november", "nop", "nopember"), 11),
    **dict.fromkeys(("dec", "december", "des", "desember"), 12),
}
# OCR's usual confusions inside numbers.
_DIGIT_FIXES = str.maketrans(
    {"O": "0", "o": "0", "D": "0", "l": "1", "I": "1", "|": "1", "S": "5", "B": "8"}
)
_NUMBER = re.compile(r"^[-+]?[\d.,]*\d[\d.,]*$")
# Specks OCR reads around a number in a box or under noise: "2°", "“36", "12'".
SPECKS = "°'\"\u201c\u201d\u2018\u2019`*:;|_~!^"


def to_decimal(text: str) -> Decimal | None:
    """A printed amount or quantity; None when it is not one.

    The last separator followed by one or two digits is the decimal point, whichever
    character it is; every other separator groups thousands. So 1.234.567,00 and
    1,234,567.00 read alike, and so does an OCR that mixed the two (6.152,175.00).
    Amounts with three decimals do not occur on purchase orders, so 1.234 is a thousand
    and two hundred and thirty-four.
    """
    s = text.strip().replace(" ", "").strip(SPECKS)
    s = re.sub(r"^(rp\.?|idr)", "", s, flags=re.IGNORECASE).rstrip(".,")
    if s and not _NUMBER.match(s):
        s = s.translate(_DIGIT_FIXES)
        if not _NUMBER.match(s):
            return None
    if not s:
        return None
    sign = "-" if s.startswith("-") else ""
    s = s.lstrip("+-")
    if m := re.search(r"[.,](\d{1,2})$", s):
        whole, fraction = s[: m.start()], m[1]
    else:
        whole, fraction = s, ""
    whole = re.sub(r"[.,]", "", whole)
    if not whole.isdigit():
        return None
    try:
        return Decimal(f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}")
    except InvalidOperation:
        return None


def to_date(text: str) -> date | None:
    """12/11/2026, 12-11-2026, 2026-11-12, 12 Nov 2026, 12 November 2026, 12 Desember 2026
    (day first, as Indonesian and most English POs write them)."""
    return _date(text)


def _date(text: str) -> date | None:
    s = text.strip().lower().replace(",", " ")
    try:
        if m := re.search(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", s):
            return date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.search(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4}|\d{2})\b", s):
            year = int(m[3]) + (2000 if len(m[3]) == 2 else 0)
            return date(year, int(m[2]), int(m[1]))
        if m := re.search(r"\b(\d{1,2})\s*[-\s]\s*([a-z]{3,10})\.?\s*[-\s]\s*(\d{4})\b", s):
            month = MONTHS.get(m[2])
            if month:
                return date(int(m[3]), month, int(m[1]))
    except ValueError:
        return None
    return None


def npwp(text: str) -> str | None:
    """A 16-digit NPWP (or a 15-digit old one, given a leading 0), printed with or
    without dots and dashes."""
    for m in re.finditer(r"(?<!\d)(\d[\d.\- ]{13,22}\d)(?!\d)", text):
        digits = re.sub(r"\D", "", m[1])
        if len(digits) == 16:
            return digits
        if len(digits) == 15:
            return "0" + digits
    return None


def currency(text: str) -> str | None:
    s = text.upper()
    if m := re.search(r"\b(IDR|USD|SGD|EUR|MYR)\b", s):
        return m[1]
    if re.search(r"\bRP\.?\b|RUPIAH", s):
        return "IDR"
    return None
