"""Five purchase-order layouts drawn with ReportLab, in Bahasa Indonesia and English.

Each differs in what a reader must cope with: label wording and language, where the
header fields sit (a box on the right, two blocks side by side, one line of labels, the
number in the title), column order and names, number and date formats, ruled or plain
tables, wrapped descriptions and tables that continue on a second page.
"""

from dataclasses import dataclass
from decimal import Decimal
from io import BytesIO

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

from po_corpus import formats

WIDTH, HEIGHT = A4
MARGIN = 40
SELLER = "PT Demo Company"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    x: float  # left edge
    width: float
    align: str = "left"  # or "right"


class Page:
    """A canvas with a cursor; a table row that does not fit starts a new page."""

    def __init__(self, canvas: Canvas):
        self.c = canvas
        self.y = HEIGHT - MARGIN

    def text(self, x, y, value, size=9, bold=False, align="left"):
        self.c.setFont("Helvetica-Bold" if bold else "Helvetica", size)
        if align == "right":
            self.c.drawRightString(x, y, value)
        elif align == "center":
            self.c.drawCentredString(x, y, value)
        else:
            self.c.drawString(x, y, value)

    def new_page(self):
        self.c.showPage()
        self.y = HEIGHT - MARGIN


def _cell(page: Page, col: Column, y: float, value: str, bold=False):
    if col.align == "right":
        page.text(col.x + col.width - 3, y, value, bold=bold, align="right")
    else:
        page.text(col.x + 3, y, value, bold=bold)


def _table(page: Page, po: dict, columns, values, *, ruled: bool, row_h=16.0, wrap_at=None):
    """Header row, then one row per line (wrapped descriptions take two), new pages as
    needed with the header repeated."""

    def header():
        if ruled:
            page.c.rect(
                columns[0].x, page.y - 4, columns[-1].x + columns[-1].width - columns[0].x, row_h
            )
        else:
            page.c.line(columns[0].x, page.y - 5, columns[-1].x + columns[-1].width, page.y - 5)
        for col in columns:
            _cell(page, col, page.y, col.label, bold=True)
        page.y -= row_h

    header()
    for n, line in enumerate(po["lines"], start=1):
        cells = values(n, line)
        desc = cells.get("description", "")
        parts = [desc]
        if wrap_at and len(desc) > wrap_at:
            cut = desc.rfind(" ", 0, wrap_at)
            parts = [desc[:cut], desc[cut + 1 :]]
        needed = row_h * len(parts)
        if page.y - needed < MARGIN + 60:
            page.text(WIDTH - MARGIN, MARGIN, "./.", size=8, align="right")
            page.new_page()
            header()
        for col in columns:
            value = parts[0] if col.key == "description" else cells[col.key]
            _cell(page, col, page.y, value)
        if ruled:
            for col in columns:
                page.c.rect(col.x, page.y - 4, col.width, row_h, stroke=1, fill=0)
        page.y -= row_h
        for extra in parts[1:]:
            desc_col = next(c for c in columns if c.key == "description")
            _cell(page, desc_col, page.y, extra)
            page.y -= row_h
    return page


def _num(po, value: Decimal, decimals=2):
    return formats.amount(value, po["number_style"], decimals)


def _qty(po, value: Decimal):
    return formats.quantity(value, po["number_style"])


def _day(po, key):
    from datetime import date

    return formats.day(date.fromisoformat(po[key]), po["date_style"], po["lang"])


def _grid(page: Page, po: dict):
    en = po["lang"] == "en"
    page.text(MARGIN, page.y, po["buyer_name"], size=13, bold=True)
    page.text(MARGIN, page.y - 14, po["buyer_address"], size=8)
    page.text(MARGIN, page.y - 25, f"NPWP: {po['buyer_npwp']}", size=8)
    page.text(
        WIDTH - MARGIN,
        page.y,
        "PURCHASE ORDER" if en else "PESANAN PEMBELIAN",
        size=14,
        bold=True,
        align="right",
    )
    y = page.y - 50
    labels = (
        ("PO Number", "PO Date", "Delivery Date", "Currency")
        if en
        else ("No. Pesanan", "Tgl. Pesanan", "Tgl. Pengiriman", "Mata Uang")
    )
    values = (po["po_number"], _day(po, "po_date"), _day(po, "delivery_date"), po["currency"])
    page.c.rect(330, y - 50, WIDTH - MARGIN - 330, 64)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        page.text(336, y - i * 14, f"{label}:")
        page.text(440, y - i * 14, value)
    page.text(MARGIN, y, "To:" if en else "Kepada:", bold=True)
    page.text(MARGIN, y - 12, SELLER)
    page.text(MARGIN, y - 30, "Ship To:" if en else "Kirim Ke:", bold=True)
    page.text(MARGIN, y - 42, po["delivery_address"])
    page.y = y - 80
    heads = (
        ("No", "Item Code", "Description", "Qty", "Unit", "Unit Price", "Amount")
        if en
        else ("No", "Kode Item", "Keterangan", "Qty", "Satuan", "Harga", "Jumlah")
    )
    cols = [
        Column("no", heads[0], MARGIN, 25),
        Column("buyer_code", heads[1], MARGIN + 25, 60),
        Column("description", heads[2], MARGIN + 85, 190),
        Column("quantity", heads[3], MARGIN + 275, 40, "right"),
        Column("unit", heads[4], MARGIN + 315, 40),
        Column("unit_price", heads[5], MARGIN + 355, 75, "right"),
        Column("line_total", heads[6], MARGIN + 430, 85, "right"),
    ]
    _table(page, po, cols, lambda n, ln: _row(po, n, ln), ruled=True)
    page.text(MARGIN + 425, page.y - 4, "Total", bold=True, align="right")
    page.text(MARGIN + 512, page.y - 4, _num(po, Decimal(po["total"])), bold=True, align="right")


