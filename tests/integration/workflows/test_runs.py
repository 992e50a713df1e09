"""Runs: version pinning, error policies, a crash between an action and its record,
admin retry and cancel."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sfa.workflows import engine, steps, timers
from sfa.workflows.actions import ACTIONS
from sfa.workflows.actions.base import Outcome
from sfa.workflows.runtime_models import (
    RunStatus,
    Task,
    TaskStatus,
    TimerKind,
    WorkflowTimer,
)

from .conftest import T0, definition, path, start, step_rows

END = {"type": "end"}
BAD_NOTIFY = {"type": "notify", "channel": "in_app", "template": "no_such_template", "to": "rep"}


def timer_rows(db, run):
    return [
        (t.kind, t.due_at)
        for t in db.scalars(select(WorkflowTimer).where(WorkflowTimer.run_id == run.id))
    ]


def test_runs_finish_on_the_version_they_started_on(db, world):
    v1 = definition(
        "w",
        w={"type": "wait", "hours": 1, "next": "s"},
        s={"type": "set_variable", "name": "v", "value": 1},
    )
    v2 = definition(
        "w",
        w={"type": "wait", "hours": 1, "next": "s"},
        s={"type": "set_variable", "name": "v", "value": 2, "next": "x"},
        x={"type": "set_variable", "name": "extra", "value": True},
    )
    old = start(db, v1, subject=(None, None), version_id=1)
    v1["steps"]["s"]["value"] = 99  # the authoring side's dict changing does not reach the run
    new = start(db, v2, subject=(None, None), version_id=2)
    assert timers.wake_due(db, now=T0 + timedelta(hours=1)) == 2
    assert (old.version_id, old.status, old.variables) == (1, RunStatus.completed, {"v": 1})
    assert (new.version_id, new.variables) == (2, {"v": 2, "extra": True})


def test_retry_with_backoff_then_fail(db, world, make_order):
    order = make_order("0")
    step = BAD_NOTIFY | {"on_error": {"retries": 2, "backoff_s": 10}}
    run = start(db, definition("n", n=step), subject=("order", order.id))
    assert run.status is RunStatus.waiting
    assert timer_rows(db, run) == [(TimerKind.retry, T0 + timedelta(seconds=10))]
    assert timers.wake_due(db, now=T0 + timedelta(seconds=10)) == 1
    assert timer_rows(db, run) == [(TimerKind.retry, T0 + timedelta(seconds=30))]
    assert timers.wake_due(db, now=T0 + timedelta(seconds=30)) == 1
    assert run.status is RunStatus.failed
    assert "unknown notification template 'no_such_template'" in run.error
    assert [(r.attempt, str(r.status)) for r in step_rows(db, run)] == [
        (1, "failed"),
        (2, "failed"),
        (3, "failed"),
    ]


def test_retry_succeeds_after_a_transient_failure(db, world, make_order, monkeypatch):
    order = make_order("0")
    calls = []

    def flaky(call):
        calls.append(call.attempt)
        if len(calls) == 1:
            raise RuntimeError("gateway busy")
        return ACTIONS["set_variable"](call)

    monkeypatch.setitem(ACTIONS, "flaky", flaky)
    step = {"type": "flaky", "name": "ok", "value": 1, "on_error": {"retries": 1, "backoff_s": 5}}
    run = start(db, definition("f", f=step), subject=("order", order.id))
    assert run.status is RunStatus.waiting
    timers.wake_due(db, now=T0 + timedelta(seconds=5))
    assert (run.status, run.variables, run.failures) == (RunStatus.completed, {"ok": 1}, 0)
    assert path(db, run) == [("f", "failed"), ("f", "done")]
    assert step_rows(db, run)[0].error == "RuntimeError: gateway busy"


def test_continue_policy_goes_on(db, world, make_order):
    order = make_order("0")
    step = BAD_NOTIFY | {"on_error": {"then": "continue"}, "next": "after"}
    run = start(db, definition("n", n=step, after=END), subject=("order", order.id))
    assert run.status is RunStatus.completed
    assert path(db, run) == [("n", "failed"), ("after", "done")]


def test_failed_run_is_parked_then_retried_or_cancelled(db, world, make_order, monkeypatch):
    order = make_order("0")
    run = start(
        db,
        definition(
            "n",
            n=BAD_NOTIFY | {"next": "t"},
            t={"type": "assign_task", "to": {"user": world.rep_a.id}, "title": "x"},
        ),
        subject=("order", order.id),
    )
    assert run.status is RunStatus.failed and run.current_step == "n"
    # What made it fail is mended (here: notify stands in for a gateway that is back); the
    # admin's retry tries the same step again, as a new attempt, and goes on.
    monkeypatch.setitem(ACTIONS, "notify", lambda call: Outcome(next=call.step.get("next")))
    engine.retry_run(db, run, now=T0)
    assert run.status is RunStatus.completed and run.error is None
    assert path(db, run) == [("n", "failed"), ("n", "done"), ("t", "done")]

    waiting = start(
        db,
        definition(
            "w",
            w={"type": "wait", "hours": 5, "next": "t"},
            t={"type": "assign_task", "to": {"user": world.rep_a.id}, "title": "y"},
        ),
        subject=("order", order.id),
    )
    engine.cancel_run(db, waiting, now=T0)
    assert waiting.status is RunStatus.cancelled and timer_rows(db, waiting) == []
    assert timers.wake_due(db, now=T0 + timedelta(hours=6)) == 0


class Crash(BaseException):
    """The process dies: not an error a step's policy handles."""


def test_crash_between_action_and_record_has_no_double_effect(db, world, monkeypatch):
    defn = definition(
        "w",
        w={"type": "wait", "hours": 1, "next": "t"},
        t={"type": "assign_task", "to": {"user": world.rep_a.id}, "title": "once", "next": "n"},
        n={
            "type": "notify",
            "channel": "in_app",
            "template": "order_placed_rep",
            "to": {"user": world.rep_a.id},
        },
    )
    run = start(db, defn, subject=(None, None))
    db.commit()
    record = steps.record

    def crash_after_the_task(session, row, outcome, now):
        if row.step_id == "t":
            raise Crash()
        record(session, row, outcome, now)

    monkeypatch.setattr(steps, "record", crash_after_the_task)
    with pytest.raises(Crash):
        timers.wake_due(db, now=T0 + timedelta(hours=1))
    db.rollback()
    monkeypatch.setattr(steps, "record", record)
    assert timers.wake_due(db, now=T0 + timedelta(hours=1)) == 1
    db.refresh(run)
    assert run.status is RunStatus.completed
    tasks = db.scalars(select(Task).where(Task.run_id == run.id)).all()
    assert [(t.title, t.status) for t in tasks] == [("once", TaskStatus.open)]
    assert [(r.step_id, r.attempt) for r in step_rows(db, run)] == [("w", 1), ("t", 1), ("n", 1)]


def test_a_loop_without_a_wait_fails_the_run(db, world):
    loop = definition("a", a={"type": "set_variable", "name": "x", "value": 1, "next": "a"})
    run = start(db, loop, subject=(None, None))
    assert run.status is RunStatus.failed and "loops" in run.error
    assert db.scalar(select(func.count()).where(Task.run_id == run.id)) == 0
