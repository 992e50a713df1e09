"""The meaning of a definition, checked when it is saved: every problem named by its path
(`steps.check.if.var: unknown variable "order.totl"`, `trigger.event: unknown event type`,
`steps.y: unreachable from start`, `steps.a → steps.b → steps.a: a cycle without a wait`).

`problems(raw)` first checks the structure (sfa/workflows/definition.py, through
pydantic), then, on a well-formed definition, what it refers to: event types and the
context's fields (sfa/workflows/catalog.py), operators, step references, reachability,
cycles, record fields (sfa/workflows/updatable.py) and, through `user_exists`, users.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.triggers.cron import CronTrigger
from pydantic import ValidationError

from sfa.errors import InvalidInput
from sfa.notifications.rule_settings import DEFAULTS as NOTIFICATION_RULES
from sfa.notifications.templates import TEMPLATES
from sfa.workflows import catalog, logic
from sfa.workflows.definition import (
    STEP_TYPES,
    WAITING_TYPES,
    Definition,
    EventTrigger,
    ScheduleTrigger,
    successors,
)
from sfa.workflows.updatable import UPDATABLE, value_problem

UserExists = Callable[[int], bool]


@dataclass(frozen=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


def parse(raw: Any, *, user_exists: UserExists | None = None) -> Definition:
    """The definition, or InvalidInput listing every problem (details.errors)."""
    definition, found = problems(raw, user_exists=user_exists)
    if found or definition is None:
        first = str(found[0]) if found else "the definition is not an object"
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        raise InvalidInput(
            f"invalid workflow definition: {first}{more}",
            hint="fix each path in details.errors; docs/workflows.md describes the format",
            details={"errors": [{"path": p.path, "message": p.message} for p in found]},
        )
    return definition


def problems(
    raw: Any, *, user_exists: UserExists | None = None
) -> tuple[Definition | None, list[Problem]]:
    try:
        definition = Definition.model_validate(raw)
    except ValidationError as exc:
        return None, [_structural(dict(error), raw) for error in exc.errors()]
    return definition, _Checker(definition, user_exists).run()


# --- structure (pydantic's errors, with our paths and words) ----------------------------


def _path(loc: tuple) -> str:
    # Union tags are written "<name>" (definition._by_key): not part of the JSON's path.
    return ".".join(str(part) for part in loc if not str(part).startswith("<"))


def _structural(error: dict, raw: Any) -> Problem:
    loc, kind = tuple(error["loc"]), error["type"]
    if kind == "union_tag_not_found" and loc and loc[0] == "steps" and len(loc) == 2:
        given = raw["steps"][loc[1]].get("type") if isinstance(raw["steps"][loc[1]], dict) else None
        if given is None:
            return Problem(f"{_path(loc)}.type", "missing (one of " + ", ".join(STEP_TYPES) + ")")
        return Problem(
            f"{_path(loc)}.type",
            f'unknown action "{given}" (one of ' + ", ".join(STEP_TYPES) + ")",
        )
    if kind == "union_tag_not_found":
        keys = {"trigger": "event, schedule or date_field"}.get(str(loc[-1]))
        return Problem(_path(loc), f"give one of: {keys or _choices(loc)}")
    if loc and loc[-1] == "[key]":
        return Problem(_path(loc[:-1]), "a step id starts with a letter (letters, digits, _ -)")
    messages = {"missing": "required", "extra_forbidden": "unknown field"}
    return Problem(_path(loc), messages.get(kind, error["msg"]))


def _choices(loc: tuple) -> str:
    last = str(loc[-1])
    if last == "to":
        return (
            "rep, manager, customer, distributor, user or role (notify); user, role or "
            "round_robin_team (assign_task)"
        )
    return "user, role or manager_of"


# --- meaning -----------------------------------------------------------------------------


class _Checker:
    def __init__(self, definition: Definition, user_exists: UserExists | None):
        self.d = definition
        self.user_exists = user_exists
        self.found: list[Problem] = []
        # Variables: set_variable's, and what a step puts `into` one (withdraw, the CRM
        # steps).
        names = {s.name for s in definition.steps.values() if s.type == "set_variable"} | {
            into for s in definition.steps.values() if (into := getattr(s, "into", None))
        }
        self.shape = catalog.trigger_context(definition.trigger) | {
            "vars": {name: "any" for name in sorted(names)}
        }

    def add(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message))

    def logic(self, expression: Any, path: str, shape: dict | None = None) -> None:
        for where, message in logic.check(expression, shape or self.shape, path):
            self.add(where, message)

    def run(self) -> list[Problem]:
        self.trigger()
        if self.d.start not in self.d.steps:
            self.add("start", f'unknown step "{self.d.start}"')
        for step_id, step in self.d.steps.items():
            where = f"steps.{step_id}"
            for field, target in successors(step):
                if target not in self.d.steps:
                    self.add(f"{where}.{field}", f'unknown step "{target}"')
            getattr(self, f"step_{step.type}")(step, where)
        if not self.found:
            self.graph()
        return self.found

    def trigger(self) -> None:
        trigger = self.d.trigger
        if isinstance(trigger, EventTrigger):
            if trigger.event not in catalog.EVENT_TYPES:
                self.add("trigger.event", f'unknown event type "{trigger.event}"')
            elif trigger.filter is not None:
                self.logic(trigger.filter, "trigger.filter")
        elif isinstance(trigger, ScheduleTrigger):
            try:
                CronTrigger.from_crontab(trigger.schedule, timezone="UTC")
            except ValueError as exc:
                self.add("trigger.schedule", f"not a 5-field cron expression: {exc}")
        else:
            record, _, name = trigger.date_field.partition(".")
            if isinstance(trigger.offset_days, dict):
                self.hours(trigger.offset_days, "trigger.offset_days", "days")
            if name not in catalog.DATE_FIELDS.get(record, ()):
                known = ", ".join(f"{r}.{f}" for r, fs in catalog.DATE_FIELDS.items() for f in fs)
                self.add(
                    "trigger.date_field",
                    f'unknown date field "{trigger.date_field}" (one of {known})',
                )

    # -- steps --

    def step_condition(self, step, where: str) -> None:
        self.logic(step.if_, f"{where}.if")

    def step_branch(self, step, where: str) -> None:
        for index, path in enumerate(step.paths):
            self.logic(path.when, f"{where}.paths.{index}.when")

    def value(self, value: Any, path: str) -> None:
        """A field that takes a literal or JsonLogic (definition.py's docstring); a literal
        is checked too (no NUL, finite numbers: it is stored as JSON)."""
        self.logic(value, path)

    def hours(self, value: Any, path: str, unit: str = "hours") -> None:
        """A duration: a number, or JsonLogic giving one (settings.discount_escalation_hours)."""
        if not isinstance(value, dict):
            return
        found, problems = logic.check_shape(value, self.shape, path)
        for where, message in problems:
            self.add(where, message)
        if not problems and found not in ("int", "number", "any"):
            self.add(path, f"must give a number of {unit} (this gives a {found})")

    def step_require_approval(self, step, where: str) -> None:
        for index, approver in enumerate(step.levels):
            self.person(approver, f"{where}.levels.{index}")
        self.hours(step.escalate_after_hours, f"{where}.escalate_after_hours")

    def step_assign_task(self, step, where: str) -> None:
        self.person(step.to, f"{where}.to")
        self.value(step.title, f"{where}.title")
        self.hours(step.due_in_hours, f"{where}.due_in_hours")

    def step_notify(self, step, where: str) -> None:
        if step.template not in TEMPLATES:
            self.add(
                f"{where}.template",
                f'unknown template "{step.template}" (one of ' + ", ".join(sorted(TEMPLATES)) + ")",
            )
        self.person(step.to, f"{where}.to")
        for key, value in (step.payload or {}).items():
            self.value(value, f"{where}.payload.{key}")
        if step.rule is not None and step.rule != "workflow":
            self.rule(step.rule, f"{where}.rule")

    def step_withdraw(self, step, where: str) -> None:
        self.rule(step.rule, f"{where}.rule")
        for index, template in enumerate(step.templates or ()):
            if template not in TEMPLATES:
                self.add(f"{where}.templates.{index}", f'unknown template "{template}"')

    def rule(self, rule: str, where: str) -> None:
        if rule not in NOTIFICATION_RULES:
            known = ", ".join(sorted(NOTIFICATION_RULES))
            self.add(where, f'unknown notification rule "{rule}" (one of {known})')

    def person(self, ref, where: str) -> None:
        if isinstance(ref, str):  # a notice's "rep", "manager", "customer", "distributor"
            record = "rep" if ref in ("rep", "manager") else "customer"
            if record not in self.shape:
                self.add(where, f"this workflow's context names no {record}")
        elif (user := getattr(ref, "user", None)) is not None:
            if self.user_exists is not None and not self.user_exists(user):
                self.add(f"{where}.user", f"user {user} does not exist or is deactivated")
        elif (role := getattr(ref, "role", None)) is not None:
            if role not in catalog.ROLES:
                self.add(
                    f"{where}.role",
                    f'unknown role "{role}" (one of ' + ", ".join(sorted(catalog.ROLES)) + ")",
                )
        elif (path := getattr(ref, "context", None)) is not None:
            found, unknown = logic.resolve(self.shape, path)
            if unknown is not None:
                self.add(f"{where}.context", logic.unknown_variable(path, self.shape))
            elif found not in ("int", "any"):
                self.add(f"{where}.context", f'"{path}" is not an id')
        elif "reps_in_teams" in type(ref).model_fields:
            if ref.reps_in_teams is not None:
                self.value(ref.reps_in_teams, f"{where}.reps_in_teams")
        elif getattr(ref, "manager_of", None) is not None:
            if "rep" not in self.shape:
                self.add(f"{where}.manager_of", "this workflow's context names no rep")
        else:
            path = ref.round_robin_team
            found, unknown = logic.resolve(self.shape, path)
            if unknown is not None:
                self.add(f"{where}.round_robin_team", logic.unknown_variable(path, self.shape))
            elif found not in ("int", "any"):
                self.add(f"{where}.round_robin_team", f'"{path}" is not an id')

    def step_update_record(self, step, where: str) -> None:
        if step.record not in self.shape:
            self.add(f"{where}.record", f"this workflow's context names no {step.record}")
        allowed = UPDATABLE[step.record]
        for name, value in step.set.items():
            path = f"{where}.set.{name}"
            if name not in allowed:
                self.add(
                    path,
                    f"{step.record}.{name} cannot be set by a workflow "
                    f"(settable: {', '.join(allowed)})",
                )
            elif logic.is_expression(value):
                self.logic(value, path)
            elif isinstance(value, dict | list):
                self.add(path, "a literal value or a JsonLogic operation")
            elif (problem := value_problem(allowed[name], value)) is not None:
                self.add(path, problem)

    def step_set_variable(self, step, where: str) -> None:
        self.logic(step.value, f"{where}.value")

    def step_wait(self, step, where: str) -> None:
        given = [k for k in ("hours", "until", "event") if getattr(step, k) is not None]
        if len(given) != 1:
            self.add(where, "give exactly one of hours, until, event")
        if step.until is not None:
            self.logic(step.until, f"{where}.until")
        self.hours(step.hours, f"{where}.hours")
        self.hours(step.timeout_hours, f"{where}.timeout_hours")
        if step.event is None:
            for key in ("match", "timeout_hours", "on_timeout"):
                if getattr(step, key) is not None:
                    self.add(f"{where}.{key}", "only for a wait on an event")
            return
        if step.event not in catalog.EVENT_TYPES:
            self.add(f"{where}.event", f'unknown event type "{step.event}"')
            return
        if step.match is not None:
            # The runtime reads the candidate event as `event` (engine.on_event).
            candidate = {"event": catalog.event_shape(step.event)}
            self.logic(step.match, f"{where}.match", self.shape | candidate)
        if step.on_timeout is not None and step.timeout_hours is None:
            self.add(f"{where}.on_timeout", "needs timeout_hours")

    def step_webhook(self, step, where: str) -> None:
        """The subscription is looked up when the step runs (a webhook can be created,
        renamed or deleted after the workflow is published); its payload is checked."""
        for key, value in (step.payload or {}).items():
            self.value(value, f"{where}.payload.{key}")

    def step_end(self, step, where: str) -> None:
        """An end leads nowhere."""

    # -- the CRM steps: each needs its record in the run's context --

    def record(self, record: str, where: str) -> None:
        if record not in self.shape:
            self.add(where, f"this workflow's context names no {record}")

    def step_route_renewal(self, step, where: str) -> None:
        self.record("contract", f"{where}.type")
        for name, value in (step.policy or {}).items():
            if logic.is_expression(value):
                self.add(f"{where}.policy.{name}", "a literal value (not JsonLogic)")

    def step_renew_contract(self, step, where: str) -> None:
        self.record("contract", f"{where}.type")

    def step_create_opportunity(self, step, where: str) -> None:
        self.record("customer", f"{where}.type")
        self.value(step.title, f"{where}.title")
        for name in ("amount", "expected_close"):
            if getattr(step, name) is not None:
                self.value(getattr(step, name), f"{where}.{name}")
        if step.owner is not None:
            self.person(step.owner, f"{where}.owner")

    def step_score_lead(self, step, where: str) -> None:
        self.record("opportunity", f"{where}.type")

    def step_assign_lead(self, step, where: str) -> None:
        self.record("opportunity", f"{where}.type")

    # -- the graph --

    def graph(self) -> None:
        steps = self.d.steps
        edges = {sid: [t for _, t in successors(step)] for sid, step in steps.items()}
        reached, todo = {self.d.start}, [self.d.start]
        while todo:
            for target in edges[todo.pop()]:
                if target not in reached:
                    reached.add(target)
                    todo.append(target)
        for step_id in steps:
            if step_id not in reached:
                self.add(f"steps.{step_id}", "unreachable from start")
        moving = {sid: ts for sid, ts in edges.items() if steps[sid].type not in WAITING_TYPES}
        for cycle in _cycles(moving):
            chain = " → ".join(f"steps.{sid}" for sid in [*cycle, cycle[0]])
            self.add(chain, "a cycle without a wait (add a wait or an approval in it)")


def _cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Every distinct cycle found by a depth-first walk (each as from its smallest id)."""
    found: dict[tuple, list[str]] = {}
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for target in edges.get(node, ()):
            if state.get(target) == 1:
                cycle = stack[stack.index(target) :]
                low = cycle.index(min(cycle))
                rotated = cycle[low:] + cycle[:low]
                found.setdefault(tuple(rotated), rotated)
            elif target in edges and state.get(target) is None:
                walk(target, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if state.get(node) is None:
            walk(node, [])
    return list(found.values())
