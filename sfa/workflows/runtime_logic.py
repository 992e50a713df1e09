"""JsonLogic for the runtime: conditions, branch paths, computed values.

One adapter over `panzi-json-logic` (no `method` operator, no attribute access: a `var`
only walks dict keys and list indexes of the plain JSON context), so that the engine has
one place to point at the authoring side's evaluator when both land together.
"""

from typing import Any

from json_logic import jsonLogic


def evaluate(rule: Any, data: dict) -> Any:
    """The value of `rule` over `data`; a literal (not a dict) is its own value."""
    if isinstance(rule, dict | list):
        return jsonLogic(rule, data)
    return rule


def truthy(rule: Any, data: dict) -> bool:
    """JsonLogic truthiness (an empty list is false, like `!!`)."""
    value = evaluate(rule, data)
    if isinstance(value, list):
        return len(value) > 0
    return bool(value)
