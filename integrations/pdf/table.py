"""Line items from word positions: find the table's header row by its column words,
take each column's horizontal span from it, and read the rows below into cells until
the totals line. No template per customer: any layout whose header row names its
columns (in Bahasa Indonesia or English, or in a customer's learned wording) works."""

from dataclasses import dataclass
from itertools import pairwise

from integrations.pdf import parse
from integrations.pdf.geometry import Line, Word, confidence, region
from integrations.pdf.labels import COLUMN_LABELS, TOTAL_LABELS, confusable, near, norm, slips
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
        found = _label_at(words, i, labels)
        if found is None:
            i += 1
            continue
        n, keys = found
        out.append((keys, words[i : i + n]))
        i += n
    return out


def _label_at(
    words: list[Word], i: int, labels: dict[str, tuple[str, ...]]
) -> tuple[int, set[str]] | None:
    """The longest label starting at word i: read exactly first, then as OCR may slip."""
    chunks = []
    for n in (3, 2, 1):
        chunk = words[i : i + n]
        if len(chunk) < n or any(b.x0 - a.x1 > 2.0 * a.height for a, b in pairwise(chunk)):
            continue
        chunks.append((n, norm(" ".join(w.text for w in chunk))))
    for n, text in chunks:
        if keys := {k for k, options in labels.items() if text in options}:
            return n, keys
    for n, text in chunks:
        if keys := _near_label(text, labels):
            return n, keys
    return None


def _near_label(text: str, labels: dict[str, tuple[str, ...]]) -> set[str]:
    """Column labels as OCR may read them (labels.near): glued, or one letter wrong."""
    return {
        key
        for key, options in labels.items()
        for option in options
        if near(text, option, min_letters=3)
    }


def _known_unit(field: Field) -> Field:
    """A unit read with specks ('“BTL') or one OCR slip ('CIN') set to the one known unit
    it can be ('CTN'); two candidates ('BAX': BOX or BAL?) stay as read, for review."""
    if field.value is None:
        return field
    text = field.value.strip(parse.SPECKS + ".,").lower()
    if text in _UNITS:
        if text == field.value.lower():
            return field
        return Field(text.upper(), field.confidence, field.region, field.raw)
    candidates = {unit for unit in _UNITS if len(unit) >= 3 and slips(text, unit) == 1}
    if len(candidates) > 1:  # 'BIL': BTL (I for T) rather than BAL
        candidates = {unit for unit in candidates if confusable(text, unit)}
    if len(candidates) == 1:
        return Field(candidates.pop().upper(), 0.9 * field.confidence, field.region, field.raw)
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
    columns = sorted(taken.values(), key=lambda c: c.x0)
    unread = _widen_by_unread_words(line, matches, columns)
    _unread_amount_column(unread, taken)
    return sorted(taken.values(), key=lambda c: c.x0)


def _widen_by_unread_words(line: Line, matches, columns: list[Column]) -> list[list[Word]]:
    """A heading word OCR garbled next to a read one ('Naina Barang') is part of that
    column's heading: the column spans it. Returns the phrases of words still unread."""
    used = {id(w) for _, words in matches for w in words}
    unread = []
    for phrase in line.phrases():
        left = []
        for word in phrase:
            if id(word) in used:
                continue
            gaps = [(max(c.x0 - word.x1, word.x0 - c.x1), -c.x0, c) for c in columns]
            gap, _, column = min(gaps, key=lambda g: (g[0], g[1]))
            if gap <= 2.0 * word.height:
                column.x0, column.x1 = min(column.x0, word.x0), max(column.x1, word.x1)
            else:
                left.append(word)
        if left:
            unread.append(left)
    return unread


def _unread_amount_column(left: list[list[Word]], taken: dict[str, Column]) -> None:
    """One amount column found and the other not: the one heading OCR could not read at
    all where the other must be (right of the price, or between quantity and total)."""
    if "line_total" not in taken:
        key, lo, hi = "line_total", taken["unit_price"].x1, float("inf")
    elif "unit_price" not in taken:
        lo = max(taken[k].x1 for k in ("quantity", "unit") if k in taken)
        key, hi = "unit_price", taken["line_total"].x0
    else:
        return
    between = [p for p in left if p[0].x0 > lo and p[-1].x1 < hi]
    if len(between) == 1:
        taken[key] = Column(key, between[0][0].x0, between[0][-1].x1)


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
    """A phrase that starts with a totals label, read exactly or as OCR slips on it."""
    for phrase in line.phrases():
        words = norm(" ".join(w.text for w in phrase)).split()
        for label in TOTAL_LABELS:
            head = " ".join(words[: len(label.split())])
            if head == label or near(head, label, min_letters=6):
                return True
    return False


def _text_field(words: list[Word] | None) -> Field:
    """A cell's text without the specks OCR reads from noise or a cell border ("' 310045")."""
    words = [w for w in words or () if w.text.strip(parse.SPECKS)]
    if not words:
        return Field(None, 0.0)
    text = " ".join(w.text for w in words).strip(" " + parse.SPECKS)
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
        if _is_item(row):
            rows.append(row)
        elif (
            rows
            and row["description"].value
            and not any(row[k].value for k in ("quantity", "unit_price", "line_total"))
        ):
            _continue_description(rows[-1], row["description"], line)
    return rows, used


def _is_item(row: dict[str, Field]) -> bool:
    """A quantity and an amount; or, when no quantity can be read ('86:5.', or nothing),
    a text and both amounts (checks.py proposes the quantity they imply)."""
    qty, price, total = (row[k].value is not None for k in NUMERIC)
    if qty:
        return price or total
    named = row["description"].value is not None or row["buyer_code"].value is not None
    return price and total and named


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
