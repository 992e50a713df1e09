"""Runs advanced as a batch (sfa/workflows/batch.py): a drain's events and a timer job's
due timers cost a few statements for the whole batch, not some per run; every run is
still recorded step by step with its own attempt numbers; a batch that raises is undone
and each run is advanced alone, so one broken run is parked and the others go on."""

from datetime import timedelta

import pytest
from sqlalchemy import event, select, update

from event_drain import drain_events, emit_sample
from sfa.auth import service as auth_service
from sfa.workflows import consumer as workflow_consumer
from sfa.workflows import engine, timers
from sfa.workflows import service as workflow_service
from sfa.workflows.models import Workflow
from sfa.workflows.runtime_models import RunStatus, WorkflowRun, WorkflowRunStep, WorkflowTimer

from .conftest import T0, definition, path, start

RUNS = 30
MARK = {"type": "set_variable", "name": "seen", "value": "yes", "next": "done"}
END = {"type": "end"}
NAPPING = definition(
    "nap",
    nap={"type": "wait", "hours": 1, "next": "mark"},
    mark=MARK,
    done=END,
)


class Statements:
    def __init__(self, db):
        self.engine, self.count = db.get_bind(), 0

    def _seen(self, *_args) -> None:
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._seen)


@pytest.fixture
def napping(db):
    """RUNS runs waiting on a one-hour timer (due at T0 + 1 h)."""
    db.execute(update(Workflow).values(enabled=False))  # no built-in run in the way
    runs = [start(db, NAPPING, subject=(None, None)) for _ in range(RUNS)]
    db.flush()
    assert {run.status for run in runs} == {RunStatus.waiting}
    return runs


def test_a_timer_batch_costs_statements_per_batch_not_per_run(db, napping):
    with Statements(db) as statements:
        woken = timers.wake_due(db, now=T0 + timedelta(hours=2))

    assert woken == RUNS
    for run in napping:
        db.refresh(run)
        assert run.status is RunStatus.completed and run.variables == {"seen": "yes"}
        assert path(db, run) == [("nap", "done"), ("mark", "done"), ("done", "done")]
    keys = db.scalars(
        select(WorkflowRunStep.idempotency_key).where(
            WorkflowRunStep.run_id.in_([run.id for run in napping])
        )
    ).all()
    assert len(keys) == len(set(keys)) == 3 * RUNS
    # Claim, delete, clear timers and waits, attempts, waiting rows, settings, ids, the
    # flush's executemanys and the savepoint: a handful, whatever the number of runs
    # (one at a time: 661, 22 a run).
    assert statements.count <= 20, statements.count


def test_a_run_that_breaks_the_batch_is_parked_and_the_others_complete(db, napping, monkeypatch):
    broken = napping[7].id
    real = engine.refreshed_context

    def refreshed(session, run, now):
        if run.id == broken:
            raise RuntimeError("the context cannot be read")
        return real(session, run, now)

    monkeypatch.setattr(engine, "refreshed_context", refreshed)
    assert timers.wake_due(db, now=T0 + timedelta(hours=2)) == RUNS

    for run in napping:
        db.refresh(run)
    parked = [run for run in napping if run.status is RunStatus.failed]
    assert [run.id for run in parked] == [broken]
    assert "the context cannot be read" in parked[0].error
    assert all(r.status is RunStatus.completed for r in napping if r.id != broken)
    assert db.scalar(select(WorkflowTimer.id).where(WorkflowTimer.run_id == broken)) is None


def test_a_failing_step_retried_in_a_batch_counts_its_attempts(db, monkeypatch):
    # A step that fails once with a retry: the retry timer wakes it in a batch, and the
    # new attempt is number 2 (the batch counts the failed one).
    db.execute(update(Workflow).values(enabled=False))
    flaky = {
        "type": "set_variable",
        "name": "x",
        "value": {"/": [1, {"var": "vars.zero"}]},
        "next": "done",
        "on_error": {"retries": 1, "backoff_s": 60, "then": "continue"},
    }
    run = start(db, definition("flaky", flaky=flaky, done=END), subject=(None, None))
    assert run.status is RunStatus.waiting
    timers.wake_due(db, now=T0 + timedelta(minutes=5))
    db.refresh(run)
    rows = db.scalars(
        select(WorkflowRunStep).where(WorkflowRunStep.run_id == run.id).order_by(WorkflowRunStep.id)
    ).all()
    assert [(r.step_id, r.attempt, str(r.status)) for r in rows] == [
        ("flaky", 1, "failed"),
        ("flaky", 2, "failed"),
        ("done", 1, "done"),
    ]
    assert run.status is RunStatus.completed


@pytest.fixture
def marking(db, world):
    db.execute(update(Workflow).values(enabled=False))
    drain_events(db, workflow_consumer.CONSUMER)  # other tests' committed events first
    admin = auth_service.principal_for_user(db, world.admin)
    steps = {"mark": MARK, "done": END}
    defn = {"name": "m", "trigger": {"event": "announcement.due"}, "start": "mark", "steps": steps}
    workflow = workflow_service.create_workflow(
        db, principal=admin, key="batch-mark", definition=defn, enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    return workflow


def _runs(db, workflow) -> list[WorkflowRun]:
    return list(db.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id)))


def test_a_drain_starts_a_batch_of_runs_with_statements_per_batch(db, marking):
    for k in range(RUNS):
        emit_sample(db, f"e{k}")
    with Statements(db) as statements:
        result = drain_events(db, workflow_consumer.CONSUMER)

    assert result.handled == RUNS and result.failed == 0
    runs = _runs(db, marking)
    assert len(runs) == RUNS
    assert {(r.status, r.variables["seen"]) for r in runs} == {(RunStatus.completed, "yes")}
    assert statements.count <= 30, statements.count  # 678 one at a time (22 a run)


def test_an_event_that_breaks_the_batch_is_parked_and_the_others_start(db, marking, monkeypatch):
    real = engine.dispatch

    def dispatch(session, event, workflows, **options):
        if event.payload.get("title") == "e3":
            raise RuntimeError("broken event")
        return real(session, event, workflows, **options)

    monkeypatch.setattr(engine, "dispatch", dispatch)
    for k in range(5):
        emit_sample(db, f"e{k}")
    result = drain_events(db, workflow_consumer.CONSUMER)

    assert result.handled == 4 and result.failed == 1
    titles = sorted(r.context["payload"]["title"] for r in _runs(db, marking))
    assert titles == ["e0", "e1", "e2", "e4"]
