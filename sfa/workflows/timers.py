"""Durable timers: waits, event timeouts, approval escalations and step retries are
rows of `workflow_timers` with a `due_at`, woken by the `workflow-timers` job.

`wake_due` claims due timers with FOR UPDATE SKIP LOCKED, so several schedulers (or a
scheduler and `sfa run-job`) share them without firing one twice; each timer's run is
advanced in a SAVEPOINT of its own, so one run that breaks is parked with the reason and
the others go on. A timer whose run another transaction holds is skipped (SKIP LOCKED on
the run too) and found again next time.
"""

import logging
import time
from datetime import UTC, datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sfa.workflows import approvals, engine
from sfa.workflows.runtime_models import RunStatus, TimerKind, WorkflowRun, WorkflowTimer

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
    stmt = select(WorkflowTimer).where(WorkflowTimer.due_at <= now)
    if workflow_id is not None:
        runs = select(WorkflowRun.id).where(WorkflowRun.workflow_id == workflow_id)
        stmt = stmt.where(WorkflowTimer.run_id.in_(runs))
    timers = session.scalars(
        stmt.order_by(WorkflowTimer.due_at, WorkflowTimer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    claimed = 0
    for timer in timers:
        run = engine.lock_run(session, timer.run_id, skip_locked=True)
        if run is None:
            continue  # being advanced elsewhere; this timer comes round again
        claimed += 1
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
            run = session.get_one(WorkflowRun, run_id)
            engine.fail(run, f"{kind} timer of step {step_id!r}: {exc}", now)
            session.flush()
    return claimed


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
