"""Reads a document's pages into words: the PDF's own text where a page has it, OCR
where it is a scan; images (PNG, JPEG, TIFF) are OCRed as one-page documents.

Runs inside the sandbox subprocess (integrations/pdf/sandbox.py): it trusts nothing
about the input and raises DocumentRejected with a reason for whatever it refuses.
"""

import time
from io import BytesIO

from PIL import Image

from integrations.pdf import limits, ocr
from sfa.errors import UnsupportedMedia
from sfa.purchase_orders.document import DocumentRejected, PageWords, sniff_kind


def kind_of(content: bytes) -> str:
    try:
        return sniff_kind(content)
    except UnsupportedMedia as exc:
        raise DocumentRejected("not_a_pdf", exc.message) from exc


def read_document(content: bytes) -> list[PageWords]:
    if kind_of(content) == "image":
        return [_read_image(content)]
    return _read_pdf(content)


def _read_image(content: bytes) -> PageWords:
    Image.MAX_IMAGE_PIXELS = limits.MAX_IMAGE_PIXELS
    started = time.monotonic()
    try:
        image = Image.open(BytesIO(content))
        image.load()
    except Image.DecompressionBombError as exc:
        raise DocumentRejected("page_too_large", f"the image is too large to read: {exc}") from exc
    except MemoryError:
        raise  # the sandbox reports it as out_of_memory, not as a damaged file
    except Exception as exc:
        raise DocumentRejected("corrupt", f"the image cannot be read: {exc}") from exc
    dpi = float((image.info.get("dpi") or (200, 200))[0]) or 200.0
    k = 72.0 / dpi
    words, angle = ocr.ocr_words(image, points_per_pixel=k)
    return PageWords(
        image.width * k, image.height * k, "ocr", words, time.monotonic() - started, angle
    )


def _open_pdf(content: bytes):
    import pdfplumber
    from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect

    try:
        pdf = pdfplumber.open(BytesIO(content))
        count = len(pdf.pages)
    except (PDFPasswordIncorrect, PDFEncryptionError) as exc:
        raise DocumentRejected(
            "encrypted", "the PDF is password-protected; send it without a password"
        ) from exc
    except Exception as exc:
        cause = repr(exc).lower()  # pdfplumber wraps pdfminer's PDFPasswordIncorrect
        if "password" in cause or "encrypt" in cause:
            raise DocumentRejected(
                "encrypted", "the PDF is password-protected; send it without a password"
            ) from exc
        if _out_of_memory(exc):
            raise MemoryError from exc
        raise DocumentRejected(
            "corrupt", f"the PDF is damaged and cannot be read ({type(exc).__name__})"
        ) from exc
    if count == 0:
        raise DocumentRejected("corrupt", "the PDF has no pages")
    if count > limits.MAX_PAGES:
        pdf.close()
        raise DocumentRejected(
            "too_many_pages",
            f"the PDF has {count} pages; a purchase order may have at most {limits.MAX_PAGES}",
        )
    return pdf


def _read_pdf(content: bytes) -> list[PageWords]:
    import pypdfium2 as pdfium

    pdf = _open_pdf(content)
    rendered = None
    pages = []
    try:
        for index, page in enumerate(pdf.pages):
            started = time.monotonic()
            width, height = float(page.width), float(page.height)
            if width > limits.MAX_PAGE_POINTS or height > limits.MAX_PAGE_POINTS:
                raise DocumentRejected(
                    "page_too_large",
                    f"page {index + 1} is {width:.0f} x {height:.0f} pt, larger than A0",
                )
            words = _text_words(page, index)
            if len(words) >= limits.MIN_TEXT_WORDS:
                pages.append(PageWords(width, height, "text", words, time.monotonic() - started))
                continue
            if rendered is None:
                rendered = pdfium.PdfDocument(content)
            scale = _ocr_dpi(page) / 72.0
            image = rendered[index].render(scale=scale, grayscale=True).to_pil()
            words, angle = ocr.ocr_words(image, points_per_pixel=1 / scale)
            pages.append(PageWords(width, height, "ocr", words, time.monotonic() - started, angle))
    finally:
        pdf.close()
        if rendered is not None:
            rendered.close()
    return pages


def _out_of_memory(exc: BaseException) -> bool:
    """A MemoryError, or one that pdfplumber wrapped (PdfminerException carries its cause
    in args): a decompression bomb is too big, not damaged."""
    seen: list[BaseException] = [exc]
    while seen:
        current = seen.pop()
        if isinstance(current, MemoryError):
            return True
        seen += [a for a in current.args if isinstance(a, BaseException)]
        seen += [c for c in (current.__cause__, current.__context__) if c is not None]
    return False


def _text_words(page, index: int) -> list[tuple]:
    try:
        return [
            (w["text"], w["x0"], w["top"], w["x1"], w["bottom"], 100.0)
            for w in page.extract_words(keep_blank_chars=False, use_text_flow=False)
        ]
    except Exception as exc:
        if _out_of_memory(exc):
            raise MemoryError from exc  # the sandbox reports it as out_of_memory
        raise DocumentRejected(
            "corrupt", f"page {index + 1} of the PDF is damaged ({type(exc).__name__})"
        ) from exc


def _ocr_dpi(page) -> float:
    """The scan's own resolution, within OCR_MIN_DPI..OCR_MAX_DPI: rendering a 200-dpi
    scan at 300 dpi only interpolates pixels (and costs twice the OCR time), and a
    600-dpi one needs no more than 300. A page without an image: OCR_MAX_DPI."""
    best = None
    for image in page.images:
        shown = float(image["x1"]) - float(image["x0"])
        pixels = (image.get("srcsize") or (0, 0))[0]
        if shown > 0.5 * float(page.width) and pixels:
            dpi = float(pixels) * 72.0 / shown
            best = max(best or 0.0, dpi)
    if best is None:
        return limits.OCR_MAX_DPI
    return min(max(best, limits.OCR_MIN_DPI), limits.OCR_MAX_DPI)
