"""What every step action gets and gives back, and the helpers they share."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sfa.errors import InvalidInput
from sfa.workflows.runtime_logic import evaluate
from sfa.workflows.runtime_models import TimerKind, WorkflowRun, WorkflowTimer


class StepError(InvalidInput):
    """A step cannot do what its definition says (bad data, nobody to assign): the step
    fails and its error policy applies."""


@dataclass
class StepCall:
    session: Session
    run: WorkflowRun
    step_id: str
    step: dict
    attempt: int
    # f"{run_id}:{step_id}:{attempt}", recorded with the step's effect
    key: str
    now: datetime
    # the run's context with its variables under "vars": what JsonLogic reads
    data: dict

    def value(self, rule: Any) -> Any:
        return evaluate(rule, self.data)

    def require(self, name: str) -> Any:
        if name not in self.step:
            raise StepError(f"step {self.step_id!r} ({self.step.get('type')}) needs {name!r}")
        return self.step[name]


@dataclass
class Outcome:
    output: dict = field(default_factory=dict)
    # the step to go to; None ends the run (unless the run waits here)
    next: str | None = None
    wait: bool = False  # the run stays at this step until a timer, event or decision


def add_timer(
    session: Session,
    run: WorkflowRun,
    step_id: str,
    kind: TimerKind,
    due_at: datetime,
    approval_id: int | None = None,
) -> WorkflowTimer:
    timer = WorkflowTimer(
        run_id=run.id, step_id=step_id, kind=kind, due_at=due_at, approval_id=approval_id
    )
    session.add(timer)
    return timer


def hours(call: StepCall, name: str) -> timedelta | None:
    """A duration in hours from the step (a number, or JsonLogic such as
    {"var": "settings.discount_escalation_hours"}); None when the step has none."""
    if call.step.get(name) is None:
        return None
    value = call.value(call.step[name])
    if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
        raise StepError(f"step {call.step_id!r}: {name} must be a number of hours, got {value!r}")
    return timedelta(hours=value)


def lookup(data: dict, path: str) -> Any:
    """A dotted path of the context ("rep.team.id"), None when any part is missing."""
    node: Any = data
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node
