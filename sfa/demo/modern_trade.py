"""Modern-trade demo data: supermarket chains that email purchase orders, the products
they order (with the Coretax goods and unit codes), and the chains' own item codes.

Pure data, shared by the demo seed (`sfa.demo.seed_modern_trade`) and the purchase-order
test corpus generator (tests/po_corpus), so that the generated POs name customers and
products that exist in the demo and test databases.
"""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class TradeProduct:
    sku: str  # our product code
    name: str
    unit: str
    price: Decimal
    coretax_code: str  # Coretax goods/service code (6 digits)
    coretax_unit: str  # Coretax unit code (UM.xxxx)
    # Units a chain may order in besides ours, with how many of ours each holds.
    packs: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class Chain:
    code: str
    name: str
    npwp: str  # 16 digits
    tku: str  # 6 digits: the branch (000000 = head office)
    address: str
    email: str
    branches: tuple[str, ...]
    layout: str  # the layout of its PO documents in the corpus
    # (our sku, the chain's item code, the chain's description of the item)
    items: tuple[tuple[str, str, str], ...]


PRODUCTS = (
    TradeProduct(
        "MG-085",
        "Mie Goreng Spesial 85 g",
        "pcs",
        Decimal("3100"),
        "190200",
        "UM.0021",
        (("CTN", 40),),
    ),
    TradeProduct(
        "MK-075",
        "Mie Kuah Ayam Bawang 75 g",
        "pcs",
        Decimal("2900"),
        "190200",
        "UM.0021",
        (("CTN", 40),),
    ),
    TradeProduct(
        "KP-200",
        "Kopi Bubuk Robusta 200 g",
        "pcs",
        Decimal("18500"),
        "090100",
        "UM.0021",
        (("CTN", 24),),
    ),
    TradeProduct(
        "TH-025",
        "Teh Celup Melati isi 25",
        "box",
        Decimal("7250"),
        "090200",
        "UM.0022",
        (("CTN", 48),),
    ),
    TradeProduct(
        "GL-1KG",
        "Gula Pasir Kristal 1 kg",
        "pcs",
        Decimal("17900"),
        "170100",
        "UM.0021",
        (("BAL", 20),),
    ),
    TradeProduct(
        "MY-2L",
        "Minyak Goreng Sawit 2 L",
        "pouch",
        Decimal("36500"),
        "151100",
        "UM.0021",
        (("CTN", 6),),
    ),
    TradeProduct(
        "SB-085",
        "Sabun Mandi Batang 85 g",
        "pcs",
        Decimal("4200"),
        "340100",
        "UM.0021",
        (("CTN", 72),),
    ),
    TradeProduct(
        "SP-170",
        "Sampo Sachet Lidah Buaya 170 ml",
        "btl",
        Decimal("21900"),
        "330500",
        "UM.0021",
        (("CTN", 24),),
    ),
    TradeProduct(
        "DT-800",
        "Deterjen Bubuk Lemon 800 g",
        "pcs",
        Decimal("24750"),
        "340200",
        "UM.0021",
        (("CTN", 12),),
    ),
    TradeProduct(
        "SU-1L",
        "Susu UHT Cokelat 1 L",
        "pcs",
        Decimal("19800"),
        "040100",
        "UM.0021",
        (("CTN", 12),),
    ),
    TradeProduct(
        "AQ-600", "Air Mineral 600 ml", "btl", Decimal("3500"), "220100", "UM.0021", (("CTN", 24),)
    ),
    TradeProduct(
        "BS-300",
        "Biskuit Kelapa 300 g",
        "pcs",
        Decimal("12600"),
        "190500",
        "UM.0021",
        (("CTN", 20),),
    ),
    TradeProduct(
        "KC-140", "Kecap Manis 140 ml", "btl", Decimal("6900"), "210300", "UM.0021", (("CTN", 48),)
    ),
    TradeProduct(
        "SR-250",
        "Sirup Rasa Jeruk 250 ml",
        "btl",
        Decimal("15400"),
        "220200",
        "UM.0021",
        (("CTN", 12),),
    ),
)

