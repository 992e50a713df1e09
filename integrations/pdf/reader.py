"""The DocumentReader the intake job uses (sfa.purchase_orders.document)."""

from integrations.pdf import extract, sandbox
from sfa.purchase_orders.document import Extraction, PageWords


class PdfReader:
    """Reads in a sandboxed subprocess (time and memory limits), extracts in-process."""

    def read(self, content: bytes) -> list[PageWords]:
        return sandbox.read_sandboxed(content)

    def extract(self, pages: list[PageWords], hints: dict) -> Extraction:
        return extract.extract(pages, hints)
