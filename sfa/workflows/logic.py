"""JsonLogic conditions: checked when a definition is saved, evaluated by panzi-json-logic.

Safety (issue 14, DESIGN §7): never `eval`, no attribute access, no method calls.
- Contexts are plain JSON data (sfa/workflows/runtime_context.py); the library's `var` only
  indexes dicts and lists, so `{"var": "order.__class__"}` finds no such key: nothing.
- Only the operators in OPERATORS exist (there is no `method`); `log` (which writes to
  stdout) is left out. An unknown operator is refused when the definition is saved, and
  again by the library at evaluation (ReferenceError), since we hand it only ours.
- `var` takes literal paths only (checked against the context's shape); a path computed
  at run time could not be checked.
- A budget bounds the work of one evaluation (operation calls and the items of lists they
  produce), `cat` and `merge` results are bounded, and integer arithmetic past 64 bits
  turns into floats, so that no expression can make the process spin or grow without end.
"""

import difflib
import math
from typing import Any

from json_logic import builtins, jsonLogic

from sfa.limits import INT64_MAX

# The library's own operators that apply() handles itself (they take unevaluated args).
CONTROL = frozenset({"if", "?:", "and", "or", "filter", "map", "reduce", "all", "some", "none"})
# Operators that iterate a list (first argument) with a sub-expression over each item.
ITERATING = frozenset({"filter", "map", "all", "some", "none"})
_ALLOWED_BUILTINS = (
    "==",
    "!=",
    "===",
    "!==",
    "<",
    ">",
    "<=",
    ">=",
    "!",
    "!!",
    "+",
    "*",
    "-",
    "/",
    "%",
    "in",
    "min",
    "max",
    "cat",
    "var",
    "substr",
    "merge",
    "missing",
    "missing_some",
)
OPERATORS = CONTROL | frozenset(_ALLOWED_BUILTINS)

MAX_DEPTH = 24
MAX_NODES = 500
BUDGET = 100_000
MAX_TEXT = 10_000
MAX_ITEMS = 10_000


class LogicError(Exception):
    """An expression that cannot be evaluated (division by zero, the budget spent, ...)."""


# --- validation -------------------------------------------------------------------------


def _join(path: str, *parts: object) -> str:
    return ".".join([path, *map(str, parts)]) if path else ".".join(map(str, parts))


def resolve(shape: Any, dotted: str) -> tuple[Any, str | None]:
    """(the shape at `dotted` within `shape`, None) or (None, the unknown prefix)."""
    if dotted == "":
        return shape, None
    current, seen = shape, []
    for part in dotted.split("."):
        seen.append(part)
        if current == "any":
            if part.startswith("_"):
                return None, ".".join(seen)
            continue
        if isinstance(current, list):
            current = "int" if part == "length" else current[0] if part.isdigit() else None
        elif isinstance(current, dict):
            current = current.get(part)
        elif current == "string" and part == "length":
            current = "int"
        else:
            current = None
        if current is None:
            return None, ".".join(seen)
    return current, None


def _known_paths(shape: Any, prefix: str = "") -> list[str]:
    if isinstance(shape, dict):
        found = []
        for name, sub in shape.items():
            path = _join(prefix, name)
            found += [path, *_known_paths(sub, path)]
        return found
    return []


def unknown_variable(dotted: str, shape: Any) -> str:
    close = difflib.get_close_matches(dotted, _known_paths(shape), n=1, cutoff=0.75)
    hint = f' (did you mean "{close[0]}"?)' if close else ""
    return f'unknown variable "{dotted}"{hint}'


def check(logic: Any, shape: Any, path: str) -> list[tuple[str, str]]:
    """Problems of an expression as (path, message); `shape` is the data it reads."""
    return check_shape(logic, shape, path)[1]


def check_shape(logic: Any, shape: Any, path: str) -> tuple[Any, list[tuple[str, str]]]:
    """(the shape of the expression's value where known, else "any"; its problems)."""
    problems: list[tuple[str, str]] = []
    found = _check(logic, shape, path, 0, [0], problems)
    return found, problems


def _check(logic, shape, path, depth, counter, problems) -> Any:
    """Checks `logic`; returns the shape of its value where known (else "any")."""
    counter[0] += 1
    if depth > MAX_DEPTH or counter[0] > MAX_NODES:
        if counter[0] == MAX_NODES + 1 or depth == MAX_DEPTH + 1:
            problems.append((path, f"too large (at most {MAX_NODES} parts, {MAX_DEPTH} deep)"))
        return "any"
    if isinstance(logic, list):
        for index, item in enumerate(logic):
            _check(item, shape, _join(path, index), depth + 1, counter, problems)
        return "any"
    if not isinstance(logic, dict):
        return _literal(logic, path, problems)
    if len(logic) != 1:
        problems.append((path, "an operation is an object with exactly one key: the operator"))
        return "any"
    op, args = next(iter(logic.items()))
    where = _join(path, op)
    if op not in OPERATORS:
        problems.append((where, f'unknown operator "{op}"'))
        return "any"
    args = args if isinstance(args, list) else [args]
    if op == "var":
        return _check_var(args, shape, where, problems)
    if op in ("missing", "missing_some"):
        names = args[1] if op == "missing_some" and len(args) > 1 else args
        for index, name in enumerate(names if isinstance(names, list) else [names]):
            if not isinstance(name, str):
                problems.append((_join(where, index), "names a variable with a literal path"))
            elif resolve(shape, name)[1] is not None:
                problems.append((_join(where, index), unknown_variable(name, shape)))
        return ["string"]
    if op in ITERATING or op == "reduce":
        return _check_iteration(op, args, shape, where, depth, counter, problems)
    for index, arg in enumerate(args):
        _check(arg, shape, _join(where, index), depth + 1, counter, problems)
    return _result_shape(op)


