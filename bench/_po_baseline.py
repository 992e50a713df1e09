"""The baseline for bench/po_intake.py: invoice2data with templates written for the
corpus's layouts (bench/po_templates: one per layout and language, as a user of
invoice2data writes one per supplier).

Text PDFs are read with invoice2data's own `pdftotext` input (poppler, `-layout`).
Scans go through the pipeline of invoice2data's `tesseract` input — pages at 300 dpi,
Tesseract `--psm 6` with `preserve_interword_spaces`, its text-only PDF turned back into
laid-out text by `pdftotext -layout` — with the pages rendered by pypdfium2 (what our
reader renders with) in place of ImageMagick, which that input shells out to and which
Debian's security policy forbids to read PDFs. (poppler's `pdftoppm` would do, but takes
~15 s of CPU per page for these JPEG scans: the baseline would be timed on rendering.)
"""

from __future__ import annotations

import logging
import subprocess
import tempfile
from datetime import date, datetime
from pathlib import Path

import pypdfium2 as pdfium
from _common import ROOT

TEMPLATES = ROOT / "bench" / "po_templates"
LANGUAGES = "ind+eng"
# invoice2data's names for what our draft calls header fields and line fields.
HEADER_NAMES = {
    "invoice_number": "po_number",
    "date": "po_date",
    "date_delivery": "delivery_date",
    "amount": "total",
    "currency": "currency",
    "buyer_name": "buyer_name",
    "buyer_npwp": "buyer_npwp",
    "delivery_address": "delivery_address",
}
LINE_NAMES = {
    "buyer_code": "buyer_code",
    "name": "description",
    "quantity": "quantity",
    "unit": "unit",
    "price_unit": "unit_price",
    "line_total": "line_total",
}


class TesseractLayout:
    """An invoice2data input backend: the `tesseract` input's pipeline (see above)."""

    __name__ = "tesseract_pdftoppm"

    @staticmethod
    def to_text(path: str, area_details=None) -> str:
        env = {"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"}
        texts = []
        with tempfile.TemporaryDirectory(prefix="sfa-i2d-") as tmp:
            document = pdfium.PdfDocument(path)
            images = []
            for n, page in enumerate(document):
                image = Path(tmp) / f"page-{n:03d}.png"
                page.render(scale=300 / 72, grayscale=True).to_pil().save(image)
                images.append(image)
            document.close()
            for image in images:
                out = image.with_suffix("")
                subprocess.run(
                    [
                        *("tesseract", str(image), str(out), "-l", LANGUAGES, "--oem", "3"),
                        *("--psm", "6", "-c", "preserve_interword_spaces=1"),
                        *("-c", "textonly_pdf=1", "pdf"),
                    ],
                    check=True,
                    capture_output=True,
                    env=env,
                )
                laid_out = subprocess.run(
                    ["pdftotext", "-layout", "-enc", "UTF-8", f"{out}.pdf", "-"],
                    check=True,
                    capture_output=True,
                    env=env,
                )
                texts.append(laid_out.stdout.decode("utf-8", errors="replace"))
        return "\f".join(texts)


def _text(value) -> str | None:
    if isinstance(value, list):  # the regex matched several different values
        value = value[0] if value else None
    if value is None or value == "":
        return None
    if isinstance(value, datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float):
        return repr(value)
    return str(value)


class Invoice2DataReader:
    def __init__(self):
        from invoice2data.extract.loader import read_templates

        logging.getLogger("invoice2data").setLevel(logging.ERROR)
        self.templates = read_templates(str(TEMPLATES))
        if not self.templates:
            raise SystemExit(f"no invoice2data templates in {TEMPLATES}")

    def read(self, path: Path, kind: str) -> dict:
        """The result in the scorer's shape (bench/_po_scoring.py); empty when no
        template matched or a required field was not found."""
        from invoice2data import extract_data
        from invoice2data.input import pdftotext

        module = pdftotext if kind == "text" else TesseractLayout
        found = extract_data(str(path), templates=self.templates, input_module=module)
        header = {ours: _text(found.get(theirs)) for theirs, ours in HEADER_NAMES.items()}
        lines = [
            {ours: _text(row.get(theirs)) for theirs, ours in LINE_NAMES.items()}
            for row in found.get("lines") or []
        ]
        if not found:
            header = {}
        return {"header": {k: v for k, v in header.items() if v is not None}, "lines": lines}
