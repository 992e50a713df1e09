"""JsonLogic for the runtime: conditions, branch paths, computed values.

The engine's side of the one JsonLogic adapter, sfa/workflows/logic.py (the operators it
allows, the work budget, no attribute access: a `var` only walks dict keys and list
indexes of the plain JSON context). A definition's expressions were checked against the
context's shape when it was saved; an expression that still cannot be evaluated (a
division by zero, the budget spent) raises logic.LogicError, and the step fails with it.
"""

from typing import Any

from sfa.workflows import logic


def evaluate(rule: Any, data: dict) -> Any:
    """The value of `rule` over `data`; a literal (not a dict or list) is its own value."""
    if isinstance(rule, dict | list):
        return logic.evaluate(rule, data)
    return rule


def truthy(rule: Any, data: dict) -> bool:
    """JsonLogic truthiness (an empty list is false, like `!!`)."""
    return logic.truthy(evaluate(rule, data))
