"""The words purchase orders use for their fields and columns, in Bahasa Indonesia and
English. Lower case, punctuation removed (see `norm`). A customer's layout hints add
their own wording on top (learned from corrections, sfa/purchase_orders/learning.py)."""

import re

HEADER_LABELS = {
    "po_number": (
        "po number",
        "po no",
        "no po",
        "nomor po",
        "no pesanan",
        "nomor pesanan",
        "order no",
        "no order",
        "order number",
        "nomor order",
        "purchase order",
        "po",
        "no surat pesanan",
        "nomor surat pesanan",
    ),
    "po_date": (
        "po date",
        "tgl pesanan",
        "tanggal pesanan",
        "order date",
        "tgl order",
        "tanggal order",
        "tanggal po",
        "tgl po",
        "tanggal",
        "date",
        "tgl",
    ),
    "delivery_date": (
        "delivery date",
        "tgl pengiriman",
        "tanggal pengiriman",
        "tgl kirim",
        "tanggal kirim",
        "req delivery",
        "requested delivery",
        "deliver by",
        "delivery by",
        "tanggal antar",
    ),
    "delivery_address": (
        "ship to",
        "kirim ke",
        "alamat kirim",
        "dikirim ke",
        "deliver to",
        "alamat pengiriman",
        "delivery address",
        "delivery to",
        "lokasi pengiriman",
    ),
    "buyer_name": ("pembeli", "buyer", "bill to", "customer", "pemesan"),
    "currency": ("currency", "mata uang", "amounts in", "dalam", "valuta"),
    "buyer_npwp": ("npwp", "tax id npwp", "tax id"),
}
TOTAL_LABELS = (
    "total",
    "grand total",
    "jumlah total",
    "order total",
    "total pesanan",
    "total order",
    "total harga",
    "subtotal",
    "sub total",
    "total amount",
    "jumlah",
)
COLUMN_LABELS = {
    "no": ("no", "#", "nomor"),
    "buyer_code": (
        "item code",
        "kode item",
        "kode barang",
        "kode",
        "plu",
        "sku",
        "article",
        "artikel",
        "item no",
        "barcode",
        "kode produk",
        "code",
    ),
    "description": (
        "description",
        "keterangan",
        "nama barang",
        "deskripsi",
        "product",
        "produk",
        "item",
        "uraian",
        "nama produk",
        "item description",
        "barang",
    ),
    "quantity": ("qty", "quantity", "kuantitas", "banyaknya", "jml", "order qty", "jumlah"),
    "unit": ("unit", "satuan", "uom", "sat", "pack", "kemasan"),
    "unit_price": (
        "unit price",
        "price",
        "harga",
        "harga satuan",
        "harga unit",
        "price unit",
        "harga rp",
    ),
    "line_total": (
        "amount",
        "total",
        "jumlah",
        "total harga",
        "net",
        "netto",
        "jumlah rp",
        "subtotal",
        "line total",
        "nilai",
    ),
}
# Words of a document's title, never a buyer's name.
TITLE_WORDS = (
    "purchase order",
    "pesanan pembelian",
    "surat pesanan pembelian",
    "surat pesanan",
    "pesanan",
    "order",
    "po",
)


def norm(text: str) -> str:
    """Lower case, '(Rp)' and punctuation dropped, spaces single: 'Harga (Rp):' → 'harga rp'."""
    s = text.lower().replace("(rp)", " rp ").replace("#", " # ")
    s = re.sub(r"[^\w#]+", " ", s)
    return " ".join(s.split())


# Letters OCR takes for one another in small or noisy print.
CONFUSABLE = {
    frozenset(pair)
    for pair in (
        "il",
        "i1",
        "l1",
        "it",
        "lt",
        "ij",
        "o0",
        "od",
        "oq",
        "ce",
        "co",
        "s5",
        "b8",
        "g6",
        "z2",
        "uv",
        "nh",
        "rn",
        "ea",
    )
}


def confusable(a: str, b: str) -> bool:
    """Two strings of one length that differ only in letters OCR confuses."""
    return len(a) == len(b) and all(
        x == y or frozenset((x, y)) in CONFUSABLE for x, y in zip(a, b, strict=True)
    )


def slips(text: str, option: str) -> int | None:
    """Letters in which two strings of one length differ (None: lengths differ)."""
    if len(text) != len(option):
        return None
    return sum(a != b for a, b in zip(option, text, strict=True))


def near(text: str, option: str, *, min_letters: int = 4) -> bool:
    """`text` (normalised) is the label `option` as OCR reads it: the same, glued into one
    word ('itemcode'), or with one letter wrong ('reg delivery') when the label has at
    least `min_letters` letters, or two letters OCR confuses ('jumian' for 'jumlah') when
    it has six or more. A three-letter label may only have its first letter
    wrong ('aty' for 'qty'): any other slip makes another word too easily."""
    if text == option:
        return True
    if " " in option and " " not in text:
        glued = option.replace(" ", "")
        return text == glued or (len(glued) >= 6 and slips(text, glued) == 1)
    letters = len(option.replace(" ", ""))
    if letters >= 6 and slips(text, option) == 2 and confusable(text, option):
        return True  # 'jumian' for 'jumlah': l read as i, h as n
    if slips(text, option) != 1 or text.count(" ") != option.count(" "):
        return False
    if letters >= max(min_letters, 4):
        return True
    return letters == 3 and min_letters <= 3 and option[1:] == text[1:]
