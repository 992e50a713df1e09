"""Bounds on what one purchase-order document may cost to read: they bound the reading
subprocess (integrations/pdf/sandbox.py), so that no document can hang or exhaust a
worker. (The size of an upload or an e-mail attachment is capped before it is stored:
the setting `po_max_upload_bytes`, SFA_PO_MAX_UPLOAD_BYTES, in sfa/config.py.)
"""

MiB = 1024 * 1024

# A purchase order has a few pages; 200 is a mistake (a catalogue) or an attack.
MAX_PAGES = 50
# Per document, for the reading subprocess: CPU seconds, wall-clock seconds, address space.
MAX_CPU_SECONDS = 240
MAX_WALL_SECONDS = 300
MAX_MEMORY_BYTES = 2048 * MiB
# A page larger than A0 (or an image above ~60 megapixels) is refused before rendering:
# a tiny PDF can declare a page of 200 x 200 inches (a "PDF bomb" for a renderer).
MAX_PAGE_POINTS = 3400.0  # A0 is 2384 x 3370 pt
MAX_IMAGE_PIXELS = 60_000_000
# Pages with fewer words of their own text than this are scans: they are OCRed.
MIN_TEXT_WORDS = 8
# Rendering resolution for OCR: a scanned page at its own resolution within these bounds
# (Tesseract reads 9-pt print well from 200 dpi; above 300 it only gets slower).
OCR_MIN_DPI = 200
OCR_MAX_DPI = 300
