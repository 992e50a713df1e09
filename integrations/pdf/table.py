"""Line items from word positions: find the table's header row by its column words,
take each column's horizontal span from it, and read the rows below into cells until
the totals line. No template per customer: any layout whose header row names its
columns (in Bahasa Indonesia or English, or in a customer's learned wording) works."""

from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from integrations.pdf import parse
from integrations.pdf.geometry import Line, Word, confidence, region
from integrations.pdf.labels import COLUMN_LABELS, TOTAL_LABELS, norm
from sfa.purchase_orders.document import Field
from sfa.purchase_orders.matching import UNIT_SYNONYMS

_UNITS = {alias for aliases in UNIT_SYNONYMS.values() for alias in aliases}

NUMERIC = ("quantity", "unit_price", "line_total")
# Labels that name two columns (Indonesian "jumlah": a quantity, or an amount).
_AMBIGUOUS_ORDER = ("quantity", "line_total")


@dataclass
class Column:
    key: str
    x0: float
    x1: float


def _column_labels(hints: dict) -> dict[str, tuple[str, ...]]:
    learned = hints.get("columns", {})
    return {k: tuple(learned.get(k, ())) + v for k, v in COLUMN_LABELS.items()}


def _match_header(
    line: Line, labels: dict[str, tuple[str, ...]]
) -> list[tuple[set[str], list[Word]]]:
    """Greedy longest match of column labels over the line's words, left to right."""
    words = line.words
    out = []
    i = 0
    while i < len(words):
        best: tuple[int, set[str]] | None = None
        for n in (3, 2, 1):
            if i + n > len(words):
                continue
            chunk = words[i : i + n]
            if n > 1 and any(b.x0 - a.x1 > 2.0 * a.height for a, b in pairwise(chunk)):
                continue
            text = norm(" ".join(w.text for w in chunk))
            keys = {k for k, options in labels.items() if text in options}
            if not keys and n == 1:
                keys = _near_label(text, labels)
            if keys:
                best = (n, keys)
                break
        if best is None:
            i += 1
            continue
        n, keys = best
        out.append((keys, words[i : i + n]))
        i += n
    return out


def _near_label(text: str, labels: dict[str, tuple[str, ...]]) -> set[str]:
    """One OCR slip in a one-word label of four letters or more, or the first letter of
    a three-letter one ('Aty' for 'Qty')."""
    if len(text) < 3:
        return set()
    found = set()
    for key, options in labels.items():
        for option in options:
            if " " in option or len(option) != len(text) or len(option) < 3:
                continue
            slips = sum(a != b for a, b in zip(option, text, strict=True))
            if slips == 1 and (len(option) >= 4 or option[1:] == text[1:]):
                found.add(key)
    return found


def _known_unit(field: Field) -> Field:
    """A unit read with one OCR slip ('CIN') set to the known unit it must be ('CTN')."""
    if field.value is None:
        return field
    text = field.value.lower()
    if text in _UNITS:
        return field
    for unit in _UNITS:
        if (
            len(unit) == len(text) >= 3
            and sum(a != b for a, b in zip(unit, text, strict=True)) == 1
        ):
            return Field(unit.upper(), 0.9 * field.confidence, field.region, field.raw)
    return field


def find_header(line: Line, hints: dict) -> list[Column] | None:
    matches = _match_header(line, _column_labels(hints))
    if len(matches) < 3:
        return None
    taken: dict[str, Column] = {}
    ambiguous = []
    for keys, words in matches:
        col = Column("", min(w.x0 for w in words), max(w.x1 for w in words))
        if len(keys) == 1:
            (key,) = keys
            if key not in taken:
                taken[key] = Column(key, col.x0, col.x1)
        else:
            ambiguous.append((keys, col))
    for keys, col in ambiguous:
        free = [k for k in _AMBIGUOUS_ORDER if k in keys and k not in taken]
        if not free:
            free = [k for k in sorted(keys) if k not in taken]
        if not free:
            continue
        key = free[0]
        if len(free) > 1 and "unit_price" in taken:
            key = "quantity" if col.x1 < taken["unit_price"].x0 else "line_total"
        taken[key] = Column(key, col.x0, col.x1)
    if "quantity" not in taken or not ({"description", "buyer_code"} & taken.keys()):
        return None
    if not ({"unit_price", "line_total"} & taken.keys()):
        return None
    return sorted(taken.values(), key=lambda c: c.x0)


def _overlap(word: Word, col: Column) -> float:
    return max(0.0, min(word.x1, col.x1) - max(word.x0, col.x0))


