"""Durable timers: waits, event timeouts, approval escalations and step retries are
rows of `workflow_timers` with a `due_at`, woken by the `workflow-timers` job.

`wake_due` claims due timers with their runs with FOR UPDATE SKIP LOCKED, so several
schedulers (or a scheduler and `sfa run-job`) share them without firing one twice; a
timer whose run another transaction holds is skipped and found again next time.

A batch is first fired together, in one savepoint, as a batch of runs
(sfa/workflows/batch.py): the timers deleted, the resumed steps' other timers and waits
cleared, the attempt counts and waiting rows loaded, each in one statement for the
batch; runs whose next steps only route them then cost no statement of their own. When
anything in it raises, the savepoint takes the batch back and each timer's run is
advanced in a SAVEPOINT of its own, so one run that breaks is parked with the reason and
the others go on.
"""

import logging
import time
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sfa.workflows import approvals, engine
from sfa.workflows import batch as run_batch
from sfa.workflows.runtime_models import (
    RunStatus,
    TimerKind,
    WorkflowRun,
    WorkflowTimer,
    WorkflowWait,
)

log = logging.getLogger("sfa.workflows.timers")

BATCH = 500
# The job stops claiming after this long, so one run never overlaps the next period.
JOB_BUDGET_S = 50.0


def fire(session: Session, timer: WorkflowTimer, run: WorkflowRun, now: datetime) -> None:
    """What a due timer means for its run (nothing when the run moved on meanwhile)."""
    if run.status is not RunStatus.waiting or run.current_step != timer.step_id:
        return
    step = run.definition.get("steps", {}).get(timer.step_id) or {}
    if timer.kind is TimerKind.wake:
        output = {"woken_at": now.isoformat()}
        engine.resume(
            session, run, timer.step_id, next_step=step.get("next"), output=output, now=now
        )
    elif timer.kind is TimerKind.timeout:
        nxt = step.get("on_timeout", step.get("next"))
        output = {"timed_out_at": now.isoformat()}
        engine.resume(session, run, timer.step_id, next_step=nxt, output=output, now=now)
    elif timer.kind is TimerKind.retry:
        run.status = RunStatus.running
        engine.advance(session, run, now=now)
    elif timer.kind is TimerKind.escalation and timer.approval_id is not None:
        approvals.escalate(session, run, timer.approval_id, now=now)


def _resumes(timer: WorkflowTimer, run: WorkflowRun) -> bool:
    """The timer ends the step its run waits at (what `fire` resumes)."""
    return (
        timer.kind in (TimerKind.wake, TimerKind.timeout)
        and run.status is RunStatus.waiting
        and run.current_step == timer.step_id
    )


def _claim(
    session: Session, now: datetime, limit: int, workflow_id: int | None
) -> list[tuple[WorkflowTimer, WorkflowRun]]:
    """Up to `limit` due timers with their runs, both locked (skipping locked ones)."""
    stmt = (
        select(WorkflowTimer, WorkflowRun)
        .join(WorkflowRun, WorkflowRun.id == WorkflowTimer.run_id)
        .where(WorkflowTimer.due_at <= now)
    )
    if workflow_id is not None:
        stmt = stmt.where(WorkflowRun.workflow_id == workflow_id)
    rows = session.execute(
        stmt.order_by(WorkflowTimer.due_at, WorkflowTimer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return [(timer, run) for timer, run in rows]


def _fire_together(
    session: Session, claimed: list[tuple[WorkflowTimer, WorkflowRun]], now: datetime
) -> None:
    """Every claimed timer as one batch of runs (see the module's docstring)."""
    with run_batch.working(session) as batch:
        ids = [timer.id for timer, _ in claimed]
        session.execute(
            delete(WorkflowTimer).where(run_batch.ids_in(WorkflowTimer.id, ids)),
            execution_options={"synchronize_session": False},
        )
        resumed = {(run.id, timer.step_id) for timer, run in claimed if _resumes(timer, run)}
        if resumed:
            for model in (WorkflowTimer, WorkflowWait):
                session.execute(
                    delete(model).where(run_batch.pairs_in(model.run_id, model.step_id, resumed)),
                    execution_options={"synchronize_session": False},
                )
            batch.cleared |= resumed
        run_batch.load_attempts(session, batch, list({run.id for _, run in claimed}))
        run_batch.load_waiting(session, batch, resumed)
        for timer, run in claimed:
            session.expunge(timer)  # deleted above
            fire(session, timer, run, now)
        session.flush()


def _fire_alone(session: Session, timer: WorkflowTimer, run: WorkflowRun, now: datetime) -> None:
    """One timer in its own savepoint; a failure parks its run with the reason."""
    run_id, step_id, kind = run.id, timer.step_id, timer.kind
    try:
        with session.begin_nested():
            session.delete(timer)
            session.flush()
            fire(session, timer, run, now)
    except Exception as exc:
        log.exception("workflow run %s: %s timer of %s failed", run_id, kind, step_id)
        # The savepoint undid the timer's deletion too: drop it, park the run.
        session.execute(delete(WorkflowTimer).where(WorkflowTimer.id == timer.id))
        failed = session.get_one(WorkflowRun, run_id)
        engine.fail(failed, f"{kind} timer of step {step_id!r}: {exc}", now)
        session.flush()


def wake_due(
    session: Session,
    *,
    limit: int = BATCH,
    now: datetime | None = None,
    workflow_id: int | None = None,
) -> int:
    """Fire up to `limit` due timers (of one workflow's runs: the demo replaying its
    renewals' days); returns how many were claimed."""
    now = now or datetime.now(UTC)
    claimed = _claim(session, now, limit, workflow_id)
    if not claimed:
        return 0
    try:
        with session.begin_nested():
            _fire_together(session, claimed, now)
        return len(claimed)
    except Exception:
        log.warning(
            "a batch of %d workflow timers failed together; firing them one at a time",
            len(claimed),
            exc_info=True,
        )
    for timer, run in claimed:
        if timer not in session:
            session.add(timer)  # expunged by the batch; its row is back with the rollback
        _fire_alone(session, timer, run, now)
    return len(claimed)


def run_timers(session: Session) -> dict:
    """The scheduler job: wake every due timer in batches, committing each batch (its
    locks are held only while it is worked), within JOB_BUDGET_S."""
    started, total = time.monotonic(), 0
    while time.monotonic() - started < JOB_BUDGET_S:
        woken = wake_due(session)
        session.commit()
        total += woken
        if woken < BATCH:
            break
    return {"woken": total}
