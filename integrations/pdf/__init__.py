"""Purchase-order documents: words with positions from text PDFs, Tesseract OCR for
scanned pages and images (chosen per page), run in a sandboxed subprocess with time and
memory limits; then header fields and line items found from word positions."""
