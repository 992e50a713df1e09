"""Two schedulers wake the same due timers at once (two sessions, two threads, real
commits): every timer fires once and every step after it runs once. The rows are
removed afterwards."""

import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, select

from factories import make_user
from sfa.db import session_scope
from sfa.users.models import Role, User
from sfa.workflows import engine, timers
from sfa.workflows.runtime_models import Task, WorkflowRun, WorkflowRunStep, WorkflowTimer

from .conftest import T0, definition

RUNS = 40
WORKFLOW_ID = 987_654


@pytest.fixture
def waiting_runs(database_url):
    with session_scope() as session:
        user_id = make_user(session, "wf-two-schedulers", Role.rep).id
        defn = definition(
            "w",
            w={"type": "wait", "hours": 1, "next": "t"},
            t={"type": "assign_task", "to": {"user": user_id}, "title": "once", "next": "v"},
            v={"type": "set_variable", "name": "done", "value": True},
        )
        for _ in range(RUNS):
            engine.start_run(
                session,
                workflow_id=WORKFLOW_ID,
                version_id=1,
                definition=defn,
                trigger=engine.Trigger(type="test"),
                now=T0,
            )
    try:
        yield user_id
    finally:
        with session_scope() as session:
            session.execute(delete(Task).where(Task.assignee_user_id == user_id))
            session.execute(delete(WorkflowRun).where(WorkflowRun.workflow_id == WORKFLOW_ID))
            session.execute(delete(User).where(User.id == user_id))


def test_two_schedulers_fire_each_timer_once(waiting_runs):
    barrier = threading.Barrier(2)
    woken: list[int] = []
    errors: list[BaseException] = []

    def scheduler():
        try:
            barrier.wait()
            total = 0
            with session_scope() as session:
                while n := timers.wake_due(session, limit=3, now=T0 + timedelta(hours=1)):
                    session.commit()
                    total += n
            woken.append(total)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sum(woken) == RUNS
    with session_scope() as session:
        runs = select(WorkflowRun.id).where(WorkflowRun.workflow_id == WORKFLOW_ID)
        assert (
            session.scalar(select(func.count()).where(Task.assignee_user_id == waiting_runs))
            == RUNS
        )
        steps = session.execute(
            select(WorkflowRunStep.step_id, func.count())
            .where(WorkflowRunStep.run_id.in_(runs))
            .group_by(WorkflowRunStep.step_id)
        ).all()
        assert dict(steps) == {"w": RUNS, "t": RUNS, "v": RUNS}
        assert session.scalar(select(func.count()).where(WorkflowTimer.run_id.in_(runs))) == 0
        statuses = session.scalars(
            select(WorkflowRun.status).where(WorkflowRun.workflow_id == WORKFLOW_ID)
        ).all()
        assert set(map(str, statuses)) == {"completed"}
