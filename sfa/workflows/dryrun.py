"""The dry run of `POST /v1/workflows/{id}/test`: the path a definition would take over a
context, with no side effect. It evaluates conditions, branches and variables for real
(sfa/workflows/logic.py) and describes each action it WOULD perform instead of doing it;
approvals and event waits take the outcome the caller assumes (approved / the event comes,
by default). Nothing here touches the database.
"""

import copy
from dataclasses import dataclass, field
from typing import Any, Literal

from sfa.workflows import logic
from sfa.workflows.definition import Definition

MAX_VISITS = 200  # a cycle through waits would go round for ever without a bound


@dataclass
class Assume:
    approval: Literal["approved", "rejected"] = "approved"
    wait: Literal["event", "timeout"] = "event"


@dataclass
class Trace:
    outcome: str = "ended"  # ended, failed, filtered (the trigger's filter said no), stopped
    path: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    actions: list[dict] = field(default_factory=list)
    trigger: dict | None = None
    vars: dict = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "path": self.path,
            "steps": self.steps,
            "actions": self.actions,
            "trigger": self.trigger,
            "vars": self.vars,
            "error": self.error,
        }


def run(definition: Definition, context: dict, assume: Assume | None = None) -> Trace:
    assume = assume or Assume()
    ctx = copy.deepcopy(context)
    ctx.setdefault("vars", {})
    trace = Trace(vars=ctx["vars"])
    if not _trigger_passes(definition, ctx, trace):
        return trace
    step_id: str | None = definition.start
    while step_id is not None:
        if len(trace.path) >= MAX_VISITS:
            trace.outcome = "stopped"
            trace.error = f"stopped after {MAX_VISITS} steps (a cycle through waits)"
            return trace
        step = definition.steps[step_id]
        trace.path.append(step_id)
        entry: dict[str, Any] = {"step": step_id, "type": step.type}
        trace.steps.append(entry)
        try:
            step_id = _STEPS[step.type](step, ctx, entry, trace, assume)
        except logic.LogicError as exc:
            entry["error"] = str(exc)
            policy = step.on_error
            if policy is not None and policy.then == "continue" and hasattr(step, "next"):
                step_id = step.next
            else:
                trace.outcome, trace.error = "failed", f"steps.{entry['step']}: {exc}"
                return trace
        entry["next"] = step_id
    return trace


def _trigger_passes(definition: Definition, ctx: dict, trace: Trace) -> bool:
    condition = getattr(definition.trigger, "filter", None)
    if condition is None:
        return True
    try:
        passed = logic.truthy(logic.evaluate(condition, ctx))
    except logic.LogicError as exc:
        trace.outcome, trace.error, trace.trigger = "failed", f"trigger.filter: {exc}", {}
        return False
    trace.trigger = {"filter": passed}
    if not passed:
        trace.outcome = "filtered"
    return passed


def _condition(step, ctx, entry, trace, assume) -> str:
    entry["result"] = logic.truthy(logic.evaluate(step.if_, ctx))
    entry["taken"] = "then" if entry["result"] else "else"
    return step.then if entry["result"] else step.else_


def _branch(step, ctx, entry, trace, assume) -> str:
    entry["paths"] = []
    for index, path in enumerate(step.paths):
        result = logic.truthy(logic.evaluate(path.when, ctx))
        entry["paths"].append({"index": index, "result": result})
        if result:
            entry["taken"] = f"paths.{index}"
            return path.next
    entry["taken"] = "else"
    return step.else_


def _value(value: Any, ctx: dict) -> Any:
    """A field's value: a literal as given, JsonLogic evaluated (runtime_logic.evaluate)."""
    return logic.evaluate(value, ctx) if isinstance(value, dict | list) else value


def _manager(ctx: dict) -> dict:
    manager = (ctx.get("rep") or {}).get("manager") or {}
    return {"user": manager.get("id"), "full_name": manager.get("full_name")}