def _row(po, n, line, decimals=2):
    return {
        "no": str(n),
        "buyer_code": line["buyer_code"],
        "description": line["description"],
        "quantity": _qty(po, Decimal(line["quantity"])),
        "unit": line["unit"],
        "unit_price": _num(po, Decimal(line["unit_price"]), decimals),
        "line_total": _num(po, Decimal(line["line_total"]), decimals),
    }


def _id_formal(page: Page, po: dict):
    page.text(WIDTH / 2, page.y, "SURAT PESANAN PEMBELIAN", size=14, bold=True, align="center")
    page.text(WIDTH / 2, page.y - 16, po["buyer_name"], size=10, bold=True, align="center")
    page.text(WIDTH / 2, page.y - 28, po["buyer_address"], size=8, align="center")
    y = page.y - 60
    rows = (
        ("No. PO", po["po_number"]),
        ("Tanggal", _day(po, "po_date")),
        ("Tgl. Kirim", _day(po, "delivery_date")),
        ("Mata Uang", po["currency"]),
        ("NPWP", po["buyer_npwp"]),
        ("Alamat Kirim", po["delivery_address"]),
    )
    for i, (label, value) in enumerate(rows):
        page.text(MARGIN, y - i * 13, label)
        page.text(MARGIN + 80, y - i * 13, f": {value}")
    page.text(WIDTH - MARGIN, y, f"Kepada Yth. {SELLER}", align="right")
    page.y = y - len(rows) * 13 - 20
    cols = [
        Column("no", "No", MARGIN, 22),
        Column("buyer_code", "Kode Barang", MARGIN + 22, 62),
        Column("description", "Nama Barang", MARGIN + 84, 180),
        Column("unit", "Satuan", MARGIN + 264, 45),
        Column("quantity", "Jumlah", MARGIN + 309, 45, "right"),
        Column("unit_price", "Harga Satuan", MARGIN + 354, 80, "right"),
        Column("line_total", "Total Harga", MARGIN + 434, 81, "right"),
    ]
    _table(page, po, cols, lambda n, ln: _row(po, n, ln), ruled=False)
    page.c.line(MARGIN, page.y + 10, WIDTH - MARGIN, page.y + 10)
    page.text(MARGIN + 430, page.y - 4, "Jumlah Total", bold=True, align="right")
    page.text(MARGIN + 512, page.y - 4, _num(po, Decimal(po["total"])), bold=True, align="right")
    page.text(MARGIN, page.y - 50, "Hormat kami,", size=9)
    page.text(MARGIN, page.y - 90, "Bagian Pembelian", size=9)


def _compact(page: Page, po: dict):
    en = po["lang"] == "en"
    page.text(MARGIN, page.y, po["buyer_name"].upper(), size=12, bold=True)
    page.text(MARGIN, page.y - 13, po["buyer_address"], size=8)
    page.text(MARGIN, page.y - 24, f"NPWP {po['buyer_npwp']}", size=8)
    labels = (
        ("Order No.", "Order Date", "Req. Delivery")
        if en
        else ("No. Order", "Tgl Order", "Tgl Kirim")
    )
    values = (po["po_number"], _day(po, "po_date"), _day(po, "delivery_date"))
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        page.text(390, page.y - i * 12, label, size=8)
        page.text(WIDTH - MARGIN, page.y - i * 12, value, size=8, align="right")
    y = page.y - 50
    page.text(MARGIN, y, ("Deliver to: " if en else "Kirim ke: ") + po["delivery_address"], size=8)
    page.text(MARGIN, y - 12, ("Amounts in " if en else "Dalam ") + po["currency"], size=8)
    page.y = y - 36
    heads = (
        ("PLU", "Description", "Qty", "UOM", "Price", "Net")
        if en
        else ("PLU", "Nama Barang", "Qty", "Sat", "Harga", "Netto")
    )
    cols = [
        Column("buyer_code", heads[0], MARGIN, 60),
        Column("description", heads[1], MARGIN + 60, 215),
        Column("quantity", heads[2], MARGIN + 275, 45, "right"),
        Column("unit", heads[3], MARGIN + 330, 40),
        Column("unit_price", heads[4], MARGIN + 370, 70, "right"),
        Column("line_total", heads[5], MARGIN + 440, 75, "right"),
    ]
    _table(page, po, cols, lambda n, ln: _row(po, n, ln, decimals=0), ruled=False, row_h=14)
    page.text(MARGIN + 435, page.y - 4, "TOTAL", bold=True, align="right")
    page.text(MARGIN + 512, page.y - 4, _num(po, Decimal(po["total"]), 0), bold=True, align="right")


