"""Header fields and line items of a purchase order from its words' positions.

Header fields are found by their labels (integrations/pdf/labels.py, plus a customer's
learned wording): the value is the rest of the label's phrase, else the next phrase on
the line, else (for addresses and names) the line below. The buyer's name, when no label
names it, is the largest print near the top that is neither a title nor a label.
"""

import re
from itertools import pairwise

from integrations.pdf import checks, parse, table
from integrations.pdf.geometry import Line, Word, confidence, lines_of, region, words_of
from integrations.pdf.labels import HEADER_LABELS, TITLE_WORDS, near, norm
from sfa.purchase_orders.document import HEADER_FIELDS, Extraction, Field, PageWords

BELOW_OK = {"delivery_address", "buyer_name"}
_LEGAL_FORM = re.compile(r"^(pt|cv|ud|tbk|toko|koperasi)\b", re.IGNORECASE)


def extract(pages: list[PageWords], hints: dict | None = None) -> Extraction:
    hints = hints or {}
    page_lines = [lines_of(words) for words in words_of(pages)]
    problems: list[str] = []
    rows: list[dict[str, Field]] = []
    columns = None
    above: list[Line] = []  # page 1 above the table: the header area
    after: list[Line] = []  # lines after the last table rows: where the total is
    for index, lines in enumerate(page_lines):
        start = None
        for i, line in enumerate(lines):
            found = table.find_header(line, hints)
            if found:
                columns, start = found, i + 1
                break
        if index == 0:
            above = lines[: start - 1] if start else lines
        if columns is None:
            continue
        body = lines[start:] if start is not None else lines
        page_rows, used = table.read_rows(body, columns)
        rows.extend(page_rows)
        if page_rows:
            after = body[used:]
    if columns is None:
        problems.append("no table of line items found (no row of column names)")
    checks.check_lines(rows, problems)
    header = _header_fields(above, hints)
    header["total"] = _total(after)
    checks.check_total(rows, header["total"], problems)
    for name in HEADER_FIELDS:
        header.setdefault(name, Field(None, 0.0))
    return Extraction(
        header=header,
        lines=rows,
        header_text="\n".join(line.text for line in above),
        problems=problems,
    )


def _labels(hints: dict) -> list[tuple[str, str]]:
    """(label, field), longest first, the customer's learned labels before ours."""
    learned = hints.get("labels", {})
    pairs = [(norm(label), f) for f, labels in learned.items() for label in labels]
    pairs += [(label, f) for f, labels in HEADER_LABELS.items() for label in labels]
    return sorted(pairs, key=lambda p: -len(p[0].split()))


def _split_label(phrase: list[Word], labels) -> tuple[str, list[Word]] | None:
    """The field whose label starts the phrase, and the phrase's words after it. The
    label may be read with one OCR slip (labels.near) or glued to its value by a colon
    ('Pesanan:BHG/PO/1')."""
    phrase = _unglue(phrase)
    for exact in (True, False):
        for label, name in labels:
            n = len(label.split())
            if len(phrase) < n:
                continue
            head = norm(" ".join(w.text for w in phrase[:n]))
            if head == label if exact else near(head, label, min_letters=6):
                return name, _after_label(phrase[n:])
    return None


def _unglue(phrase: list[Word]) -> list[Word]:
    """'Pesanan:BHG/PO/1' as two words, the box split in proportion to the letters."""
    out = []
    for w in phrase:
        head, colon, tail = w.text.partition(":")
        if not (colon and head and tail) or not re.search(r"[A-Za-z]{2}", head):
            out.append(w)
            continue
        cut = w.x0 + (w.x1 - w.x0) * (len(head) + 1) / len(w.text)
        out += [Word(head + ":", w.x0, w.y0, cut, w.y1, w.conf, w.page)]
        out += [Word(tail, cut, w.y0, w.x1, w.y1, w.conf, w.page)]
    return out


def _after_label(rest: list[Word]) -> list[Word]:
    while rest and rest[0].text.strip(":#.") == "":
        rest = rest[1:]
    if rest:
        cleaned = rest[0].text.lstrip(":#")
        if cleaned != rest[0].text:
            rest = [Word(cleaned, *_coords(rest[0])), *rest[1:]]
    return rest


def _coords(w: Word):
    return (w.x0, w.y0, w.x1, w.y1, w.conf, w.page)


def _value(name: str, words: list[Word]) -> tuple[str | None, str]:
    raw = " ".join(w.text for w in words).strip(" :|")
    if name in ("po_date", "delivery_date"):
        day = _colon_slip(parse.to_date, raw)
        return (day.isoformat() if day else None), raw
    if name == "currency":
        return parse.currency(raw), raw
    if name == "buyer_npwp":
        return _colon_slip(parse.npwp, raw), raw
    if name == "po_number":
        token = _document_number(words)
        return (token if re.search(r"\d", token) else None), raw
    if name in ("delivery_address", "buyer_name"):
        # "Jl." (jalan, street) starts most Indonesian addresses; OCR reads it "JI." or "J1.".
        raw = _JALAN.sub("Jl.", raw)
    return (raw or None), raw