def _nearest(word: Word, columns: list[Column]) -> Column:
    def distance(col: Column) -> float:
        if _overlap(word, col) > 0:
            return 0.0
        return min(abs(word.x0 - col.x1), abs(col.x0 - word.x1))

    return min(columns, key=distance)


def cells_of(line: Line, columns: list[Column]) -> dict[str, list[Word]]:
    """Each word to a column: a phrase stays in the column of its first word unless a
    later word sits under another column's header (e.g. '100 PCS' set tightly)."""
    cells: dict[str, list[Word]] = {}
    for phrase in line.phrases():
        current = _nearest(phrase[0], columns)
        for word in phrase:
            overlapping = [c for c in columns if _overlap(word, c) > 0]
            if overlapping and current not in overlapping:
                current = max(overlapping, key=lambda c: _overlap(word, c))
            cells.setdefault(current.key, []).append(word)
    return cells


def is_total_line(line: Line) -> bool:
    for phrase in line.phrases():
        text = norm(" ".join(w.text for w in phrase))
        if any(text == label or text.startswith(label + " ") for label in TOTAL_LABELS):
            return True
    return False


def _text_field(words: list[Word] | None) -> Field:
    if not words:
        return Field(None, 0.0)
    text = " ".join(w.text for w in words).strip(" |")
    return Field(text or None, confidence(words), region(words), text)


def _number_field(words: list[Word] | None) -> Field:
    if not words:
        return Field(None, 0.0)
    raw = "".join(w.text for w in words).strip("|")
    value = parse.to_decimal(raw)
    if value is None:
        return Field(None, 0.2 * confidence(words), region(words), raw)
    return Field(str(value), confidence(words), region(words), raw)


def read_rows(lines: list[Line], columns: list[Column]) -> tuple[list[dict[str, Field]], int]:
    """Item rows from the lines under a header; returns them and how many lines were used
    (up to and excluding a totals line)."""
    rows: list[dict[str, Field]] = []
    used = 0
    for line in lines:
        if is_total_line(line):
            break
        used += 1
        cells = cells_of(line, columns)
        row = {
            key: (_number_field if key in NUMERIC else _text_field)(cells.get(key))
            for key in ("buyer_code", "description", "quantity", "unit", "unit_price", "line_total")
        }
        row["unit"] = _known_unit(row["unit"])
        has_numbers = row["quantity"].value is not None and (
            row["unit_price"].value is not None or row["line_total"].value is not None
        )
        if has_numbers:
            rows.append(row)
        elif (
            rows
            and row["description"].value
            and not any(row[k].value for k in ("quantity", "unit_price", "line_total"))
        ):
            _continue_description(rows[-1], row["description"], line)
    return rows, used


def _continue_description(row: dict[str, Field], more: Field, line: Line) -> None:
    """A wrapped description: the line below an item with only description text."""
    first = row["description"]
    if first.region is None or more.region is None or more.value in ("./.", None):
        return
    if more.region.y0 - first.region.y1 > 2.0 * (first.region.y1 - first.region.y0):
        return
    first.value = f"{first.value} {more.value}".strip()
    first.raw = first.value
    first.confidence = min(first.confidence, more.confidence)
    first.region = type(first.region)(
        first.region.page,
        min(first.region.x0, more.region.x0),
        first.region.y0,
        max(first.region.x1, more.region.x1),
        more.region.y1,
    )


def cross_check(rows: list[dict[str, Field]], problems: list[str]) -> None:
    """qty × price = line total, per line: a mismatch lowers the three confidences (so the
    line waits for review) and is reported. One missing value is computed from the other
    two, at a confidence below any review threshold."""
    for n, row in enumerate(rows, start=1):
        q, p, t = (row[k] for k in NUMERIC)
        values = [Decimal(f.value) if f.value is not None else None for f in (q, p, t)]
        qty, price, total = values
        if qty is not None and price is not None and total is None:
            t.value, t.confidence = str((qty * price).quantize(Decimal("0.01"))), 0.5
            problems.append(f"line {n}: line total not readable; computed from qty x price")
        elif qty is not None and total is not None and price is None and qty:
            p.value, p.confidence = str((total / qty).quantize(Decimal("0.01"))), 0.5
            problems.append(f"line {n}: unit price not readable; computed from total / qty")
        elif None not in values and abs(qty * price - total) > max(
            Decimal("1"), total * Decimal("0.0005")
        ):
            for f in (q, p, t):
                f.confidence *= 0.6
            problems.append(f"line {n}: qty x price = {qty * price} but the line total is {total}")