def _person(ref, ctx) -> dict:
    """Who a level, task or notice is for, with whom the context resolves it to."""
    if isinstance(ref, str):  # a notice's named recipient (actions/notify.py)
        customer = ctx.get("customer") or {}
        found = {
            "rep": lambda: {"user": (ctx.get("rep") or {}).get("id")},
            "manager": lambda: _manager(ctx),
            "customer": lambda: {"customer": customer.get("id")},
            "distributor": lambda: {"customer": (customer.get("distributor") or {}).get("id")},
        }[ref]()
        return {"to": ref, "resolved": found}
    described = ref.model_dump()
    if getattr(ref, "manager_of", None):
        described["resolved"] = _manager(ctx)
    if (path := getattr(ref, "round_robin_team", None)) is not None:
        described["resolved"] = logic.evaluate({"var": path}, ctx)
    return described


def _act(trace: Trace, entry: dict, action: dict) -> None:
    entry["would"] = action
    trace.actions.append({"step": entry["step"]} | action)


def _require_approval(step, ctx, entry, trace, assume) -> str:
    levels = [_person(level, ctx) for level in step.levels]
    _act(
        trace,
        entry,
        {
            "action": "require_approval",
            "levels": levels,
            "escalate_after_hours": _value(step.escalate_after_hours, ctx),
        },
    )
    entry["assumed"] = assume.approval
    return step.on_approved if assume.approval == "approved" else step.on_rejected


def _assign_task(step, ctx, entry, trace, assume) -> str:
    title = str(_value(step.title, ctx))
    action = {"action": "assign_task", "to": _person(step.to, ctx), "title": title}
    _act(trace, entry, action | {"due_in_hours": _value(step.due_in_hours, ctx)})
    return step.next


def _notify(step, ctx, entry, trace, assume) -> str:
    action = {"action": "notify", "channel": step.channel, "template": step.template}
    payload = {key: _value(value, ctx) for key, value in (step.payload or {}).items()}
    _act(trace, entry, action | {"to": _person(step.to, ctx), "payload": payload})
    return step.next


def _update_record(step, ctx, entry, trace, assume) -> str:
    values = {name: _value(value, ctx) for name, value in step.set.items()}
    record = ctx.get(step.record) or {}
    action = {"action": "update_record", "record": step.record, "record_id": record.get("id")}
    _act(trace, entry, action | {"set": values})
    # As in the runtime, the steps after this one read the new values.
    ctx[step.record] = record | values
    return step.next


def _set_variable(step, ctx, entry, trace, assume) -> str:
    ctx["vars"][step.name] = entry["value"] = logic.evaluate(step.value, ctx)
    return step.next


def _wait(step, ctx, entry, trace, assume) -> str:
    if step.hours is not None:
        entry["wait"] = {"hours": _value(step.hours, ctx)}
        return step.next
    if step.until is not None:
        entry["wait"] = {"until": logic.evaluate(step.until, ctx)}
        return step.next
    entry["wait"] = {"event": step.event, "timeout_hours": _value(step.timeout_hours, ctx)}
    timed_out = assume.wait == "timeout" and step.timeout_hours is not None
    entry["assumed"] = "timeout" if timed_out else "event"
    return (step.on_timeout or step.next) if timed_out else step.next


def _webhook(step, ctx, entry, trace, assume) -> str:
    _act(trace, entry, {"action": "webhook", "endpoint": step.endpoint})
    return step.next


def _end(step, ctx, entry, trace, assume) -> None:
    return None


def _domain(step, ctx, entry, trace, assume) -> str:
    """A CRM step (CURE, a renewal, an opportunity, a lead's score or owner) reads and
    writes the database: the dry run names it, and the steps after it read `vars.<into>`
    as the sample context gives it (e.g. {"vars": {"renewal": {"mode": "owned"}}})."""
    _act(trace, entry, {"action": step.type})
    if (into := getattr(step, "into", None)) is not None:
        ctx["vars"].setdefault(into, {})
    return step.next


_STEPS = {
    "condition": _condition,
    "branch": _branch,
    "require_approval": _require_approval,
    "assign_task": _assign_task,
    "notify": _notify,
    "update_record": _update_record,
    "set_variable": _set_variable,
    "wait": _wait,
    "webhook": _webhook,
    "end": _end,
    "route_renewal": _domain,
    "renew_contract": _domain,
    "create_opportunity": _domain,
    "score_lead": _domain,
    "assign_lead": _domain,
}
