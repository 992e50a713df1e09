"""One step of a run: its attempt, its record and its error policy.

Every step goes through `execute`, which records the run-step row — idempotency key
`f"{run_id}:{step_id}:{attempt}"`, unique — together with the step's effect, so a step's
effect exists exactly when its record does:

* a step that raises takes nothing with it: a routing step (ROUTING_STEPS) adds its rows
  only after its last check, any other runs in a SAVEPOINT that is rolled back; it is
  recorded `failed`, and its `on_error` policy applies: `retries` more attempts after
  `backoff_s` seconds, doubling (a retry timer), then `continue` (to its `next`) or
  `fail` (the default: the run is parked `failed` with the reason, for an admin to retry
  or cancel);
* a crash between the effect and its record (the process dies, the transaction never
  commits) undoes both: the retry sees the same attempt number and does the step once.
  How each action type keeps to this is said in its module (sfa/workflows/actions/).
"""

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.errors import DomainError
from sfa.workflows import batch as run_batch
from sfa.workflows.actions import ACTIONS
from sfa.workflows.actions.base import Outcome, StepCall, StepError, add_timer
from sfa.workflows.runtime_models import (
    RunStatus,
    StepStatus,
    TimerKind,
    WorkflowRun,
    WorkflowRunStep,
)

MAX_BACKOFF_S = 24 * 3600
# Steps that only route the run or touch its own rows, added to the session after their
# last check (sfa/workflows/actions/flow.py): one that fails has written nothing, so they
# need no savepoint, and their record waits for the next flush (the run's row is locked,
# so no other process records this run's steps meanwhile).
ROUTING_STEPS = frozenset({"condition", "branch", "end", "set_variable", "wait"})


def _attempt(session: Session, run_id: int, step_id: str) -> int:
    batch = run_batch.current(session)
    if batch is not None and run_id in batch.attempts:
        return batch.attempts[run_id].get(step_id, 0) + 1
    done = session.scalar(
        select(func.count())
        .select_from(WorkflowRunStep)
        .where(WorkflowRunStep.run_id == run_id, WorkflowRunStep.step_id == step_id)
    )
    return (done or 0) + 1


def step_call(session: Session, run: WorkflowRun, step_id: str, now: datetime) -> StepCall:
    """What a step of `run` reads (also for decisions and escalations outside `execute`)."""
    attempt = _attempt(session, run.id, step_id)
    return StepCall(
        session=session,
        run=run,
        step_id=step_id,
        step=run.definition.get("steps", {}).get(step_id) or {},
        attempt=attempt,
        key=f"{run.id}:{step_id}:{attempt}",
        now=now,
        data={**run.context, "vars": dict(run.variables)},
    )


def record(session: Session, row: WorkflowRunStep, outcome: Outcome, now: datetime) -> None:
    """Write what the step did, in the step's savepoint, after its effect (the last thing
    before the savepoint is released: a crash up to here leaves neither effect nor
    record). The idempotency key is unique: when another process recorded this attempt
    first, this INSERT fails and the savepoint takes this effect back with it."""
    row.output = outcome.output
    row.status = StepStatus.waiting if outcome.wait else StepStatus.done
    row.finished_at = None if outcome.wait else now
    session.add(row)
    _counted(session, row)
    if row.step_type not in ROUTING_STEPS:
        session.flush()


def _counted(session: Session, row: WorkflowRunStep) -> None:
    """In a batch, the row gets its id now (inserted with the batch's others), and a
    batch that counts this run's attempts counts this one too."""
    batch = run_batch.current(session)
    if batch is None:
        return
    if row.id is None:
        row.id = run_batch.next_id(session, "workflow_run_steps")
    if row.run_id in batch.attempts:
        steps = batch.attempts[row.run_id]
        steps[row.step_id] = steps.get(row.step_id, 0) + 1


def _message(exc: Exception) -> str:
    text = exc.message if isinstance(exc, DomainError) else f"{type(exc).__name__}: {exc}"
    return text[:1000]


def execute(session: Session, run: WorkflowRun, step_id: str, now: datetime) -> Outcome | None:
    """Do one step, recorded with its effect; None when the run stops here (failed, or
    waiting for a retry)."""
    call = step_call(session, run, step_id, now)
    if step_id not in run.definition.get("steps", {}):
        fail(run, f"step {step_id!r} is not in the run's definition", now)
        return None
    row = WorkflowRunStep(
        run_id=run.id,
        step_id=step_id,
        step_type=str(call.step.get("type")),
        attempt=call.attempt,
        idempotency_key=call.key,
        status=StepStatus.done,
        input={"step": call.step, "vars": call.data["vars"]},
        started_at=now,
    )
    try:
        if row.step_type in ROUTING_STEPS:
            outcome = ACTIONS[row.step_type](call)
            record(session, row, outcome, now)
        else:
            with session.begin_nested():
                outcome = _action(call, step_id)(call)
                record(session, row, outcome, now)
    except IntegrityError:
        raise  # the attempt is recorded already: another process advanced the run
    except Exception as exc:
        return _failed(session, run, call, exc, now)
    run.failures = 0
    run.context = {key: value for key, value in call.data.items() if key != "vars"}
    return outcome


def _action(call: StepCall, step_id: str):
    action = ACTIONS.get(str(call.step.get("type")))
    if action is None:
        raise StepError(f"step {step_id!r} has an unknown type {call.step.get('type')!r}")
    return action


def _failed(
    session: Session, run: WorkflowRun, call: StepCall, exc: Exception, now: datetime
) -> Outcome | None:
    """Record a failed attempt and apply the step's error policy."""
    message = _message(exc)
    failed = WorkflowRunStep(
        run_id=run.id,
        step_id=call.step_id,
        step_type=str(call.step.get("type")),
        attempt=call.attempt,
        idempotency_key=call.key,
        status=StepStatus.failed,
        input={"step": call.step, "vars": call.data["vars"]},
        error=message,
        started_at=now,
        finished_at=now,
    )
    session.add(failed)
    _counted(session, failed)
    policy = call.step.get("on_error") or {}
    if run.failures < int(policy.get("retries", 0)):
        backoff = float(policy.get("backoff_s", 60)) * 2**run.failures
        run.failures += 1
        run.status = RunStatus.waiting
        due = now + timedelta(seconds=min(backoff, MAX_BACKOFF_S))
        add_timer(session, run, call.step_id, TimerKind.retry, due)
        session.flush()
        return None
    run.failures = 0
    if policy.get("then") == "continue":
        return Outcome({"continued_after": message}, next=call.step.get("next"))
    fail(run, f"step {call.step_id!r}: {message}", now)
    return None


def finish(run: WorkflowRun, status: RunStatus, now: datetime) -> None:
    run.status, run.finished_at = status, now


def fail(run: WorkflowRun, reason: str, now: datetime) -> None:
    """Park the run with its reason (an admin retries or cancels it)."""
    run.status, run.error, run.finished_at = RunStatus.failed, reason[:1000], now
