"""The workflow runtime: start a run, advance it step by step until it waits or ends,
resume it when its timer, event or approval comes (docs/workflows-runtime.md).

Every step goes through `execute`, which records the run-step row — idempotency key
`f"{run_id}:{step_id}:{attempt}"`, unique — in a SAVEPOINT together with the step's
effect, so a step's effect exists exactly when its record does:

* a step that raises rolls its savepoint back (no half effect), is recorded `failed`,
  and its `on_error` policy applies: `retries` more attempts after `backoff_s` seconds,
  doubling (a retry timer), then `continue` (to its `next`) or `fail` (the default: the
  run is parked `failed` with the reason, for an admin to retry or cancel);
* a crash between the effect and its record (the process dies, the transaction never
  commits) undoes both: the retry sees the same attempt number and does the step once.
  How each action type keeps to this is said in its module (sfa/workflows/actions/).

A run is advanced only with its row locked (`lock_run`): timers, events, decisions and
admin retries of one run never interleave.
"""

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.errors import DomainError
from sfa.workflows import batch as run_batch
from sfa.workflows import runtime_context
from sfa.workflows.actions import ACTIONS
from sfa.workflows.actions.base import Outcome, StepCall, StepError, add_timer
from sfa.workflows.logic import LogicError
from sfa.workflows.runtime_logic import truthy
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    StepStatus,
    Task,
    TaskStatus,
    TimerKind,
    WorkflowApproval,
    WorkflowRun,
    WorkflowRunStep,
    WorkflowTimer,
    WorkflowWait,
)

# Steps one advance may take without waiting: a loop without a wait is a broken
# definition, and ends as a failed run rather than a stuck process.
MAX_STEPS = 200
MAX_BACKOFF_S = 24 * 3600
# Steps that only route the run or touch its own rows, added to the session after their
# last check (sfa/workflows/actions/flow.py): one that fails has written nothing, so they
# need no savepoint, and their record waits for the next flush (the run's row is locked,
# so no other process records this run's steps meanwhile).
ROUTING_STEPS = frozenset({"condition", "branch", "end", "set_variable", "wait"})


log = logging.getLogger("sfa.workflows.engine")


class TriggerEvent(Protocol):
    """What the engine reads of a domain event (sfa/workflows/consumer.py adapts the
    stream's events; read-only members, so frozen dataclasses such as Trigger fit)."""

    @property
    def event_id(self) -> Any: ...  # a uuid
    @property
    def type(self) -> str: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def subject_kind(self) -> str | None: ...
    @property
    def subject_id(self) -> int | None: ...
    @property
    def actor_kind(self) -> str | None: ...
    @property
    def actor_id(self) -> int | None: ...
    @property
    def payload(self) -> dict: ...


@dataclass(frozen=True)
class Trigger:
    """A trigger that is not a stored event: a schedule, a date field, a test by hand."""

    type: str
    subject_kind: str | None = None
    subject_id: int | None = None
    payload: dict = field(default_factory=dict)
    event_id: Any = None
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    actor_kind: str | None = None
    actor_id: int | None = None


@dataclass(frozen=True)
class ActiveWorkflow:
    """A workflow's published version, as the authoring side hands it to the engine."""

    workflow_id: int
    version_id: int
    definition: dict


def event_data(event: TriggerEvent) -> dict:
    return {
        "id": str(event.event_id) if event.event_id is not None else None,
        "type": event.type,
        "occurred_at": event.occurred_at.isoformat(),
        "subject_kind": event.subject_kind,
        "subject_id": event.subject_id,
        "actor_kind": event.actor_kind,
        "actor_id": event.actor_id,
        "payload": event.payload,
    }


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def lock_run(session: Session, run_id: int, *, skip_locked: bool = False) -> WorkflowRun | None:
    """The run with its row locked (None when `skip_locked` and another holds it)."""
    stmt = (
        select(WorkflowRun)
        .where(WorkflowRun.id == run_id)
        .with_for_update(skip_locked=skip_locked)
        .execution_options(populate_existing=True)
    )
    return session.scalar(stmt)


