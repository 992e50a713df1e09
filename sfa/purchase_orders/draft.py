"""The draft order of an intake: extracted values with their confidence and region, the
matches, the cross-checks, and the issues that keep it from being confirmed as it is.

Nothing below a threshold is taken silently: every such value is an issue that a person
resolves by correcting it (PATCH), which sets its confidence to 1.
"""

from decimal import Decimal

from sfa.company.settings import CompanySettings
from sfa.purchase_orders.document import HEADER_FIELDS, LINE_FIELDS
from sfa.purchase_orders.matching import BuyerMatch, Catalog, match_line

REQUIRED_HEADER = ("po_number", "po_date")
BUYER_FIELDS = ("buyer_name", "buyer_npwp")


def build(extraction: dict, buyer: BuyerMatch, catalog: Catalog) -> dict:
    header = {
        name: dict(extraction["header"].get(name) or {"value": None, "confidence": 0.0})
        for name in HEADER_FIELDS
    }
    lines = []
    for raw in extraction["lines"]:
        line = {name: dict(raw[name]) for name in LINE_FIELDS}
        lines.append(line)
    draft = {
        "header": header,
        "customer": {
            "id": buyer.customer_id,
            "score": buyer.score,
            "by": buyer.by,
            "candidates": buyer.candidates,
        },
        "lines": lines,
        "checks": list(extraction.get("problems", [])),
    }
    rematch(draft, catalog)
    return draft


def rematch(draft: dict, catalog: Catalog) -> None:
    """(Re)match every line not fixed by a person."""
    for line in draft["lines"]:
        if line.get("product_corrected"):
            factor, qty = line.get("unit_factor"), line["quantity"]["value"]
            line["our_quantity"] = (
                str(Decimal(qty) * Decimal(factor))
                if factor is not None and qty is not None
                else None
            )
            continue
        m = match_line(
            catalog,
            code=line["buyer_code"]["value"],
            description=line["description"]["value"],
            quantity=line["quantity"]["value"],
            unit=line["unit"]["value"],
        )
        line.update(
            product_id=m.product_id,
            product_score=m.score,
            matched_by=m.by,
            unit_factor=str(m.unit_factor) if m.unit_factor is not None else None,
            our_quantity=str(m.our_quantity) if m.our_quantity is not None else None,
            notes=m.notes,
            candidates=m.candidates,
        )


def issues(draft: dict, settings: CompanySettings, *, rep_id: int | None) -> list[dict]:
    out: list[dict] = []
    threshold = settings.po_min_confidence
    customer = draft["customer"]
    # Once the buyer is one of our customers for sure, how well its printed name or tax
    # number was read no longer matters: the order is the customer's.
    buyer_known = customer["id"] is not None and customer["score"] >= settings.po_buyer_min_score
    for name, f in draft["header"].items():
        if f.get("value") is None:
            if name in REQUIRED_HEADER:
                out.append({"where": f"header.{name}", "reason": "not found on the document"})
        elif buyer_known and name in BUYER_FIELDS:
            continue
        elif f.get("confidence", 0) < threshold:
            out.append(
                {"where": f"header.{name}", "reason": f"read with confidence {f['confidence']:.2f}"}
            )
    if customer["id"] is None:
        out.append({"where": "customer", "reason": "no customer of ours matches the buyer"})
    elif customer["score"] < settings.po_buyer_min_score:
        out.append(
            {"where": "customer", "reason": f"buyer matched with score {customer['score']:.2f}"}
        )
    if rep_id is None:
        out.append({"where": "rep_id", "reason": "no rep to take the order for: set rep_id"})
    if not draft["lines"]:
        out.append({"where": "lines", "reason": "no line items found"})
    for i, line in enumerate(draft["lines"]):
        out.extend(_line_issues(i, line, settings))
    out.extend({"where": "checks", "reason": c} for c in draft.get("checks", []))
    return out


def _line_issues(i: int, line: dict, settings: CompanySettings) -> list[dict]:
    out = []
    for name in ("quantity", "unit_price", "line_total"):
        f = line[name]
        if f.get("value") is None and name == "quantity":
            out.append({"where": f"lines[{i}].quantity", "reason": "not found"})
        elif f.get("value") is not None and f.get("confidence", 0) < settings.po_min_confidence:
            out.append(
                {
                    "where": f"lines[{i}].{name}",
                    "reason": f"read with confidence {f['confidence']:.2f}",
                }
            )
    if line.get("product_id") is None:
        out.append({"where": f"lines[{i}].product_id", "reason": "no product matched"})
    elif (
        not line.get("product_corrected")
        and line.get("product_score", 0) < settings.po_product_min_score
    ):
        out.append(
            {
                "where": f"lines[{i}].product_id",
                "reason": "; ".join(
                    [f"product matched with score {line['product_score']:.2f}"]
                    + [n for n in line.get("notes", []) if "item code" in n]
                ),
            }
        )
    if line.get("unit_factor") is None and line.get("product_id") is not None:
        out.append(
            {
                "where": f"lines[{i}].unit_factor",
                "reason": "; ".join(line.get("notes", [])) or "unit unknown",
            }
        )
    return out