CHAINS = (
    Chain(
        "MT-SUPERINDO",
        "PT Lumbung Pangan Sejahtera",
        "0213456789012345",
        "000000",
        "Jl. Gatot Subroto Kav. 21, Jakarta Selatan 12930",
        "ap@lumbungpangan.example",
        (
            "Gudang Cakung, Jl. Raya Bekasi Km 21, Jakarta Timur",
            "Toko Kemang, Jl. Kemang Raya 8, Jakarta Selatan",
        ),
        "grid",
        (
            ("MG-085", "100234", "MIE GORENG SPESIAL 85GR"),
            ("MK-075", "100235", "MIE KUAH AYAM BAWANG 75GR"),
            ("KP-200", "220871", "KOPI ROBUSTA BUBUK 200GR"),
            ("GL-1KG", "310045", "GULA PASIR KRISTAL 1KG"),
            ("MY-2L", "310112", "MINYAK GORENG SAWIT POUCH 2L"),
            ("SB-085", "450019", "SABUN MANDI BATANG 85GR"),
            ("SU-1L", "510330", "SUSU UHT COKELAT 1L"),
            ("AQ-600", "520001", "AIR MINERAL BTL 600ML"),
            ("BS-300", "530778", "BISKUIT KELAPA 300GR"),
        ),
    ),
    Chain(
        "MT-HARMONI",
        "PT Harmoni Ritel Nusantara",
        "0319876543210987",
        "000001",
        "Jl. Pluit Raya No. 5, Jakarta Utara 14440",
        "finance@harmoniritel.example",
        ("DC Sunter, Jl. Danau Sunter Utara Blok B, Jakarta Utara",),
        "id_formal",
        (
            ("MG-085", "HR-0101", "Mie Goreng Spesial 85 gr"),
            ("TH-025", "HR-0220", "Teh Celup Melati 25s"),
            ("GL-1KG", "HR-0305", "Gula Pasir 1 Kg"),
            ("MY-2L", "HR-0311", "Minyak Goreng 2 Liter Pouch"),
            ("DT-800", "HR-0402", "Deterjen Bubuk Lemon 800 gr"),
            ("SP-170", "HR-0415", "Sampo Lidah Buaya 170 ml"),
            ("KC-140", "HR-0507", "Kecap Manis Botol 140 ml"),
            ("SR-250", "HR-0512", "Sirup Jeruk 250 ml"),
        ),
    ),
    Chain(
        "MT-SEGAR",
        "PT Segar Jaya Mart",
        "0422233344455566",
        "000000",
        "Jl. Daan Mogot Km 12, Jakarta Barat 11730",
        "po@segarjaya.example",
        (
            "Cabang Kebon Jeruk, Jl. Panjang 30, Jakarta Barat",
            "Cabang Cengkareng, Jl. Kamal Raya 2, Jakarta Barat",
        ),
        "compact",
        (
            ("MK-075", "8990001", "MIE KUAH AYAM BWG 75G"),
            ("KP-200", "8990014", "KOPI ROBUSTA 200G"),
            ("TH-025", "8990022", "TEH CELUP MELATI 25S"),
            ("SB-085", "8990035", "SABUN BATANG 85G"),
            ("SU-1L", "8990041", "SUSU UHT COKLAT 1LTR"),
            ("AQ-600", "8990057", "AIR MINERAL 600ML"),
            ("BS-300", "8990063", "BISKUIT KELAPA 300G"),
            ("KC-140", "8990079", "KECAP MANIS 140ML"),
        ),
    ),
    Chain(
        "MT-BAHAGIA",
        "CV Bahagia Swalayan",
        "0534567890123456",
        "000000",
        "Jl. Raya Bogor Km 19, Jakarta Timur 13510",
        "admin@bahagia.example",
        ("Swalayan Kramat Jati, Jl. Raya Bogor Km 19, Jakarta Timur",),
        "two_column",
        (
            ("MG-085", "BHG-11", "Mie Goreng Spesial 85g"),
            ("GL-1KG", "BHG-27", "Gula Kristal 1kg"),
            ("MY-2L", "BHG-31", "Minyak Sawit 2L"),
            ("DT-800", "BHG-45", "Deterjen Lemon 800g"),
            ("SP-170", "BHG-52", "Sampo Lidah Buaya 170ml"),
            ("SR-250", "BHG-66", "Sirup Jeruk 250ml"),
            ("AQ-600", "BHG-70", "Air Mineral 600ml"),
        ),
    ),
    Chain(
        "MT-CITRA",
        "PT Citra Grocer Indonesia",
        "0645678901234567",
        "000002",
        "Jl. Asia Afrika No. 8, Jakarta Pusat 10270",
        "purchasing@citragrocer.example",
        ("Citra Grocer Senayan, Jl. Asia Afrika 8, Jakarta Pusat",),
        "minimal",
        (
            ("KP-200", "CG-3001", "Robusta Ground Coffee 200g"),
            ("TH-025", "CG-3002", "Jasmine Tea Bags 25s"),
            ("SU-1L", "CG-3010", "UHT Chocolate Milk 1L"),
            ("BS-300", "CG-3021", "Coconut Biscuits 300g"),
            ("SB-085", "CG-3030", "Bath Soap Bar 85g"),
            ("SP-170", "CG-3031", "Aloe Vera Shampoo 170ml"),
            ("MK-075", "CG-3040", "Chicken Onion Noodle Soup 75g"),
            ("KC-140", "CG-3050", "Sweet Soy Sauce 140ml"),
            ("SR-250", "CG-3060", "Orange Syrup 250ml"),
        ),
    ),
)


def product(sku: str) -> TradeProduct:
    return next(p for p in PRODUCTS if p.sku == sku)
