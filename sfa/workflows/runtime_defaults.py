"""The workflows the product ships (sfa/workflows/defaults/*.json): company policy as
data a company edits, not Python branches (DESIGN §7)."""

import json
from functools import cache
from pathlib import Path

DEFAULTS = Path(__file__).parent / "defaults"


@cache
def _load(name: str) -> str:
    return (DEFAULTS / f"{name}.json").read_text(encoding="utf-8")


def definition(name: str) -> dict:
    """A fresh copy of the default definition `name` (e.g. "discount_approval")."""
    return json.loads(_load(name))
