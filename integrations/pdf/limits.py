"""Bounds on what one purchase-order document may cost (DESIGN §5.12).

The upload cap is checked from Content-Length before the body is read
(api/routers/purchase_orders.py); the others bound the reading subprocess
(integrations/pdf/sandbox.py), so that no document can hang or exhaust a worker.
"""

import os

MiB = 1024 * 1024

# Largest document accepted (upload or e-mail attachment). A 30-page scan at 200 dpi is
# ~10 MB; anything far larger is a photo album or an attack. SFA_PO_MAX_BYTES overrides.
MAX_UPLOAD_BYTES = int(os.environ.get("SFA_PO_MAX_BYTES", 20 * MiB))
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
# Rendering resolution for OCR.
OCR_DPI = 300
