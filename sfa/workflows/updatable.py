"""The only record fields an `update_record` step may set, with the kind of value each
takes. One list for the validation (a definition naming another field is refused) and the
runtime (sfa/workflows/actions/records.py has a setter for each, and nothing else: a
unit test holds the two together). Amounts, owners and ids are not here: they change
through their domain's own rules (the ERP, routing), never a workflow; an order's
`state` is the approval decision, with the effects of sfa/orders/decisions.py.
"""

from typing import Any

UPDATABLE: dict[str, dict[str, str]] = {
    "order": {"approval_tier": "tier", "note": "text", "state": "order_state"},
    "customer": {"class": "class"},
}
CHOICES = {
    "tier": ("auto", "single", "double"),
    "order_state": ("submitted", "approved", "rejected"),
}


def value_problem(kind: str, value: Any) -> str | None:
    """Why `value` cannot be stored in a field of `kind` (None when it can; null clears
    a note)."""
    if kind in CHOICES:
        choices = CHOICES[kind]
        return None if value in choices else "must be one of " + ", ".join(choices)
    if value is None:
        return None if kind == "text" else "cannot be null"
    if not isinstance(value, str) or "\x00" in value:
        return "must be text without NUL"
    if kind == "class":
        return None if 0 < len(value) <= 40 else "must be 1 to 40 characters"
    return "too long (at most 1000 characters)" if len(value) > 1000 else None
