"""Purchase-order PDFs for the demo: what two of the chains e-mail us (sfa/demo/trade.py).

Written as plain PDF 1.4 (the standard Helvetica fonts, one text object per word run),
so that the demo needs no PDF library beyond the reader's own: the intake reads them
exactly like a chain's generated PDF. The test corpus (tests/po_corpus) draws many more
layouts, and scans, with ReportLab.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

A4 = (595, 842)


@dataclass(frozen=True)
class Text:
    x: float
    y: float  # from the top of the page, as a reader sees it
    text: str
    size: float = 9
    bold: bool = False


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf(items: list[Text]) -> bytes:
    """A one-page A4 PDF with the given texts."""
    height = A4[1]
    content = "\n".join(
        f"BT /{'F2' if t.bold else 'F1'} {t.size} Tf 1 0 0 1 {t.x:.1f} {height - t.y:.1f} Tm "
        f"({_escape(t.text)}) Tj ET"
        for t in items
    ).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R /F2 5 0 R >> >> /Contents 6 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica-Bold /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


@dataclass(frozen=True)
class PoLine:
    code: str
    description: str
    quantity: int
    unit: str
    price: Decimal


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def purchase_order(
    *,
    buyer: str,
    npwp: str,
    address: str,
    number: str,
    day: date,
    deliver_to: str,
    lines: list[PoLine],
    english: bool,
) -> bytes:
    """A chain's PO: its name and NPWP on top, the number, dates and delivery address
    under their labels, the items as a table, the total under it."""
    labels = (
        ("PURCHASE ORDER", "PO Number:", "PO Date:", "Ship To:", "Currency:")
        if english
        else ("PESANAN PEMBELIAN", "No. Pesanan:", "Tgl. Pesanan:", "Kirim Ke:", "Mata Uang:")
    )
    heads = (
        ("No", "Item Code", "Description", "Qty", "Unit", "Unit Price", "Amount")
        if english
        else ("No", "Kode Item", "Keterangan", "Qty", "Satuan", "Harga", "Jumlah")
    )
    columns = (40, 65, 130, 330, 370, 420, 500)
    items = [
        Text(40, 40, buyer, 13, bold=True),
        Text(400, 40, labels[0], 13, bold=True),
        Text(40, 56, address, 8),
        Text(40, 68, f"NPWP: {npwp}", 8),
        Text(340, 96, labels[1]),
        Text(440, 96, number),
        Text(340, 110, labels[2]),
        Text(440, 110, day.strftime("%d/%m/%Y")),
        Text(340, 124, labels[4]),
        Text(440, 124, "IDR"),
        Text(40, 96, labels[3], bold=True),
        Text(40, 110, deliver_to),
    ]
    items += [Text(x, 170, head, bold=True) for x, head in zip(columns, heads, strict=True)]
    total = Decimal(0)
    for n, line in enumerate(lines, start=1):
        amount = line.price * line.quantity
        total += amount
        cells = [str(n), line.code, line.description, str(line.quantity), line.unit]
        cells += [_money(line.price), _money(amount)]
        y = 170 + 16 * n
        items += [Text(x, y, cell) for x, cell in zip(columns, cells, strict=True)]
    y = 170 + 16 * (len(lines) + 2)
    items += [Text(420, y, "Total", bold=True), Text(500, y, _money(total), bold=True)]
    return pdf(items)
