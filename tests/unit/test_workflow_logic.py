"""JsonLogic conditions: exact tier boundaries, no way out of plain data, bounded work;
and the dry run over a context."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from workflow_samples import discount_approval

from sfa.workflows import dryrun, logic, runtime_context, validation

# Amounts as the runtime's context carries them (sfa/workflows/runtime_context.py).
plain = runtime_context._plain


def _context(pct: str, overdue: int = 0) -> dict:
    return {
        "order": {
            "id": 7,
            "discount_pct": plain(Decimal(pct)),
            "net_amount": plain(Decimal("950000.00")),
        },
        "customer": {"id": 3, "overdue_invoices": overdue},
        "rep": {"id": 5, "manager": {"id": 2, "full_name": "Budi"}},
    }


@pytest.mark.parametrize(
    ("pct", "path"),
    [
        ("0.000", ["overdue", "tier", "auto", "done"]),
        ("5.000", ["overdue", "tier", "auto", "done"]),
        ("5.010", ["overdue", "tier", "manager", "done"]),
        ("15.000", ["overdue", "tier", "manager", "done"]),
        ("15.010", ["overdue", "tier", "two_levels", "done"]),
    ],
)
def test_tier_boundaries_compare_exactly(pct, path):
    definition = validation.parse(discount_approval())
    trace = dryrun.run(definition, _context(pct))
    assert trace.outcome == "ended"
    assert trace.path == path


def test_money_is_json_numbers_that_compare_exactly_at_the_boundaries():
    assert plain(Decimal("5.000")) == 5
    assert plain(Decimal("5.010")) == 5.01
    assert plain(Decimal("9999999999999.99")) == 9999999999999.99
    assert logic.evaluate({"<=": [plain(Decimal("5.00")), 5]}, {}) is True
    assert logic.evaluate({"<=": [plain(Decimal("5.01")), 5]}, {}) is False
    assert plain(datetime(2026, 11, 16, 9, tzinfo=UTC)) == "2026-11-16T09:00:00+00:00"
    assert plain(date(2026, 11, 16)) == "2026-11-16"


class Secret:
    password = "hunter2"

    def delete_everything(self):  # pragma: no cover - must never be called
        raise AssertionError("a condition called a method")


@pytest.mark.parametrize(
    "expression",
    [
        {"var": "order.__class__"},
        {"var": "order.__dict__"},
        {"var": "order.__class__.__init__.__globals__"},
        {"var": "secret.password"},
        {"var": "secret.delete_everything"},
        {"var": "order.id.real"},
        {"var": "order.lines.__len__"},
    ],
)
def test_conditions_cannot_reach_attributes(expression):
    data = {"order": {"id": 7, "lines": []}, "secret": Secret()}
    assert logic.evaluate(expression, data) is None


@pytest.mark.parametrize("operator", ["method", "log", "eval", "__import__", "attr", "a.b"])
def test_unknown_operators_are_refused(operator):
    assert logic.check({operator: ["x", "upper"]}, {}, "if") == [
        (f"if.{operator}", f'unknown operator "{operator}"')
    ]
    with pytest.raises(logic.LogicError, match="Unrecognized operation"):
        logic.evaluate({operator: ["x", "upper"]}, {})


def test_work_is_bounded():
    items = {"l": list(range(60))}
    doubling = {"reduce": [{"var": "l"}, {"cat": [{"var": "accumulator"}] * 2}, "ab"]}
    with pytest.raises(logic.LogicError, match="longer than"):
        logic.evaluate(doubling, items)
    merging = {"reduce": [{"var": "l"}, {"merge": [{"var": "accumulator"}] * 2}, [1]]}
    with pytest.raises(logic.LogicError):
        logic.evaluate(merging, items)
    squaring = {"reduce": [{"var": "l"}, {"*": [{"var": "accumulator"}] * 2}, 3]}
    assert logic.evaluate(squaring, items) is None  # an overflow: JSON has no infinity
    with pytest.raises(logic.LogicError, match="division by zero"):
        logic.evaluate({"/": [1, 0]}, {})
    many = {"l": list(range(5000))}
    nested = {"map": [{"var": "l"}, {"map": [{"merge": list(range(50))}, {"+": [1, 2]}]}]}
    with pytest.raises(logic.LogicError, match="steps of work"):
        logic.evaluate(nested, many)


def test_iteration_checks_item_fields():
    shape = {"order": {"lines": [{"quantity": "number"}]}}
    good = {"some": [{"var": "order.lines"}, {">": [{"var": "quantity"}, 10]}]}
    assert logic.check(good, shape, "if") == []
    bad = {"some": [{"var": "order.lines"}, {">": [{"var": "qty"}, 10]}]}
    assert logic.check(bad, shape, "if") == [("if.some.1.>.0.var", 'unknown variable "qty"')]
    assert logic.check({"var": "order.lines.0.quantity"}, shape, "x") == []
    assert logic.check({"var": "order.lines.length"}, shape, "x") == []


def test_dry_run_describes_actions_without_doing_them():
    definition = validation.parse(discount_approval())
    trace = dryrun.run(definition, _context("20.000"), dryrun.Assume(approval="rejected"))
    assert trace.path == ["overdue", "tier", "two_levels", "tell_rep", "done"]
    tier = trace.steps[1]
    assert tier["paths"] == [{"index": 0, "result": False}, {"index": 1, "result": False}]
    assert tier["taken"] == "else"
    assert trace.steps[0] == {
        "step": "overdue",
        "type": "condition",
        "result": False,
        "taken": "else",
        "next": "tier",
    }
    approval, notify = trace.actions
    assert approval["action"] == "require_approval"
    assert approval["levels"][0]["resolved"] == {"user": 2, "full_name": "Budi"}
    assert approval["levels"][1] == {"role": "finance"}
    assert notify == {
        "step": "tell_rep",
        "action": "notify",
        "channel": "in_app",
        "template": "order_cancelled_rep",
        "to": {"to": "rep", "resolved": {"user": 5}},
        "payload": {},
    }


def test_overdue_customers_always_go_to_finance():
    definition = validation.parse(discount_approval())
    trace = dryrun.run(definition, _context("1.000", overdue=2))
    assert trace.path == ["overdue", "finance", "done"]


def test_filter_and_errors():
    raw = discount_approval()
    raw["trigger"]["filter"] = {">": [{"var": "order.net_amount"}, 1_000_000]}
    trace = dryrun.run(validation.parse(raw), _context("1.000"))
    assert (trace.outcome, trace.path, trace.trigger) == ("filtered", [], {"filter": False})
    raw = discount_approval()
    raw["steps"]["overdue"]["if"] = {"/": [1, {"var": "customer.overdue_invoices"}]}
    trace = dryrun.run(validation.parse(raw), _context("1.000"))
    assert trace.outcome == "failed"
    assert trace.error == "steps.overdue: division by zero"


def test_var_roots_name_what_a_rule_reads_or_say_they_cannot():
    from sfa.workflows.logic import var_roots

    rule = {"and": [{"var": "payload.title"}, {">": [{"var": ["settings.x", 0]}, 1]}]}
    assert var_roots(rule) == {"payload", "settings"}
    assert var_roots({"var": [{"var": "payload.path"}]}) is None  # a computed path
    assert var_roots({"some": [{"var": "order.lines"}, {"var": "qty"}]}) is None
    assert var_roots({"missing": ["order.id"]}) is None
    assert var_roots(True) == set()
