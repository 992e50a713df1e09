"""Generate the purchase-order corpus: PDFs and their true fields as JSON.

    python tests/po_corpus/generate.py --out /tmp/po-corpus          # the whole corpus
    python tests/po_corpus/generate.py --out DIR --only grid-en-text-001,...

Deterministic: the same seed and count give the same documents' fields (the PDF bytes
depend on the ReportLab and Pillow versions). Every layout comes as text PDFs and as
scans, in each of its languages.
"""

import argparse
import json
import random
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from po_corpus import layouts, scan
from sfa.demo.modern_trade import CHAINS, product

SEED = 20261125
DEFAULT_COUNT = 60


@dataclass(frozen=True)
class Spec:
    id: str
    layout: str
    lang: str
    kind: str  # "text" or "scan"
    n: int


def specs(count: int = DEFAULT_COUNT) -> list[Spec]:
    """count documents spread over (layout, language, kind) in turn."""
    combos = [
        (layout, lang, kind)
        for layout, (langs, _, _) in layouts.STYLES.items()
        for lang in langs
        for kind in ("text", "scan")
    ]
    out = []
    for i in range(count):
        layout, lang, kind = combos[i % len(combos)]
        out.append(
            Spec(f"{layout}-{lang}-{kind}-{i // len(combos) + 1:03d}", layout, lang, kind, i)
        )
    return out


# A fixed representative subset for `make test`: every layout, both kinds, both languages.
TEST_SUBSET = (
    "grid-en-text-001",
    "grid-id-scan-001",
    "id_formal-id-text-001",
    "id_formal-id-scan-001",
    "compact-en-text-001",
    "compact-id-scan-001",
    "two_column-id-text-001",
    "two_column-id-scan-001",
    "minimal-en-text-001",
    "minimal-en-scan-001",
)


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), ROUND_HALF_UP)


def build(spec: Spec, seed: int = SEED) -> dict:
    rng = random.Random(f"{seed}:{spec.id}")
    chain = next(c for c in CHAINS if c.layout == spec.layout)
    _, number_style, date_style = layouts.STYLES[spec.layout]
    po_date = date(2026, 9, 1) + timedelta(days=rng.randrange(0, 90))
    # A few long orders run onto a second page.
    long_order = spec.layout in ("grid", "minimal") and rng.random() < 0.3
    count = rng.randint(22, 36) if long_order else rng.randint(2, min(9, len(chain.items)))
    lines = []
    items = list(chain.items)
    rng.shuffle(items)
    for k in range(count):
        sku, code, description = items[k % len(items)]
        p = product(sku)
        in_packs = p.packs and rng.random() < 0.5
        unit, factor = (p.packs[0][0], p.packs[0][1]) if in_packs else (p.unit.upper(), 1)
        quantity = Decimal(
            rng.randint(1, 30) if in_packs else rng.choice((12, 24, 36, 48, 60, 100, 120, 144))
        )
        # The chain's own price list: around ours, whole rupiah (or with cents).
        price = (p.price * factor * Decimal(rng.uniform(0.93, 1.02))).quantize(Decimal(1))
        if number_style == "en" and spec.layout != "compact" and rng.random() < 0.3:
            price += Decimal(rng.choice(("0.50", "0.25", "0.75")))
        if spec.layout == "minimal" and rng.random() < 0.4:
            description += " - Promo Pack Bundle"
        lines.append(
            {
                "buyer_code": code,
                "description": description,
                "quantity": str(quantity),
                "unit": unit,
                "unit_price": str(price),
                "line_total": str(_money(quantity * price)),
                "our_sku": sku,
                "our_quantity": str(quantity * factor),
            }
        )
    total = sum((Decimal(ln["line_total"]) for ln in lines), Decimal(0))
    prefix = {
        "grid": "PO",
        "id_formal": "SPP",
        "compact": "",
        "two_column": "BHG/PO/",
        "minimal": "CG-",
    }[spec.layout]
    number = f"{prefix}{po_date:%y%m}{rng.randrange(10000, 99999)}"
    return {
        "id": spec.id,
        "layout": spec.layout,
        "lang": spec.lang,
        "kind": spec.kind,
        "number_style": number_style,
        "date_style": date_style,
        "customer_code": chain.code,
        "buyer_name": chain.name,
        "buyer_npwp": chain.npwp,
        "buyer_address": chain.address,
        "delivery_address": rng.choice(chain.branches),
        "po_number": number,
        "po_date": po_date.isoformat(),
        "delivery_date": (po_date + timedelta(days=rng.randint(2, 10))).isoformat(),
        "currency": "IDR",
        "total": str(_money(total)),
        "lines": lines,
    }


def render(po: dict, seed: int = SEED) -> bytes:
    pdf = layouts.render(po)
    if po["kind"] == "scan":
        pdf = scan.degrade(pdf, random.Random(f"{seed}:scan:{po['id']}"))
    return pdf


def write(out: Path, chosen: Iterable[Spec], seed: int = SEED, log=print) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    chosen = list(chosen)
    for i, spec in enumerate(chosen, start=1):
        po = build(spec, seed)
        pdf_path = out / f"{spec.id}.pdf"
        pdf_path.write_bytes(render(po, seed))
        (out / f"{spec.id}.json").write_text(json.dumps(po, indent=1, ensure_ascii=False))
        written.append(pdf_path)
        log(f"[{i}/{len(chosen)}] {pdf_path.name}")
    return written


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--only", help="comma-separated document ids (e.g. the test subset)")
    args = parser.parse_args()
    chosen = specs(max(args.count, DEFAULT_COUNT) if args.only else args.count)
    if args.only:
        wanted = set(args.only.split(","))
        chosen = [s for s in chosen if s.id in wanted]
    write(args.out, chosen, args.seed)


if __name__ == "__main__":
    main()