def _colon_slip(parser, raw: str):
    """The colon before a value ("Tanggal : 5 Nov 2026") is often read as a 1 or an l
    glued to it ("113 Nov", "10319…"): a value that cannot be is read again without it."""
    value = parser(raw)
    if value is None and raw[:1] in _COLON_SLIPS:
        value = parser(raw[1:])
    return value


_COLON_SLIPS = ("1", ":", ";", "i", "l", "|", "!")
_JALAN = re.compile(r"\bJ[I1|]\.")


def _document_number(words: list[Word]) -> str:
    """The first word, with the digits OCR split off it put back ('BHG/PO/26091 3939':
    a gap narrower than a character inside one number)."""
    if not words:
        return ""
    token = words[0].text.lstrip("#")
    for prev, word in pairwise(words):
        char = (prev.x1 - prev.x0) / max(len(prev.text), 1)
        if not word.text.isdigit() or word.x0 - prev.x1 > 0.8 * char:
            break
        token += word.text
    return token


def _below(lines: list[Line], i: int, x0: float) -> list[Word] | None:
    """The phrase on the next line that starts near x0 (an address under its label)."""
    for line in lines[i + 1 : i + 3]:
        for phrase in line.phrases():
            if abs(phrase[0].x0 - x0) < 25 or (phrase[0].x0 <= x0 + 5 < phrase[-1].x1):
                return phrase
    return None


def _header_fields(lines: list[Line], hints: dict) -> dict[str, Field]:
    labels = _labels(hints)
    found: dict[str, Field] = {}
    for i, line in enumerate(lines):
        phrases = line.phrases()
        for j, phrase in enumerate(phrases):
            hit = _split_label(phrase, labels)
            if hit is None:
                continue
            name, rest = hit
            if name in found:
                continue
            if not rest and j + 1 < len(phrases) and not _split_label(phrases[j + 1], labels):
                rest = _after_label(phrases[j + 1])
            if not rest and name in BELOW_OK:
                rest = _below(lines, i, phrase[0].x0) or []
            if not rest:
                continue
            value, raw = _value(name, rest)
            if value is None:
                continue
            found[name] = Field(value, confidence(rest), region(rest), raw)
    if "buyer_npwp" not in found:
        for line in lines:
            if value := parse.npwp(line.text):
                words = [w for w in line.words if re.sub(r"\D", "", w.text)[:4] == value[-16:][:4]]
                found["buyer_npwp"] = Field(
                    value, 0.9 * confidence(line.words), region(words or line.words), line.text
                )
                break
    if "buyer_name" not in found:
        found["buyer_name"] = _buyer_by_print(lines, labels)
    return found


def _buyer_by_print(lines: list[Line], labels) -> Field:
    """No 'buyer' label: the largest print near the top that is no title or label,
    a legal form (PT, CV, …) counting for a little more."""
    best: tuple[float, list[Word]] | None = None
    titles = set(TITLE_WORDS)
    for line in lines[:14]:
        for phrase in line.phrases():
            words = _name_part(phrase)
            text = norm(" ".join(w.text for w in words))
            if not text or text in titles or _split_label(phrase, labels):
                continue
            if not re.search(r"[a-z]{3}", text) or re.search(r"\d{5,}", text):
                continue
            score = max(w.height for w in words) + (
                3.0 if _LEGAL_FORM.match(words[0].text) else 0.0
            )
            if best is None or score > best[0] + 0.5:
                best = (score, words)
    if best is None:
        return Field(None, 0.0)
    words = best[1]
    text = " ".join(w.text for w in words)
    # A guess from print size: never above a review threshold on its own; buyer matching
    # (name, NPWP, address against our customers) decides.
    return Field(text, 0.75 * confidence(words), region(words), text)


def _name_part(phrase: list[Word]) -> list[Word]:
    """'PT Citra Grocer - Jl. Asia Afrika 8': the name before the dash."""
    for k, word in enumerate(phrase):
        if word.text in ("-", "\u2013", "\u2014", "|") and k > 0:
            return phrase[:k]
    return phrase


def _total(lines: list[Line]) -> Field:
    for line in lines[:6]:
        if not table.is_total_line(line):
            continue
        numbers = [
            w
            for w in line.words
            if parse.to_decimal(w.text) is not None and re.search(r"\d", w.text)
        ]
        if numbers:
            word = numbers[-1]
            value = parse.to_decimal(word.text)
            return Field(str(value), confidence([word]), region([word]), word.text)
    return Field(None, 0.0)