def _literal(value, path, problems) -> Any:
    if isinstance(value, str):
        if "\x00" in value or len(value) > MAX_TEXT:
            problems.append((path, "text must hold no NUL and at most 10,000 characters"))
        return "string"
    if isinstance(value, bool) or value is None:
        return "bool" if value is not None else "any"
    if isinstance(value, int):
        if abs(value) > INT64_MAX:
            problems.append((path, "integer outside the 64-bit range"))
        return "int"
    if isinstance(value, float):
        if not math.isfinite(value):
            problems.append((path, "numbers must be finite"))
        return "number"
    problems.append((path, "not JSON data"))
    return "any"


def _check_var(args, shape, where, problems) -> Any:
    name = args[0] if args else ""
    if isinstance(name, int) and not isinstance(name, bool):
        name = str(name)
    if not isinstance(name, str):
        problems.append((where, "var takes a literal path (a string), not an expression"))
        return "any"
    for default in args[1:2]:
        if isinstance(default, dict | list):
            problems.append((_join(where, 1), "a default must be a literal value"))
        else:
            _literal(default, _join(where, 1), problems)
    found, unknown = resolve(shape, name)
    if unknown is not None:
        problems.append((where, unknown_variable(name, shape)))
        return "any"
    return found


def _check_iteration(op, args, shape, where, depth, counter, problems) -> Any:
    items = _check(args[0], shape, _join(where, 0), depth + 1, counter, problems) if args else None
    item = items[0] if isinstance(items, list) else "any"
    inner = {"current": item, "accumulator": "any"} if op == "reduce" else item
    if len(args) > 1:
        _check(args[1], inner, _join(where, 1), depth + 1, counter, problems)
    for index, extra in enumerate(args[2:], start=2):
        _check(extra, shape, _join(where, index), depth + 1, counter, problems)
    if op == "filter":
        return items if isinstance(items, list) else "any"
    return "bool" if op in ("all", "some", "none") else "any"


def _result_shape(op: str) -> Any:
    if op in ("+", "*", "-", "/", "%", "min", "max"):
        return "number"
    if op in ("cat", "substr"):
        return "string"
    if op in ("merge",):
        return ["any"]
    if op in ("==", "!=", "===", "!==", "<", ">", "<=", ">=", "!", "!!", "in"):
        return "bool"
    return "any"


def var_roots(logic: Any) -> set[str] | None:
    """The first segments of every `var` path `logic` reads ("order" for
    {"var": "order.risk_pct"}), or None when they cannot be known without evaluating it
    (a computed path, `missing`, or an iteration, whose vars name the item)."""
    roots: set[str] = set()
    stack = [logic]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
            continue
        if not isinstance(node, dict):
            continue
        for op, args in node.items():
            if op in ITERATING or op in ("reduce", "missing", "missing_some"):
                return None
            if op != "var":
                stack.append(args)
                continue
            path = args[0] if isinstance(args, list) and args else args
            if isinstance(args, list) and len(args) > 1:
                stack.append(args[1:])  # the default
            if not isinstance(path, str | int):
                return None
            roots.add(str(path).split(".")[0])
    return roots


def is_expression(value: Any) -> bool:
    """Whether a value (e.g. of `update_record.set`) is an operation rather than a literal."""
    return isinstance(value, dict) and len(value) == 1 and next(iter(value)) in OPERATORS


# --- evaluation --------------------------------------------------------------------------


class _Budget:
    def __init__(self, units: int):
        self.left = units

    def spend(self, units: int) -> None:
        self.left -= units
        if self.left < 0:
            raise LogicError(f"the expression needs more than {BUDGET:,} steps of work")


def _bounded_number(value):
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > INT64_MAX:
        return float(value)
    return value


def _operations(budget: _Budget) -> dict:
    def wrap(name, function):
        def call(data, *args):
            budget.spend(1)
            result = _bounded_number(function(data, *args))
            if isinstance(result, list | str):
                budget.spend(len(result))
                limit = MAX_TEXT if isinstance(result, str) else MAX_ITEMS
                if len(result) > limit:
                    raise LogicError(f'"{name}" made a value longer than {limit:,}')
            return result

        return call

    return {name: wrap(name, builtins.BUILTINS[name]) for name in _ALLOWED_BUILTINS}


def evaluate(logic: Any, data: Any) -> Any:
    """The value of `logic` over `data` (plain JSON data). Raises LogicError."""
    try:
        return finite(jsonLogic(logic, data, _operations(_Budget(BUDGET))))
    except LogicError:
        raise
    except ZeroDivisionError:
        raise LogicError("division by zero") from None
    except (ReferenceError, TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise LogicError(f"cannot evaluate: {exc}") from None


def finite(value: Any) -> Any:
    """The value with every infinite or NaN number (an overflow) as null: JSON has none."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list):
        return [finite(v) for v in value]
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    return value


def has_non_finite(value: Any) -> bool:
    """Whether plain data holds an infinite or NaN number (JSON cannot carry one back)."""
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def truthy(value: Any) -> bool:
    """JsonLogic's truth (an empty list is false, like the library's own `if`)."""
    return builtins.to_bool(value)
