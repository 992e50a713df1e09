"""Who sent the purchase order, and which of our products each line is.

Buyer: by tax number (NPWP, exact), else by name (rapidfuzz token-set ratio over our
customers' names, legal forms like PT/CV ignored) with the delivery address as a
tie-breaker. Lines: the customer's alias for the item code (or description) first, then
our own SKU, then fuzzy name matching; a best match that is not clearly ahead of the
second is capped below the review threshold, so that nothing close is guessed silently.
Units: the buyer's unit is ours (after synonyms: PCS = PC = BUAH …), or converted with a
known conversion (a carton of 40); otherwise the line waits for review.
"""

import re
from dataclasses import dataclass, field
from decimal import Decimal

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from sfa.purchase_orders import repository

_LEGAL = re.compile(r"\b(pt|cv|ud|tbk|persero|koperasi|toko)\b")
UNIT_SYNONYMS = {
    "pcs": ("pcs", "pc", "piece", "pieces", "buah", "bh", "ea", "each", "unit", "biji"),
    "btl": ("btl", "botol", "bottle", "bot"),
    "box": ("box", "bx", "kotak"),
    "pouch": ("pouch", "pch", "sachet"),
    "ctn": ("ctn", "carton", "karton", "krt", "ktn", "dus", "dos", "cs", "case"),
    "bal": ("bal", "bale", "ball"),
    "kg": ("kg", "kilo", "kilogram"),
}
_UNIT_OF = {alias: unit for unit, aliases in UNIT_SYNONYMS.items() for alias in aliases}
# How far ahead of the runner-up a fuzzy product match must be to count on its own.
MARGIN = 6.0
# A name match this sure that names another product than the item code casts doubt on it.
CONFLICT_SCORE = 0.9
# Header lines tried as the buyer's name when no label names it.
MAX_HEADER_LINES = 8


def canonical_unit(unit: str | None) -> str | None:
    if not unit:
        return None
    key = re.sub(r"[^a-z]", "", unit.lower())
    return _UNIT_OF.get(key, key or None)


def name_key(text: str) -> str:
    s = _LEGAL.sub(" ", text.lower())
    return " ".join(re.sub(r"[^\w]+", " ", s).split())


def description_key(text: str) -> str:
    """'MIE GORENG SPESIAL 85GR' and 'Mie Goreng Spesial 85 g' give the same key."""
    s = text.lower()
    s = re.sub(r"(\d)\s*(gr|gram|grm)\b", r"\1 g", s)
    s = re.sub(r"(\d)\s*(ltr|liter|lt)\b", r"\1 l", s)
    s = re.sub(r"(\d)\s*(g|l|ml|kg|s)\b", r"\1 \2", s)
    s = re.sub(r"[^\w]+", " ", s)
    return " ".join(s.split())


def alias_key(buyer_code: str | None, description: str | None) -> str | None:
    if buyer_code and buyer_code.strip():
        return f"code:{buyer_code.strip().upper()}"
    if description and description.strip():
        return f"desc:{description_key(description)}"[:200]
    return None


@dataclass(frozen=True)
class BuyerMatch:
    customer_id: int | None
    score: float
    by: str | None  # "npwp", "name" or None
    candidates: list[dict] = field(default_factory=list)


def match_buyer(
    session: Session, *, name: str | None, npwp: str | None, address: str | None, header_text: str
) -> BuyerMatch:
    if npwp and (customer_id := repository.customer_by_tax_number(session, npwp)):
        return BuyerMatch(customer_id, 1.0, "npwp")
    query = name_key(name or "")
    # Without a name, each line of the header area may be it (the first few).
    queries = [query] if query else [k for k in map(name_key, header_text.splitlines()) if k]
    names = repository.buyer_candidates(session, queries[:MAX_HEADER_LINES])
    if not names:
        return BuyerMatch(None, 0.0, None)
    choices = {cid: name_key(n) for cid, (n, _) in names.items()}
    query = query or " ".join(queries[:MAX_HEADER_LINES])
    found = process.extract(query, choices, scorer=fuzz.token_set_ratio, limit=5)
    ranked = []
    for _, score, cid in found:
        addr = names[cid][1]
        bonus = 0.0
        if address and addr:
            bonus = 5.0 * fuzz.token_set_ratio(address.lower(), addr.lower()) / 100
        ranked.append((min(100.0, score + bonus), cid))
    ranked.sort(reverse=True)
    best_score, best_id = ranked[0]
    if len(ranked) > 1 and best_score - ranked[1][0] < MARGIN:
        best_score = min(best_score, 80.0)
    candidates = [{"customer_id": cid, "score": round(s / 100, 3)} for s, cid in ranked[:3]]
    return BuyerMatch(best_id, round(best_score / 100, 3), "name", candidates)


