"""The workflow runtime: start a run, advance it step by step until it waits or ends,
resume it when its timer, event or approval comes (docs/workflows-runtime.md).

Every step goes through `steps.execute` (sfa/workflows/steps.py: a step's record, its
effect and its error policy).

A run is advanced only with its row locked (`lock_run`): timers, events, decisions and
admin retries of one run never interleave.
"""

import copy
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sfa.workflows import batch as run_batch
from sfa.workflows import runtime_context, steps
from sfa.workflows.logic import LogicError
from sfa.workflows.runtime_logic import truthy
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    StepStatus,
    Task,
    TaskStatus,
    WorkflowApproval,
    WorkflowRun,
    WorkflowRunStep,
    WorkflowTimer,
    WorkflowWait,
)

# Steps one advance may take without waiting: a loop without a wait is a broken
# definition, and ends as a failed run rather than a stuck process.
MAX_STEPS = 200


log = logging.getLogger("sfa.workflows.engine")

# What other modules use of a step through the engine.
step_call, record, execute = steps.step_call, steps.record, steps.execute
finish, fail = steps.finish, steps.fail


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