def start_run(
    session: Session,
    *,
    workflow_id: int,
    version_id: int,
    definition: dict,
    trigger: TriggerEvent,
    context: dict | None = None,
    now: datetime | None = None,
) -> WorkflowRun:
    """Start a run pinned to `version_id` with a snapshot of `definition`, and advance it.
    An event that already started this workflow (delivered again) returns that run."""
    now = _now(now)
    event_id = str(trigger.event_id) if trigger.event_id is not None else None
    if event_id is not None and (existing := _started(session, workflow_id, event_id)):
        return existing
    if context is None:
        context = runtime_context.build(
            session,
            subject_kind=trigger.subject_kind,
            subject_id=trigger.subject_id,
            payload=trigger.payload,
            event=event_data(trigger),
            now=now,
        )
    run = WorkflowRun(
        workflow_id=workflow_id,
        version_id=version_id,
        definition=copy.deepcopy(definition),  # the snapshot the run finishes on
        trigger_event_id=event_id,
        trigger_type=trigger.type,
        subject_kind=trigger.subject_kind,
        subject_id=trigger.subject_id,
        team_id=runtime_context.team_of(context),
        status=RunStatus.running,
        variables={},
        context=context,
        current_step=definition.get("start"),
        failures=0,
        started_at=now,
    )
    batch = run_batch.current(session)
    if batch is None:
        session.add(run)
        session.flush()
    else:  # inserted with the batch's other new runs and their steps, in one flush
        run.id = run_batch.next_id(session, "workflow_runs")
        session.add(run)
        batch.attempts[run.id] = {}
        if batch.runs is not None and event_id is not None:
            batch.runs[(workflow_id, event_id)] = run.id
    advance(session, run, now=now)
    return run


def _started(session: Session, workflow_id: int, event_id: str) -> WorkflowRun | None:
    """The run this event started of this workflow before (a redelivery), if any."""
    batch = run_batch.current(session)
    if batch is not None and batch.runs is not None:
        run_id = batch.runs.get((workflow_id, event_id))
        return session.get(WorkflowRun, run_id) if run_id is not None else None
    return session.scalar(
        select(WorkflowRun).where(
            WorkflowRun.workflow_id == workflow_id, WorkflowRun.trigger_event_id == event_id
        )
    )


def advance(session: Session, run: WorkflowRun, *, now: datetime | None = None) -> None:
    """Run steps until the run waits, ends, or fails."""
    now = _now(now)
    for _ in range(MAX_STEPS):
        if run.status is not RunStatus.running:
            return
        if run.current_step is None:
            return finish(run, RunStatus.completed, now)
        outcome = execute(session, run, run.current_step, now)
        if outcome is None:
            return
        if outcome.wait:
            run.status = RunStatus.waiting
            session.flush()
            return
        if outcome.next is None:
            return finish(run, RunStatus.completed, now)
        run.current_step = outcome.next
    fail(run, f"more than {MAX_STEPS} steps without a wait: the definition loops", now)


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


def clear_step(session: Session, run: WorkflowRun, step_id: str | None = None) -> None:
    """Drop the run's timers and waits (of one step, or all of them)."""
    for model in (WorkflowTimer, WorkflowWait):
        stmt = delete(model).where(model.run_id == run.id)
        if step_id is not None:
            stmt = stmt.where(model.step_id == step_id)
        # No "evaluate" over the session's objects: a timer job's session holds hundreds
        # of runs, and matching each DELETE against all of them made a batch quadratic.
        # Nothing reads a run's timer or wait objects after they are cleared.
        session.execute(stmt, execution_options={"synchronize_session": False})


def waiting_row(session: Session, run: WorkflowRun, step_id: str) -> WorkflowRunStep | None:
    batch = run_batch.current(session)
    if batch is not None and (run.id, step_id) in batch.waiting:
        return batch.waiting.pop((run.id, step_id))
    return session.scalar(
        select(WorkflowRunStep)
        .where(
            WorkflowRunStep.run_id == run.id,
            WorkflowRunStep.step_id == step_id,
            WorkflowRunStep.status == StepStatus.waiting,
        )
        .order_by(WorkflowRunStep.attempt.desc())
        .limit(1)
    )


def resume(
    session: Session,
    run: WorkflowRun,
    step_id: str,
    *,
    next_step: str | None,
    output: dict,
    now: datetime | None = None,
) -> bool:
    """The waiting step `step_id` is over: go on at `next_step`. False (nothing done)
    when the run no longer waits there (a second delivery, a stale timer)."""
    now = _now(now)
    if run.status is not RunStatus.waiting or run.current_step != step_id:
        return False
    row = waiting_row(session, run, step_id)
    if row is not None:
        row.status, row.finished_at = StepStatus.done, now
        row.output = {**(row.output or {}), **output}
    batch = run_batch.current(session)
    if batch is None or (run.id, step_id) not in batch.cleared:
        clear_step(session, run, step_id)
    run.context = refreshed_context(session, run, now)
    run.status, run.current_step = RunStatus.running, next_step
    if batch is None:
        session.flush()
    advance(session, run, now=now)
    return True


