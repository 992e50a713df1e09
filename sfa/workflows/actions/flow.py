"""Steps that only route the run or touch the run's own rows: condition, branch, end,
set_variable and wait.

Crash handling: these write nothing outside the run's tables (variables, timers, waits),
which are written in the transaction that records the run-step, so a crash undoes both
and the retry does the step once. The engine runs them without a savepoint
(steps.ROUTING_STEPS), so each adds its rows only after its last check: one that fails
has added nothing.
"""

from datetime import datetime, timedelta

from sfa.company import service as company_service
from sfa.workflows.actions.base import Outcome, StepCall, StepError, add_timer, hours
from sfa.workflows.runtime_logic import truthy
from sfa.workflows.runtime_models import TimerKind, WorkflowWait


def condition(call: StepCall) -> Outcome:
    result = truthy(call.require("if"), call.data)
    return Outcome({"result": result}, next=call.step.get("then" if result else "else"))


def branch(call: StepCall) -> Outcome:
    for index, path in enumerate(call.require("paths")):
        if truthy(path.get("when"), call.data):
            return Outcome({"path": index}, next=path.get("next"))
    return Outcome({"path": "else"}, next=call.step.get("else"))


def end(call: StepCall) -> Outcome:
    return Outcome({})


def set_variable(call: StepCall) -> Outcome:
    name = call.require("name")
    value = call.value(call.step.get("value"))
    call.run.variables = {**call.run.variables, name: value}
    return Outcome({"name": name, "value": value}, next=call.step.get("next"))


def _until(call: StepCall) -> datetime:
    value = call.value(call.step["until"])
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        raise StepError(f"step {call.step_id!r}: until {value!r} is not an ISO date") from None
    if moment.tzinfo is None:  # a date or a local time: the company's timezone
        moment = moment.replace(tzinfo=company_service.get_company_settings(call.session).tz)
    return moment


def wait(call: StepCall) -> Outcome:
    """A duration (`hours`), a moment (`until`), or an `event` (with `match`, and
    `timeout_hours` leading to `on_timeout`, else `next`)."""
    step, run = call.step, call.run
    if step.get("event"):
        timeout = hours(call, "timeout_hours")  # checked before anything is added
        call.session.add(
            WorkflowWait(
                run_id=run.id,
                step_id=call.step_id,
                event_type=step["event"],
                subject_kind=run.subject_kind,
                subject_id=run.subject_id,
                match=step.get("match"),
            )
        )
        output: dict = {"event": step["event"]}
        if timeout is not None:
            due = call.now + timeout
            add_timer(call.session, run, call.step_id, TimerKind.timeout, due)
            output["timeout_at"] = due.isoformat()
        return Outcome(output, wait=True)
    if step.get("hours") is not None:
        due = call.now + (hours(call, "hours") or timedelta(0))
    elif step.get("until") is not None:
        due = _until(call)
    else:
        raise StepError(f"step {call.step_id!r}: a wait needs hours, until or event")
    if due <= call.now:
        return Outcome({"due_at": due.isoformat(), "waited": False}, next=step.get("next"))
    add_timer(call.session, run, call.step_id, TimerKind.wake, due)
    return Outcome({"due_at": due.isoformat()}, wait=True)
