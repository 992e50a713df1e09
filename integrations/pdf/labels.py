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