def refreshed_context(session: Session, run: WorkflowRun, now: datetime) -> dict:
    """The context rebuilt from the database (after a wait the records may have moved)."""
    event = run.context.get("event")
    payload = (event or {}).get("payload") or {}
    return runtime_context.build(
        session,
        subject_kind=run.subject_kind,
        subject_id=run.subject_id,
        payload=payload,
        event=event,
        now=now,
    )


def on_event(session: Session, event: TriggerEvent, *, now: datetime | None = None) -> int:
    """Resume the runs waiting for this event (type, subject, `match`); how many."""
    now = _now(now)
    waits = session.scalars(
        select(WorkflowWait)
        .where(WorkflowWait.event_type == event.type)
        .where(
            (WorkflowWait.subject_kind.is_(None))
            | (
                (WorkflowWait.subject_kind == event.subject_kind)
                & (WorkflowWait.subject_id == event.subject_id)
            )
        )
        .order_by(WorkflowWait.id)
    ).all()
    resumed = 0
    data = event_data(event)
    for wait in waits:
        run = lock_run(session, wait.run_id)
        if run is None or run.status is not RunStatus.waiting:
            continue
        if wait.match and not truthy(
            wait.match, {**run.context, "vars": run.variables, "event": data}
        ):
            continue
        step = run.definition["steps"].get(wait.step_id) or {}
        output = {"event_id": data["id"], "event_type": event.type}
        resumed += resume(
            session, run, wait.step_id, next_step=step.get("next"), output=output, now=now
        )
    return resumed


def dispatch(
    session: Session,
    event: TriggerEvent,
    workflows: Iterable[ActiveWorkflow],
    *,
    now: datetime | None = None,
) -> list[WorkflowRun]:
    """Start a run of every workflow triggered by this event (type and `filter`). The
    context is built once, and only when some workflow listens to the event type."""
    interested = [
        w for w in workflows if (w.definition.get("trigger") or {}).get("event") == event.type
    ]
    if not interested:
        return []
    now = _now(now)
    context = runtime_context.build(
        session,
        subject_kind=event.subject_kind,
        subject_id=event.subject_id,
        payload=event.payload,
        event=event_data(event),
        now=now,
    )
    runs = []
    for workflow in interested:
        if not _filter_passes(workflow, event, context):
            continue
        runs.append(
            start_run(
                session,
                workflow_id=workflow.workflow_id,
                version_id=workflow.version_id,
                definition=workflow.definition,
                trigger=event,
                context=context,
                now=now,
            )
        )
    return runs


def _filter_passes(workflow: ActiveWorkflow, event: TriggerEvent, context: dict) -> bool:
    """The trigger's filter over the context. A filter that cannot be evaluated (a
    division by zero, its work budget spent) skips that workflow only, with a log line:
    the event still reaches every other workflow and consumer."""
    rule = workflow.definition["trigger"].get("filter")
    if rule is None:
        return True
    try:
        return truthy(rule, {**context, "vars": {}})
    except LogicError as exc:
        log.warning(
            "workflow %s: trigger filter failed on event %s (%s): %s; not started",
            workflow.workflow_id,
            event.event_id,
            event.type,
            exc,
        )
        return False


def handle_event(
    session: Session,
    event: TriggerEvent,
    workflows: Iterable[ActiveWorkflow],
    *,
    now: datetime | None = None,
    resume: bool = True,
) -> int:
    """The events consumer: resume the runs waiting for it (unless the caller knows none
    waits for its type), start those it triggers."""
    resumed = on_event(session, event, now=now) if resume else 0
    return resumed + len(dispatch(session, event, workflows, now=now))


def retry_run(session: Session, run: WorkflowRun, *, now: datetime | None = None) -> None:
    """A failed run tries its current step again (a new attempt) and goes on from there."""
    run.status, run.error, run.finished_at, run.failures = RunStatus.running, None, None, 0
    run.context = refreshed_context(session, run, _now(now))
    session.flush()
    advance(session, run, now=now)


def cancel_run(session: Session, run: WorkflowRun, *, now: datetime | None = None) -> None:
    """Stop a run for good: its timers and waits go, its pending approvals and open tasks
    are cancelled."""
    now = _now(now)
    clear_step(session, run)
    for approval in session.scalars(
        select(WorkflowApproval).where(
            WorkflowApproval.run_id == run.id, WorkflowApproval.state == ApprovalDecision.pending
        )
    ):
        approval.state, approval.decided_at = ApprovalDecision.cancelled, now
    for task in session.scalars(
        select(Task).where(Task.run_id == run.id, Task.status == TaskStatus.open)
    ):
        task.status, task.closed_at = TaskStatus.cancelled, now
    finish(run, RunStatus.cancelled, now)
    session.flush()