@dataclass
class LineMatch:
    product_id: int | None
    score: float
    by: str | None  # "alias", "sku", "name"
    unit_factor: Decimal | None
    our_quantity: Decimal | None
    notes: list[str] = field(default_factory=list)
    candidates: list[dict] = field(default_factory=list)


@dataclass
class Catalog:
    """What line matching needs, loaded once per document."""

    products: dict[int, tuple[str | None, str, str]]  # id -> (code, name, unit)
    aliases: dict[str, int]
    conversions: dict[tuple[int, str], Decimal]

    @classmethod
    def load(cls, session: Session, customer_id: int | None) -> "Catalog":
        return cls(
            products=repository.salable_products(session),
            aliases=repository.aliases_for(session, customer_id) if customer_id else {},
            conversions=repository.unit_conversions(session),
        )


def _by_code(catalog: Catalog, code: str | None, description: str | None):
    """(product, how) from the customer's alias of the item code or description, or our SKU."""
    key = alias_key(code, None)
    if key and key in catalog.aliases:
        return catalog.aliases[key], "alias"
    key = alias_key(None, description)
    if key and key in catalog.aliases:
        return catalog.aliases[key], "alias"
    by_code = {c.upper(): pid for pid, (c, _, _) in catalog.products.items() if c}
    if code and code.strip().upper() in by_code:
        return by_code[code.strip().upper()], "sku"
    return None, None


def _by_name(catalog: Catalog, description: str | None):
    """(product, score 0..1, candidates) by fuzzy name; capped when not clearly ahead."""
    if not description:
        return None, 0.0, []
    choices = {pid: description_key(n) for pid, (_, n, _) in catalog.products.items()}
    found = process.extract(
        description_key(description), choices, scorer=fuzz.token_set_ratio, limit=3
    )
    if not found:
        return None, 0.0, []
    candidates = [{"product_id": pid, "score": round(s / 100, 3)} for _, s, pid in found]
    _, best, pid = found[0]
    if len(found) > 1 and best - found[1][1] < MARGIN:
        best = min(best, 80.0)
    return pid, best / 100, candidates


def _find_product(catalog: Catalog, code: str | None, description: str | None):
    """(product, score, how, candidates, notes). A code match whose description names
    another product just as surely (an item code misread by one digit is another
    product's code) is capped below the review threshold."""
    pid, by = _by_code(catalog, code, description)
    named, score, candidates = _by_name(catalog, description)
    if pid is None:
        return named, score, "name" if named else None, candidates, []
    if named is not None and named != pid and score >= CONFLICT_SCORE:
        note = (
            f"the item code {code} is product {pid} but the description reads like "
            f"product {named}: check the code"
        )
        return pid, 0.8, by, candidates, [note]
    return pid, 1.0, by, [], []


def match_line(
    catalog: Catalog,
    *,
    code: str | None,
    description: str | None,
    quantity: str | None,
    unit: str | None,
) -> LineMatch:
    pid, score, by, candidates, notes = _find_product(catalog, code, description)
    match = LineMatch(pid, round(score, 3), by, None, None, notes, candidates)
    if pid is None:
        match.notes.append("no product of ours looks like this line")
        return match
    ours = canonical_unit(catalog.products[pid][2])
    theirs = canonical_unit(unit)
    if theirs is None or theirs == ours:
        match.unit_factor = Decimal(1)
        if theirs is None:
            match.notes.append("the line gives no unit: taken as ours")
    elif (pid, theirs.upper()) in catalog.conversions:
        match.unit_factor = catalog.conversions[(pid, theirs.upper())]
    else:
        match.notes.append(
            f"no conversion from {unit} to {catalog.products[pid][2]} for this product: "
            "give unit_factor"
        )
    if match.unit_factor is not None and quantity is not None:
        match.our_quantity = Decimal(quantity) * match.unit_factor
    return match
