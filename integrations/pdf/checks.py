"""The arithmetic a purchase order must satisfy, used to check what was read and to point
at the value that was misread.

Per line qty × price = line total (to the cent), and the lines add up to the document's
total. A line that does not add up is reported and its numbers wait for review. When
exactly one of the three, recomputed from the other two, is close to what was printed
(a digit or two apart: "4200" where 12 fits, "17137515" where 17,137.75 fits), that value
is proposed in its place — at a confidence below any review threshold, so a person still
confirms it. A value that could not be read at all is computed the same way.
"""

import re
from decimal import Decimal, InvalidOperation

from rapidfuzz.distance import Levenshtein

from sfa.purchase_orders.document import Field

CENT = Decimal("0.01")
# What a value recomputed from the two others gets: it is a proposal, not a reading.
PROPOSED_CONFIDENCE = 0.5
NAMES = {"quantity": "quantity", "unit_price": "unit price", "line_total": "line total"}


def _number(field: Field) -> Decimal | None:
    try:
        return Decimal(field.value) if field.value is not None else None
    except InvalidOperation:
        return None


def _derived(qty, price, total) -> dict[str, Decimal]:
    """Each value that the other two determine, where it comes out exact to the cent."""
    out = {}
    if price is not None and total is not None and price:
        q = (total / price).quantize(CENT)
        if q > 0 and abs(q * price - total) <= CENT:
            out["quantity"] = q.normalize() if q == q.to_integral_value() else q
    if qty is not None and total is not None and qty:
        p = (total / qty).quantize(CENT)
        if abs(p * qty - total) <= CENT:
            out["unit_price"] = p
    if qty is not None and price is not None:
        out["line_total"] = (qty * price).quantize(CENT)
    return out


def _digits(text: str | None) -> str:
    return re.sub(r"\D", "", text or "")


def _distance(raw: str | None, value: Decimal) -> int:
    """Digits apart, with or without the cents printed."""
    read = _digits(raw)
    whole = _digits(f"{value.quantize(Decimal(1))}")
    cents = _digits(f"{value.quantize(CENT)}")
    return min(Levenshtein.distance(read, whole), Levenshtein.distance(read, cents))


def _misread(row: dict[str, Field], derived: dict[str, Decimal]) -> str | None:
    """The value whose recomputation is the nearest reading of what was printed; between
    two as near, the one OCR was less sure of."""
    close = []
    for key, value in derived.items():
        raw = _digits(row[key].raw)
        distance = _distance(row[key].raw, value)
        if raw and distance <= max(1, len(raw) // 3):
            close.append((distance, row[key].confidence, key))
    close.sort()
    if not close or (len(close) > 1 and close[0][:2] == close[1][:2]):
        return None
    return close[0][2]


def _propose(field: Field, value: Decimal) -> None:
    field.value = str(value)
    field.confidence = min(field.confidence, PROPOSED_CONFIDENCE)


def check_line(n: int, row: dict[str, Field], problems: list[str]) -> None:
    q, p, t = row["quantity"], row["unit_price"], row["line_total"]
    qty, price, total = _number(q), _number(p), _number(t)
    derived = _derived(qty, price, total)
    missing = [k for k, v in (("quantity", qty), ("unit_price", price), ("line_total", total))]
    missing = [k for k in missing if _number(row[k]) is None]
    if len(missing) == 1 and missing[0] in derived:
        key = missing[0]
        _propose(row[key], derived[key])
        problems.append(f"line {n}: {NAMES[key]} not readable; computed from the other two")
        return
    if qty is None or price is None or total is None:
        return
    if abs(qty * price - total) <= max(CENT, total * Decimal("0.0005")):
        return
    message = f"line {n}: qty x price = {qty * price} but the line total is {total}"
    suspect = _misread(row, derived)
    if suspect is None:
        for f in (q, p, t):
            f.confidence *= 0.6
        problems.append(message)
        return
    read, value = row[suspect].raw or "", derived[suspect]
    _propose(row[suspect], value)
    problems.append(f"{message}; the {NAMES[suspect]} read as {read!r} is probably {value}")


def check_lines(rows: list[dict[str, Field]], problems: list[str]) -> None:
    for n, row in enumerate(rows, start=1):
        check_line(n, row, problems)


def check_total(rows: list[dict[str, Field]], total: Field, problems: list[str]) -> None:
    """Σ line totals = the document's total; a mismatch lowers the total's confidence."""
    sums = [s for s in (_number(r["line_total"]) for r in rows) if s is not None]
    if total.value is None or not rows or len(sums) < len(rows):
        return
    if abs(sum(sums) - Decimal(total.value)) > Decimal("1"):
        total.confidence *= 0.6
        problems.append(
            f"the lines add up to {sum(sums)} but the document's total is {total.value}"
        )
