"""Field-level scoring of purchase-order extractions against the corpus's true fields.

Both readers (ours and the invoice2data baseline) are scored the same way, from a plain
result: ``{"header": {field: value}, "lines": [{field: value}]}`` with values as text
(ISO dates, decimals as strings) or None.

- Header fields: a value given counts as predicted; right if it equals the true value.
- Line items: the predicted lines are first aligned to the true lines in order (a missed
  or an extra line costs that line, not every line after it), then each of the six line
  fields is counted as for the header. A predicted line aligned to no true line counts
  its values as wrong predictions.

Precision = right / predicted, recall = right / true; line-item F1 is the F1 of all six
line fields together (micro-averaged). A line is *exact* when all its six fields are right.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from sfa.purchase_orders.document import HEADER_FIELDS, LINE_FIELDS

# An aligned pair of lines shares at least this many fields (else: a miss and an extra).
MIN_SHARED = 3


def same(got, want) -> bool:
    """Numbers by value (100 = 100.00), text by words and case-insensitively."""
    if got is None or want is None:
        return got is None and want is None
    try:
        return Decimal(str(got)) == Decimal(str(want))
    except (InvalidOperation, ValueError):
        return " ".join(str(got).lower().split()) == " ".join(str(want).lower().split())


def _shared(got: dict, want: dict) -> int:
    return sum(same(got.get(k), want[k]) for k in LINE_FIELDS)


def align(predicted: list[dict], truth: list[dict]) -> list[tuple[int, int]]:
    """Order-preserving alignment maximising the fields shared (pairs with at least
    MIN_SHARED only); returns (predicted index, true index) pairs."""
    n, m = len(predicted), len(truth)
    score = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            best = max(score[i + 1][j], score[i][j + 1])
            shared = _shared(predicted[i], truth[j])
            if shared >= MIN_SHARED:
                best = max(best, shared + score[i + 1][j + 1])
            score[i][j] = best
    pairs, i, j = [], 0, 0
    while i < n and j < m:
        shared = _shared(predicted[i], truth[j])
        if shared >= MIN_SHARED and score[i][j] == shared + score[i + 1][j + 1]:
            pairs.append((i, j))
            i, j = i + 1, j + 1
        elif score[i][j] == score[i + 1][j]:
            i += 1
        else:
            j += 1
    return pairs


@dataclass
class Tally:
    """Counts per field: right, predicted, true; and lines exact / true."""

    right: Counter = field(default_factory=Counter)
    predicted: Counter = field(default_factory=Counter)
    true: Counter = field(default_factory=Counter)
    lines_exact: int = 0
    lines_true: int = 0
    documents: int = 0
    failed: int = 0  # documents the reader gave nothing for (no template, refused)

    def add(self, result: dict | None, truth: dict) -> None:
        self.documents += 1
        result = result or {"header": {}, "lines": []}
        if not result["header"] and not result["lines"]:
            self.failed += 1
        for k in HEADER_FIELDS:
            got = result["header"].get(k)
            self.true[k] += 1
            self.predicted[k] += got is not None
            self.right[k] += got is not None and same(got, truth[k])
        lines = result["lines"]
        for got in lines:
            for k in LINE_FIELDS:
                self.predicted[f"line.{k}"] += got.get(k) is not None
        for k in LINE_FIELDS:
            self.true[f"line.{k}"] += len(truth["lines"])
        self.lines_true += len(truth["lines"])
        for i, j in align(lines, truth["lines"]):
            right = [k for k in LINE_FIELDS if same(lines[i].get(k), truth["lines"][j][k])]
            for k in right:
                self.right[f"line.{k}"] += 1
            self.lines_exact += len(right) == len(LINE_FIELDS)

    def prf(self, key: str) -> tuple[float, float, float]:
        return _prf(self.right[key], self.predicted[key], self.true[key])

    def line_f1(self) -> tuple[float, float, float]:
        keys = [f"line.{k}" for k in LINE_FIELDS]
        return _prf(
            sum(self.right[k] for k in keys),
            sum(self.predicted[k] for k in keys),
            sum(self.true[k] for k in keys),
        )

    def header_f1(self) -> tuple[float, float, float]:
        return _prf(
            sum(self.right[k] for k in HEADER_FIELDS),
            sum(self.predicted[k] for k in HEADER_FIELDS),
            sum(self.true[k] for k in HEADER_FIELDS),
        )


def _prf(right: int, predicted: int, true: int) -> tuple[float, float, float]:
    p = right / predicted if predicted else 0.0
    r = right / true if true else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f
