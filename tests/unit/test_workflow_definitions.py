"""Workflow definitions: the format and its validation, each problem named by its path."""

import pytest
from workflow_samples import discount_approval, reminder

from sfa.errors import InvalidInput
from sfa.workflows import runtime_defaults, validation
from sfa.workflows.actions import records
from sfa.workflows.updatable import UPDATABLE


def _messages(raw, **kwargs) -> list[str]:
    return [str(p) for p in validation.problems(raw, **kwargs)[1]]


def test_the_samples_are_valid():
    assert _messages(discount_approval()) == []
    assert _messages(reminder()) == []
    definition = validation.parse(discount_approval())
    assert definition.steps["overdue"].if_ == {">": [{"var": "customer.overdue_invoices"}, 0]}
    # Written back as given (JSON names "if"/"else", no defaults added).
    assert definition.dump() == discount_approval()


@pytest.mark.parametrize(
    "name", sorted(path.stem for path in runtime_defaults.DEFAULTS.glob("*.json"))
)
def test_every_default_definition_is_valid(name):
    """What the product ships passes the checks an admin's edit passes: one format."""
    raw = runtime_defaults.definition(name)
    assert _messages(raw) == []
    assert validation.parse(raw).dump() == raw


def test_the_runtime_sets_exactly_the_updatable_fields():
    assert {kind: set(fields) for kind, fields in UPDATABLE.items()} == {
        kind: set(setters) for kind, (_, setters) in records.WHITELIST.items()
    }


def _edit(change):
    raw = discount_approval()
    change(raw)
    return raw


def _step(step_id, value):
    return lambda raw: raw["steps"].__setitem__(step_id, value)


