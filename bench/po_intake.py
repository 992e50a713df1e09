"""Purchase-order intake: field-level precision and recall on the generated corpus, text
PDFs and scans separately, and seconds per page; baseline in the same run: invoice2data
with templates written for the corpus's layouts (bench/_po_baseline.py).

The corpus (tests/po_corpus/generate.py: 5 layouts, Bahasa Indonesia and English, text
PDFs and scans rotated up to 2° with noise and JPEG artefacts) is generated into a
temporary folder. Ours reads each document as the intake job does — in the sandboxed
child process (integrations/pdf/sandbox.py), then extracts from the words — and its
lines are matched to our products with the demo catalogue (sfa/demo/modern_trade.py;
no database needed). Scoring: bench/_po_scoring.py.

Seconds per page: wall clock, and CPU (this process and its children: the sandbox,
Tesseract, pdftotext), which depends less on what else the machine is doing.

    .venv/bin/python bench/po_intake.py [--count 60] [--seed N] [--kinds text,scan]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from _common import ROOT, banner, log, machine_line, percentile
from _po_scoring import HEADER_FIELDS, LINE_FIELDS, Tally, align, same

sys.path.insert(0, str(ROOT / "tests"))

from po_corpus import generate

TARGET_F1 = {"text": 0.99, "scan": 0.95}
TARGET_SECONDS = {"text": 3.0, "scan": 15.0}


@dataclass
class Side:
    """One reader's results on one kind of document."""

    tally: Tally = field(default_factory=Tally)
    layouts: dict[str, Tally] = field(default_factory=dict)
    wall: list[float] = field(default_factory=list)  # seconds per page, per document
    cpu: list[float] = field(default_factory=list)
    pages: int = 0


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(fn):
    wall, cpu = time.perf_counter(), _cpu()
    result = fn()
    return result, time.perf_counter() - wall, _cpu() - cpu


class Ours:
    def __init__(self):
        from integrations.pdf.reader import PdfReader

        self.reader = PdfReader()
        self.extractions: dict[str, object] = {}

    def read(self, path: Path, kind: str) -> tuple[dict, int]:
        pages = self.reader.read(path.read_bytes())
        extraction = self.reader.extract(pages, {})
        self.extractions[path.stem] = extraction
        result = {
            "header": {k: f.value for k, f in extraction.header.items() if f.value is not None},
            "lines": [{k: line[k].value for k in LINE_FIELDS} for line in extraction.lines],
        }
        return result, len(pages)


class Matching:
    """Our lines matched to our products as the draft does, per chain (its aliases)."""

    def __init__(self):
        from sfa.demo.modern_trade import CHAINS, PRODUCTS
        from sfa.demo.trade import UNTAUGHT
        from sfa.purchase_orders.matching import Catalog, alias_key

        ids = {p.sku: n for n, p in enumerate(PRODUCTS, start=1)}
        self.sku_of = {n: sku for sku, n in ids.items()}
        products = {ids[p.sku]: (p.sku, p.name, p.unit) for p in PRODUCTS}
        conversions = {
            (ids[p.sku], unit): Decimal(factor) for p in PRODUCTS for unit, factor in p.packs
        }
        self.catalogs = {
            c.code: Catalog(
                products,
                {}
                if c.code == UNTAUGHT
                else {alias_key(code, None): ids[sku] for sku, code, _ in c.items},
                conversions,
            )
            for c in CHAINS
        }
        self.right = self.review = self.silently_wrong = self.lines = 0
        self.examples: list[tuple[str, dict, dict]] = []

    def add(self, extraction, truth: dict) -> None:
        """Each true line: matched right and passing review, left for review (the draft
        has an issue on it), or wrong and passing — the draft as the intake builds it."""
        from sfa.company.settings import CompanySettings
        from sfa.purchase_orders import draft as drafts
        from sfa.purchase_orders.matching import BuyerMatch

        draft = drafts.build(
            extraction.as_dict(),
            BuyerMatch(1, 1.0, "npwp"),
            self.catalogs[truth["customer_code"]],
        )
        flagged = {
            issue["where"].split(".")[0]
            for issue in drafts.issues(draft, CompanySettings(), rep_id=1)
            if issue["where"].startswith("lines[")
        }
        predicted = [{k: line[k]["value"] for k in LINE_FIELDS} for line in draft["lines"]]
        self.lines += len(truth["lines"])
        for i, j in align(predicted, truth["lines"]):
            want, line = truth["lines"][j], draft["lines"][i]
            ok = (
                line["product_id"] is not None
                and self.sku_of[line["product_id"]] == want["our_sku"]
                and same(line["our_quantity"], want["our_quantity"])
            )
            passes = f"lines[{i}]" not in flagged
            self.right += ok and passes
            self.review += not passes
            self.silently_wrong += passes and not ok
            if passes and not ok:
                self.examples.append((truth["id"], want, line))


