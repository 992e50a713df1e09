"""What the domain sees of a purchase-order document, whoever read it.

A reader (``integrations/pdf``) turns the uploaded bytes into pages of words with their
positions, and an extractor turns those words into header fields and line items, each
with a confidence and the page region it came from. The domain stores both, matches the
buyer and the lines against its own customers and products, and never parses a PDF
itself (DESIGN §4: sfa imports no integration).

Coordinates are PDF points from the page's top-left corner (x right, y down), for text
and OCR pages alike, so that a region can be drawn over the page whatever its kind.
"""

from dataclasses import asdict, dataclass, field
from typing import Protocol

PDF_MAGIC = b"%PDF-"
IMAGE_MAGIC = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"II*\x00", b"MM\x00*")


def sniff_kind(content: bytes) -> str:
    """'pdf' or 'image' from the first bytes (never from the file name or a header)."""
    from sfa.errors import UnsupportedMedia

    if PDF_MAGIC in content[:1024]:
        return "pdf"
    if content.startswith(IMAGE_MAGIC):
        return "image"
    raise UnsupportedMedia(
        "the file is neither a PDF nor an image (PNG, JPEG, TIFF)",
        hint="send the purchase order as a PDF, or a photo of it",
    )


class DocumentRejected(Exception):
    """The document cannot be read: ``code`` is machine-readable (``not_a_pdf``,
    ``encrypted``, ``corrupt``, ``too_many_pages``, ``page_too_large``, ``timeout``,
    ``out_of_memory``), ``reason`` says it for a person."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Region:
    page: int  # 0-based
    x0: float
    y0: float
    x1: float
    y1: float

    def as_list(self) -> list[float]:
        return [
            self.page,
            round(self.x0, 1),
            round(self.y0, 1),
            round(self.x1, 1),
            round(self.y1, 1),
        ]


@dataclass
class Field:
    """One extracted value: text as printed, parsed value (str, ISO date, decimal as str),
    confidence 0..1, and where it was found (None: not found)."""

    value: str | None
    confidence: float
    region: Region | None = None
    raw: str | None = None

    def as_dict(self) -> dict:
        return {
            "value": self.value,
            "confidence": round(self.confidence, 3),
            "region": self.region.as_list() if self.region else None,
            "raw": self.raw,
        }


HEADER_FIELDS = (
    "po_number",
    "po_date",
    "buyer_name",
    "buyer_npwp",
    "delivery_address",
    "delivery_date",
    "currency",
    "total",
)
LINE_FIELDS = ("buyer_code", "description", "quantity", "unit", "unit_price", "line_total")


@dataclass
class Extraction:
    header: dict[str, Field]
    lines: list[dict[str, Field]]
    # Text of the header area (first page, above the table): what buyer matching reads.
    header_text: str = ""
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "header": {k: f.as_dict() for k, f in self.header.items()},
            "lines": [{k: f.as_dict() for k, f in line.items()} for line in self.lines],
            "header_text": self.header_text,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class PageWords:
    """A page's words: (text, x0, y0, x1, y1, confidence 0..100) and how they were read."""

    width: float
    height: float
    source: str  # "text" (the PDF's own text) or "ocr"
    words: list[tuple[str, float, float, float, float, float]]
    seconds: float = 0.0
    rotation_deg: float = 0.0

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def of(cls, data: dict) -> "PageWords":
        return cls(
            width=data["width"],
            height=data["height"],
            source=data["source"],
            words=[tuple(w) for w in data["words"]],
            seconds=data.get("seconds", 0.0),
            rotation_deg=data.get("rotation_deg", 0.0),
        )


class DocumentReader(Protocol):
    def read(self, content: bytes) -> list[PageWords]:
        """Pages of words; raises DocumentRejected for what cannot be read."""
        ...

    def extract(self, pages: list[PageWords], hints: dict) -> Extraction:
        """Header fields and line items from the words, with a customer's layout hints."""
        ...
