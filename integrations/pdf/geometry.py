"""Words into lines and phrases, from their positions alone."""

from dataclasses import dataclass
from statistics import median

from sfa.purchase_orders.document import PageWords, Region


@dataclass(frozen=True)
class Word:
    text: str
    x0: float
    y0: float
    x1: float
    y1: float
    conf: float  # 0..100
    page: int

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@dataclass
class Line:
    page: int
    words: list[Word]

    @property
    def y0(self) -> float:
        return min(w.y0 for w in self.words)

    @property
    def y1(self) -> float:
        return max(w.y1 for w in self.words)

    @property
    def text(self) -> str:
        return " ".join(w.text for w in self.words)

    def phrases(self) -> list[list[Word]]:
        """Runs of words closer than a column gap: more than ~1.1 average characters
        apart is a new phrase (a space is half a character; columns are further apart)."""
        chars = [(w.x1 - w.x0) / max(len(w.text), 1) for w in self.words]
        gap = 1.1 * median(chars)
        out: list[list[Word]] = [[self.words[0]]]
        for prev, word in zip(self.words, self.words[1:], strict=False):
            if word.x0 - prev.x1 > gap:
                out.append([word])
            else:
                out[-1].append(word)
        return out


def words_of(pages: list[PageWords]) -> list[list[Word]]:
    return [
        [Word(t, x0, y0, x1, y1, conf, index) for (t, x0, y0, x1, y1, conf) in page.words]
        for index, page in enumerate(pages)
    ]


def lines_of(words: list[Word]) -> list[Line]:
    """Words whose vertical centres lie within half a word height of a line's join it."""
    lines: list[Line] = []
    for word in sorted(words, key=lambda w: ((w.y0 + w.y1) / 2, w.x0)):
        yc = (word.y0 + word.y1) / 2
        if lines:
            last = lines[-1]
            last_yc = median((w.y0 + w.y1) / 2 for w in last.words)
            if abs(yc - last_yc) <= 0.5 * max(word.height, 4.0):
                last.words.append(word)
                continue
        lines.append(Line(word.page, [word]))
    for line in lines:
        line.words.sort(key=lambda w: w.x0)
    return lines


def region(words: list[Word]) -> Region | None:
    if not words:
        return None
    return Region(
        words[0].page,
        min(w.x0 for w in words),
        min(w.y0 for w in words),
        max(w.x1 for w in words),
        max(w.y1 for w in words),
    )


def confidence(words: list[Word]) -> float:
    return sum(w.conf for w in words) / (100.0 * len(words)) if words else 0.0