def run(args) -> None:
    from _po_baseline import Invoice2DataReader

    readers = {"ours": Ours()}
    if not args.no_baseline:
        readers["invoice2data"] = Invoice2DataReader()
    kinds = [k for k in ("text", "scan") if k in args.kinds.split(",")]
    sides = {(name, kind): Side() for name in readers for kind in kinds}
    matching = Matching()
    with tempfile.TemporaryDirectory(prefix="sfa-po-bench-") as tmp:
        chosen = [s for s in generate.specs(args.count) if s.kind in kinds]
        log(f"generating {len(chosen)} documents (seed {args.seed})")
        paths = generate.write(Path(tmp), chosen, args.seed, log=lambda _: None)
        for n, (spec, path) in enumerate(zip(chosen, paths, strict=True), start=1):
            truth = generate.build(spec, args.seed)
            for name, reader in readers.items():
                (result, pages), wall, cpu = timed(
                    lambda r=reader, p=path, k=spec.kind: _read(r, p, k)
                )
                side = sides[(name, spec.kind)]
                side.tally.add(result, truth)
                side.layouts.setdefault(spec.layout, Tally()).add(result, truth)
                side.pages += pages
                side.wall.append(wall / max(pages, 1))
                side.cpu.append(cpu / max(pages, 1))
                if name == "ours":
                    matching.add(readers["ours"].extractions[spec.id], truth)
            log(f"[{n}/{len(chosen)}] {spec.id}")
    report(sides, kinds, list(readers), matching)


def _read(reader, path: Path, kind: str) -> tuple[dict, int]:
    if isinstance(reader, Ours):
        return reader.read(path, kind)
    from pypdfium2 import PdfDocument

    document = PdfDocument(str(path))
    pages = len(document)
    document.close()
    return reader.read(path, kind), pages


def _pct(x: float) -> str:
    return f"{100 * x:6.1f}"


def report(sides: dict, kinds: list[str], names: list[str], matching: Matching) -> None:
    for kind in kinds:
        banner(f"{kind} PDFs: precision / recall per field (%)")
        print(f"{'field':18s}" + "".join(f"{name:>24s}" for name in names))
        for key in [*HEADER_FIELDS, *(f"line.{k}" for k in LINE_FIELDS)]:
            cells = []
            for name in names:
                p, r, _ = sides[(name, kind)].tally.prf(key)
                cells.append(f"{_pct(p)} / {_pct(r)}")
            print(f"{key:18s}" + "".join(f"{c:>24s}" for c in cells))
        for name in names:
            side = sides[(name, kind)]
            t = side.tally
            lp, lr, lf = t.line_f1()
            _, _, hf = t.header_f1()
            wall, cpu = sorted(side.wall), sorted(side.cpu)
            print(
                f"{name}: line-item F1 {_pct(lf)} % (P {_pct(lp)}, R {_pct(lr)}), "
                f"header F1 {_pct(hf)} %, lines exact {t.lines_exact}/{t.lines_true}, "
                f"{t.failed} of {t.documents} documents gave nothing; "
                f"{side.pages} pages, s/page wall mean {sum(wall) / len(wall):.2f} "
                f"p50 {percentile(wall, 50):.2f} max {wall[-1]:.2f}, "
                f"CPU mean {sum(cpu) / len(cpu):.2f} max {cpu[-1]:.2f}"
            )
        for name in names:
            layouts = sides[(name, kind)].layouts
            print(
                f"{name} line-item F1 per layout: "
                + ", ".join(f"{k} {_pct(t.line_f1()[2]).strip()}" for k, t in layouts.items())
            )
        _targets(sides, kind, names)
    banner("draft lines (ours, demo catalogue; product and quantity in our unit)")
    print(
        f"{matching.lines} true lines: {matching.right} right and passing review, "
        f"{matching.review} left for review (an issue on the line), "
        f"{matching.silently_wrong} wrong yet passing review"
    )
    for doc, want, line in matching.examples:
        print(
            f"  {doc}: {want['buyer_code']} {want['our_sku']} x {want['our_quantity']} read as "
            f"{line['buyer_code']['value']} product {line['product_id']} "
            f"x {line['our_quantity']} (unit {line['unit']['value']})"
        )


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _targets(sides: dict, kind: str, names: list[str]) -> None:
    ours = sides[("ours", kind)]
    f1 = ours.tally.line_f1()[2]
    wall = sum(ours.wall) / len(ours.wall)
    cpu = sum(ours.cpu) / len(ours.cpu)
    goal_s = TARGET_SECONDS[kind]
    print(
        f"target line-item F1 >= {TARGET_F1[kind]:.0%}: {_met(f1 >= TARGET_F1[kind])}; "
        f"target <= {goal_s:.0f} s/page: wall {_met(wall <= goal_s)}, CPU {_met(cpu <= goal_s)}"
    )
    if "invoice2data" in names:
        base = sides[("invoice2data", kind)]
        base_f1 = base.tally.line_f1()[2]
        base_wall = sum(base.wall) / len(base.wall)
        base_cpu = sum(base.cpu) / len(base.cpu)
        print(
            f"ratios ours / invoice2data: line-item F1 "
            f"{f1 / base_f1 if base_f1 else float('inf'):.2f}x, header F1 "
            f"{ours.tally.header_f1()[2] / max(base.tally.header_f1()[2], 1e-9):.2f}x, "
            f"s/page wall {wall / base_wall:.2f}x, CPU {cpu / base_cpu:.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=generate.DEFAULT_COUNT)
    parser.add_argument("--seed", type=int, default=generate.SEED)
    parser.add_argument("--kinds", default="text,scan")
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()
    banner("purchase-order intake")
    print(machine_line())
    run(args)
    print(machine_line("end"))


if __name__ == "__main__":
    main()
