"""The only record fields an `update_record` step may set, with the kind of value each
takes. One list for the validation (a definition naming another field is refused) and the
runtime (which sets nothing else). Amounts, states, owners and ids are not here: they
change through their domain's own rules (approvals, the ERP, routing), never a workflow.
"""

from datetime import date
from typing import Any

UPDATABLE: dict[str, dict[str, str]] = {
    "order": {"note": "text"},
    "customer": {"customer_class": "text", "language": "language"},
    "contract": {
        "note": "text",
        "auto_renew": "bool",
        "upsell_score": "percent_int",
        "enterprise": "bool",
    },
    "opportunity": {
        "score": "percent_int",
        "source": "text",
        "probability": "percent",
        "expected_close": "date",
    },
}


def value_problem(kind: str, value: Any) -> str | None:
    """Why `value` cannot be stored in a field of `kind` (None when it can; null clears)."""
    if value is None:
        return None
    if kind in ("text", "language"):
        if not isinstance(value, str) or "\x00" in value:
            return "must be text without NUL"
        if kind == "language" and value not in ("en", "id"):
            return 'must be "en" or "id"'
        return "too long (at most 1000 characters)" if len(value) > 1000 else None
    if kind == "bool":
        return None if isinstance(value, bool) else "must be true or false"
    if kind in ("percent", "percent_int"):
        number_types = int if kind == "percent_int" else int | float
        if isinstance(value, bool) or not isinstance(value, number_types):
            return "must be a whole number" if kind == "percent_int" else "must be a number"
        return None if 0 <= value <= 100 else "must be between 0 and 100"
    if kind == "date":
        try:
            date.fromisoformat(value)
        except (TypeError, ValueError):
            return "must be an ISO date (2026-12-31)"
        return None
    return f"unknown kind {kind}"