def _two_column(page: Page, po: dict):
    page.text(MARGIN, page.y, "PESANAN", size=16, bold=True)
    y = page.y - 28
    page.text(MARGIN, y, "Pembeli:", bold=True)
    page.text(MARGIN, y - 12, po["buyer_name"])
    page.text(MARGIN, y - 24, po["buyer_address"], size=7)
    page.text(MARGIN, y - 36, f"NPWP: {po['buyer_npwp']}", size=8)
    page.text(310, y, "Dikirim ke:", bold=True)
    page.text(310, y - 12, po["delivery_address"], size=7)
    y -= 60
    page.text(MARGIN, y, f"Nomor Pesanan: {po['po_number']}", size=8)
    page.text(215, y, f"Tanggal Pesanan: {_day(po, 'po_date')}", size=8)
    page.text(390, y, f"Tanggal Pengiriman: {_day(po, 'delivery_date')}", size=8)
    page.text(MARGIN, y - 12, f"Mata uang: {po['currency']}", size=8)
    page.y = y - 36
    cols = [
        Column("buyer_code", "Kode", MARGIN, 50),
        Column("description", "Deskripsi", MARGIN + 50, 200),
        Column("quantity", "Kuantitas", MARGIN + 250, 55, "right"),
        Column("unit", "Sat", MARGIN + 315, 35),
        Column("unit_price", "Harga (Rp)", MARGIN + 350, 80, "right"),
        Column("line_total", "Jumlah (Rp)", MARGIN + 430, 85, "right"),
    ]
    _table(page, po, cols, lambda n, ln: _row(po, n, ln, decimals=0), ruled=True, row_h=15)
    page.text(MARGIN + 425, page.y - 6, "Total Pesanan", bold=True, align="right")
    page.text(MARGIN + 512, page.y - 6, _num(po, Decimal(po["total"]), 0), bold=True, align="right")


def _minimal(page: Page, po: dict):
    page.text(MARGIN, page.y, f"Purchase Order #{po['po_number']}", size=15, bold=True)
    page.text(MARGIN, page.y - 18, f"{po['buyer_name']} - {po['buyer_address']}", size=8)
    page.text(MARGIN, page.y - 29, f"Tax ID (NPWP): {po['buyer_npwp']}", size=8)
    y = page.y - 52
    page.text(MARGIN, y, f"Date: {_day(po, 'po_date')}")
    page.text(200, y, f"Deliver by: {_day(po, 'delivery_date')}")
    page.text(380, y, f"Currency: {po['currency']}")
    page.text(MARGIN, y - 14, f"Deliver to: {po['delivery_address']}")
    page.y = y - 40
    cols = [
        Column("buyer_code", "SKU", MARGIN, 55),
        Column("description", "Product", MARGIN + 55, 200),
        Column("quantity", "Qty", MARGIN + 255, 45, "right"),
        Column("unit", "Pack", MARGIN + 310, 45),
        Column("unit_price", "Price", MARGIN + 355, 75, "right"),
        Column("line_total", "Total", MARGIN + 430, 85, "right"),
    ]
    _table(page, po, cols, lambda n, ln: _row(po, n, ln), ruled=False, wrap_at=34)
    page.text(MARGIN + 425, page.y - 6, "Order Total", bold=True, align="right")
    page.text(MARGIN + 512, page.y - 6, _num(po, Decimal(po["total"])), bold=True, align="right")


LAYOUTS = {
    "grid": _grid,
    "id_formal": _id_formal,
    "compact": _compact,
    "two_column": _two_column,
    "minimal": _minimal,
}
# Per layout: the languages it comes in, its number style and its date style.
STYLES = {
    "grid": (("en", "id"), "en", "dmy_slash"),
    "id_formal": (("id",), "id", "d_month_y"),
    "compact": (("en", "id"), "en", "iso"),
    "two_column": (("id",), "id", "dmy_dash"),
    "minimal": (("en",), "en", "d_mon_y"),
}


def render(po: dict) -> bytes:
    out = BytesIO()
    canvas = Canvas(out, pagesize=A4, invariant=1)
    canvas.setTitle(f"PO {po['po_number']}")
    LAYOUTS[po["layout"]](Page(canvas), po)
    canvas.showPage()
    canvas.save()
    return out.getvalue()