BAD = {
    "unknown variable": (
        _edit(lambda r: r["steps"]["overdue"]["if"][">"][0].update(var="order.totl")),
        'steps.overdue.if.>.0.var: unknown variable "order.totl"',
    ),
    "suggests the close name": (
        _edit(lambda r: r["steps"]["overdue"]["if"][">"][0].update(var="order.discount_pc")),
        'steps.overdue.if.>.0.var: unknown variable "order.discount_pc" '
        '(did you mean "order.discount_pct"?)',
    ),
    "unknown event type": (
        _edit(lambda r: r["trigger"].update(event="order.teleported")),
        'trigger.event: unknown event type "order.teleported"',
    ),
    "unknown action": (
        _edit(_step("auto", {"type": "launch_rocket", "next": "done"})),
        'steps.auto.type: unknown action "launch_rocket" (one of condition, branch, '
        "require_approval, assign_task, notify, update_record, withdraw, set_variable, wait, "
        "webhook, end, route_renewal, renew_contract, create_opportunity, score_lead, "
        "assign_lead)",
    ),
    "unreachable step": (
        _edit(_step("orphan", {"type": "end"})),
        "steps.orphan: unreachable from start",
    ),
    "unknown step reference": (
        _edit(lambda r: r["steps"]["tier"]["paths"][1].update(next="nowhere")),
        'steps.tier.paths.1.next: unknown step "nowhere"',
    ),
    "unknown start": (_edit(lambda r: r.update(start="begin")), 'start: unknown step "begin"'),
    "cycle without a wait": (
        _edit(
            lambda r: r["steps"].update(
                auto={"type": "set_variable", "name": "tier", "value": 1, "next": "again"},
                again={"type": "condition", "if": True, "then": "auto", "else": "done"},
            )
        ),
        "steps.again → steps.auto → steps.again: a cycle without a wait "
        "(add a wait or an approval in it)",
    ),
    "non-whitelisted field": (
        _edit(
            _step(
                "auto",
                {
                    "type": "update_record",
                    "record": "order",
                    "set": {"net_amount": 0},
                    "next": "done",
                },
            )
        ),
        "steps.auto.set.net_amount: order.net_amount cannot be set by a workflow "
        "(settable: approval_tier, note, state)",
    ),
    "record not in the context": (
        _edit(
            lambda r: (
                r.update(trigger={"schedule": "0 6 * * 1"}),
                _step(
                    "auto",
                    {"type": "update_record", "record": "order", "set": {"note": "x"}, "next": "e"},
                )(r),
            )
        ),
        "steps.auto.record: this workflow's context names no order",
    ),
    "record the runtime cannot update": (
        _edit(
            _step(
                "auto",
                {"type": "update_record", "record": "contract", "set": {"note": "x"}, "next": "e"},
            )
        ),
        "steps.auto.record: Input should be 'order' or 'customer'",
    ),
    "unknown operator (method)": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"method": ["abc", "upper"]}})),
        'steps.overdue.if.method: unknown operator "method"',
    ),
    "log is not an operator here": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"log": 1}})),
        'steps.overdue.if.log: unknown operator "log"',
    ),
    "attribute through var": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"var": "order.__class__"}})),
        'steps.overdue.if.var: unknown variable "order.__class__"',
    ),
    "dunder on an open value": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"var": "vars.tier.__dict__"}})),
        'steps.overdue.if.var: unknown variable "vars.tier.__dict__"',
    ),
    "computed var path": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"var": {"cat": ["order", ".id"]}}})),
        "steps.overdue.if.var: var takes a literal path (a string), not an expression",
    ),
    "variable never set": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"var": "vars.nope"}})),
        'steps.overdue.if.var: unknown variable "vars.nope"',
    ),
    "missing field": (
        _edit(lambda r: r["steps"]["overdue"].pop("else")),
        "steps.overdue.else: required",
    ),
    "next omitted": (
        _edit(lambda r: r["steps"]["auto"].pop("next")),
        "steps.auto.next: required",
    ),
    "unknown field": (
        _edit(lambda r: r["steps"]["done"].update(colour="red")),
        "steps.done.colour: unknown field",
    ),
    "missing type": (
        _edit(_step("auto", {"next": "done"})),
        "steps.auto.type: missing (one of condition, branch, require_approval, assign_task, "
        "notify, update_record, withdraw, set_variable, wait, webhook, end, route_renewal, "
        "renew_contract, create_opportunity, score_lead, assign_lead)",
    ),
    "no trigger kind": (
        _edit(lambda r: r.update(trigger={"when": "now"})),
        "trigger: give one of: event, schedule or date_field",
    ),
    "bad cron": (
        _edit(lambda r: r.update(trigger={"schedule": "61 * * * *"})),
        "trigger.schedule: not a 5-field cron expression",
    ),
    "unknown date field": (
        _edit(lambda r: r.update(trigger={"date_field": "contract.ending", "offset_days": -30})),
        'trigger.date_field: unknown date field "contract.ending"',
    ),
    "unknown role": (
        _edit(lambda r: r["steps"]["finance"]["levels"][0].update(role="pope")),
        'steps.finance.levels.0.role: unknown role "pope"',
    ),
    "wait with two kinds": (
        _edit(
            _step("auto", {"type": "wait", "hours": 1, "event": "order.approved", "next": "done"})
        ),
        "steps.auto: give exactly one of hours, until, event",
    ),
    "timeout without an event": (
        _edit(_step("auto", {"type": "wait", "hours": 1, "on_timeout": "done", "next": "done"})),
        "steps.auto.on_timeout: only for a wait on an event",
    ),
    "wait on an unknown event": (
        _edit(_step("auto", {"type": "wait", "event": "order.lost", "next": "done"})),
        'steps.auto.event: unknown event type "order.lost"',
    ),
    "match reads an unknown incoming field": (
        _edit(
            _step(
                "auto",
                {
                    "type": "wait",
                    "event": "order.approved",
                    "match": {"==": [{"var": "event.payload.ordr_id"}, 1]},
                    "next": "done",
                },
            )
        ),
        'steps.auto.match.==.0.var: unknown variable "event.payload.ordr_id" '
        '(did you mean "event.payload.order_id"?)',
    ),
    "unknown template": (
        _edit(lambda r: r["steps"]["tell_rep"].update(template="order_lost")),
        'steps.tell_rep.template: unknown template "order_lost"',
    ),
    "unknown recipient": (
        _edit(lambda r: r["steps"]["tell_rep"].update(to="boss")),
        "steps.tell_rep.to: Input should be 'rep', 'manager', 'customer' or 'distributor'",
    ),
    "recipient not in the context": (
        _edit(
            lambda r: (
                r.update(trigger={"event": "anomaly.detected"})
                or r["steps"]["tell_rep"].update(to="distributor")
            )
        ),
        "steps.tell_rep.to: this workflow's context names no customer",
    ),
    "duration from an unknown setting": (
        _edit(
            lambda r: r["steps"]["manager"].update(
                escalate_after_hours={"var": "settings.escalation_hours"}
            )
        ),
        'steps.manager.escalate_after_hours.var: unknown variable "settings.escalation_hours" '
        '(did you mean "settings.discount_escalation_hours"?)',
    ),
    "duration that is not a number": (
        _edit(lambda r: r["steps"]["manager"].update(escalate_after_hours={"var": "order.state"})),
        "steps.manager.escalate_after_hours: must give a number of hours (this gives a string)",
    ),
    "notice payload reads an unknown field": (
        _edit(lambda r: r["steps"]["tell_rep"].update(payload={"note": {"var": "order.nte"}})),
        'steps.tell_rep.payload.note.var: unknown variable "order.nte"',
    ),
    "manager_of without a rep": (
        _edit(lambda r: r.update(trigger={"date_field": "contract.end_date", "offset_days": 0})),
        "steps.manager.levels.0.manager_of: this workflow's context names no rep",
    ),
    "bad step id": (_edit(_step("9lives", {"type": "end"})), "steps.9lives: a step id starts"),
    "operation with two keys": (
        _edit(lambda r: r["steps"]["overdue"].update({"if": {"==": [1, 1], "!=": [1, 2]}})),
        "steps.overdue.if: an operation is an object with exactly one key",
    ),
    "wrong literal value for a field": (
        _edit(
            _step(
                "auto",
                {
                    "type": "update_record",
                    "record": "order",
                    "set": {"approval_tier": "triple"},
                    "next": "done",
                },
            )
        ),
        "steps.auto.set.approval_tier: must be one of auto, single, double",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_definitions_name_the_path(case):
    raw, expected = BAD[case]
    messages = _messages(raw)
    assert any(m.startswith(expected) for m in messages), messages
    with pytest.raises(InvalidInput) as refused:
        validation.parse(raw)
    assert {"path", "message"} <= set(refused.value.details["errors"][0])


def test_a_cycle_through_a_wait_is_allowed():
    raw = reminder()
    # pause (a wait) → again → hook → pause: each round waits 72 hours.
    raw["steps"]["pause"]["next"] = "again"
    raw["steps"]["again"] = {"type": "condition", "if": True, "then": "hook", "else": "done"}
    raw["steps"]["hook"]["next"] = "pause"
    assert _messages(raw) == []


def test_users_are_looked_up():
    raw = _edit(lambda r: r["steps"]["finance"]["levels"].__setitem__(0, {"user": 42}))
    assert _messages(raw, user_exists=lambda uid: uid == 42) == []
    assert _messages(raw, user_exists=lambda uid: False) == [
        "steps.finance.levels.0.user: user 42 does not exist or is deactivated"
    ]


def test_every_problem_is_listed_at_once():
    raw = _edit(
        lambda r: (
            r["trigger"].update(event="nope.nope"),
            r["steps"]["auto"].update(next="ghost"),
        )
    )
    messages = _messages(raw)
    assert 'trigger.event: unknown event type "nope.nope"' in messages
    assert 'steps.auto.next: unknown step "ghost"' in messages


def test_sizes_are_bounded():
    deep: dict = {"!": True}
    for _ in range(40):
        deep = {"!": deep}
    raw = _edit(lambda r: r["steps"]["overdue"].update({"if": deep}))
    assert any("too large" in m for m in _messages(raw))
    raw = _edit(lambda r: r["steps"].update({f"s{i}": {"type": "end"} for i in range(250)}))
    assert any(m.startswith("steps:") for m in _messages(raw))
    raw = _edit(lambda r: r["steps"]["overdue"].update({"if": {"==": ["a\x00", 1]}}))
    assert any("NUL" in m for m in _messages(raw))


def _leaves(shape, prefix=""):
    """(parent path, field) of every field of a context shape."""
    if isinstance(shape, list):
        yield from _leaves(shape[0], prefix)
    elif isinstance(shape, dict):
        for name, sub in shape.items():
            yield prefix, name
            yield from _leaves(sub, f"{prefix}.{name}" if prefix else name)


def test_the_docs_name_every_context_field_and_event_type():
    """docs/workflows.md lists what a definition can read and react to."""
    from pathlib import Path

    from sfa.workflows import catalog

    docs = (Path(__file__).parents[2] / "docs" / "workflows.md").read_text()
    shapes = catalog.RECORDS | {"settings": catalog.SETTINGS, "event": catalog.EVENT_BASE}
    missing = [
        f"{record}: {parent}.{name}".rstrip(".")
        for record, shape in shapes.items()
        for parent, name in _leaves(shape)
        if f"`{name}`" not in docs
    ]
    missing += [name for name in catalog.EVENT_TYPES if f"`{name}`" not in docs]
    assert missing == []
