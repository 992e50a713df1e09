"""What a correction teaches for the customer's next documents.

- A line's product set by a person: the customer's item code (or, without one, its
  description) becomes an alias of that product.
- A unit factor set by a person: the conversion (a CTN of this product holds 40).
- A header value set by a person that the document shows under a label the extractor
  does not know: that label becomes a layout hint for the customer ("Ref. Pesanan" is
  their PO number), used when their next document is read.
"""

import re
from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.errors import InvalidInput
from sfa.purchase_orders import repository
from sfa.purchase_orders.document import PageWords
from sfa.purchase_orders.matching import alias_key, canonical_unit
from sfa.purchase_orders.models import PoIntake

MAX_LABEL_WORDS = 4


def learn_product(
    session: Session, principal: Principal, intake: PoIntake, line: dict, product_id: int
) -> None:
    product = session.get(Product, product_id)
    if product is None or not product.active or not product.salable:
        raise InvalidInput(f"product {product_id} does not exist or cannot be sold")
    line.update(
        product_id=product_id, product_score=1.0, matched_by="person", product_corrected=True
    )
    line.setdefault("unit_factor", None)
    if canonical_unit(line["unit"]["value"]) in (None, canonical_unit(product.unit)):
        line["unit_factor"] = "1"
    else:
        factor = repository.unit_conversions(session).get(
            (product_id, (canonical_unit(line["unit"]["value"]) or "").upper())
        )
        line["unit_factor"] = str(factor) if factor is not None else None
    key = alias_key(line["buyer_code"]["value"], line["description"]["value"])
    if intake.customer_id is not None and key is not None:
        repository.save_alias(
            session,
            customer_id=intake.customer_id,
            key=key,
            product_id=product_id,
            user_id=principal.user_id,
        )


def learn_unit(session: Session, line: dict, factor: Decimal) -> None:
    line["unit_factor"] = str(factor)
    unit = canonical_unit(line["unit"]["value"])
    if line.get("product_id") is not None and unit:
        repository.save_conversion(
            session, product_id=line["product_id"], unit=unit.upper(), factor=factor
        )


def _norm(text: str) -> str:
    return " ".join(re.sub(r"[^\w#]+", " ", text.lower()).split())


def learn_label(session: Session, intake: PoIntake, field: str, value) -> None:
    """Finds the corrected value among the first page's words and records the words
    just before it on its line as the customer's label for `field`."""
    if intake.customer_id is None or not intake.pages or value in (None, ""):
        return
    label = label_before(PageWords.of(intake.pages[0]), str(value))
    if not label:
        return
    hints = dict(repository.hints_for(session, intake.customer_id))
    labels = {k: list(v) for k, v in hints.get("labels", {}).items()}
    if label not in labels.setdefault(field, []):
        labels[field].insert(0, label)
        hints["labels"] = labels
        repository.save_hints(session, intake.customer_id, hints)


def label_before(page: PageWords, value: str) -> str | None:
    target = _norm(value)
    if not target:
        return None
    rows: dict[int, list] = {}
    for word in page.words:
        rows.setdefault(round((word[2] + word[4]) / 2 / 4), []).append(word)
    for row in rows.values():
        row.sort(key=lambda w: w[1])
        texts = [_norm(w[0]) for w in row]
        for i in range(len(row)):
            for j in range(i + 1, min(len(row), i + 8) + 1):
                if " ".join(t for t in texts[i:j] if t) == target:
                    before = [t for t in texts[max(0, i - MAX_LABEL_WORDS) : i] if t]
                    return " ".join(before) or None
    return None
