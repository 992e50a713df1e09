"""The engine's batch plan (sfa/workflows/consumer.py `prepare`): events no workflow can
act on are recorded processed together, without the handler; every event that may start
or resume a run still reaches it — also one waited for by a run an earlier event of the
same batch started."""

import pytest
from sqlalchemy import func, select, update

from event_drain import drain_events, emit_sample
from sfa.auth import service as auth_service
from sfa.events.models import ProcessedEvent
from sfa.workflows import consumer as workflow_consumer
from sfa.workflows import service as workflow_service
from sfa.workflows.models import Workflow
from sfa.workflows.runtime_models import RunStatus, WorkflowRun

MARK = {"type": "set_variable", "name": "seen", "value": "yes", "next": "done"}


@pytest.fixture
def admin(db, world):
    # The built-ins off: the built-in announcement workflow would want every event here.
    db.execute(update(Workflow).values(enabled=False))
    drain_events(db, workflow_consumer.CONSUMER)  # other tests' committed events first
    return auth_service.principal_for_user(db, world.admin)


@pytest.fixture
def handled(monkeypatch):
    """The titles of the events the workflow handler was called for."""
    seen: list[str] = []
    real = workflow_consumer._handle

    def spy(session, event, workflows, **options):
        seen.append(event.payload.get("title"))
        real(session, event, workflows, **options)

    monkeypatch.setattr(workflow_consumer, "_handle", spy)
    return seen


def _workflow(db, admin, key, trigger, steps, start="mark"):
    definition = {"name": key, "trigger": trigger, "start": start, "steps": steps}
    workflow = workflow_service.create_workflow(
        db, principal=admin, key=key, definition=definition, enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    return workflow


def _titled(title: str) -> dict:
    return {"event": "announcement.due", "filter": {"==": [{"var": "payload.title"}, title]}}


def _runs(db, workflow) -> list[WorkflowRun]:
    return list(db.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id)))


def test_events_a_filter_refuses_on_the_event_alone_skip_the_handler(db, admin, handled):
    wanted = _workflow(db, admin, "match", _titled("match"), {"mark": MARK, "done": END})
    processed = select(func.count()).where(ProcessedEvent.consumer == workflow_consumer.CONSUMER)
    before = db.scalar(processed)  # other tests' committed drains
    for title in ("a", "b", "match", "c"):
        emit_sample(db, title)

    result = drain_events(db, workflow_consumer.CONSUMER)

    assert handled == ["match"]
    assert result.handled == 4 and result.failed == 0
    assert db.scalar(processed) - before == 4  # the quiet ones are recorded: never read again
    assert [r.status for r in _runs(db, wanted)] == [RunStatus.completed]
    assert drain_events(db, workflow_consumer.CONSUMER).handled == 0


def test_a_filter_the_plan_cannot_read_goes_to_the_handler(db, admin, handled):
    # An iteration's vars name its items, not the context: the plan leaves it to the
    # handler, whose full context decides (no team: refused, no run).
    iterates = {
        "event": "announcement.due",
        "filter": {"some": [{"var": "payload.team_ids"}, {"==": [{"var": ""}, 7]}]},
    }
    workflow = _workflow(db, admin, "iterates", iterates, {"mark": MARK, "done": END})
    emit_sample(db, "x")
    drain_events(db, workflow_consumer.CONSUMER)
    assert handled == ["x"] and _runs(db, workflow) == []


def test_a_wait_started_earlier_in_the_same_batch_is_resumed(db, admin, handled):
    steps = {
        "wait": {
            "type": "wait",
            "event": "announcement.due",
            "match": {"==": [{"var": "event.payload.title"}, "two"]},
            "timeout_hours": 24,
            "on_timeout": "done",
            "next": "mark",
        },
        "mark": MARK,
        "done": END,
    }
    waiting = _workflow(db, admin, "waits", _titled("one"), steps, start="wait")
    emit_sample(db, "one")
    emit_sample(db, "two")  # the same batch: no run waits yet when the batch is read

    drain_events(db, workflow_consumer.CONSUMER)

    assert handled == ["one", "two"]
    [run] = _runs(db, waiting)
    assert (run.status, run.variables.get("seen")) == (RunStatus.completed, "yes")


def test_a_batch_that_cannot_be_prepared_is_delivered_event_by_event(
    db, admin, handled, monkeypatch
):
    wanted = _workflow(db, admin, "match", _titled("match"), {"mark": MARK, "done": END})

    def broken(session):
        raise RuntimeError("lookup failed")

    monkeypatch.setattr(workflow_consumer, "_all_active", broken)
    emit_sample(db, "match")
    emit_sample(db, "other")
    result = drain_events(db, workflow_consumer.CONSUMER)

    assert result.handled == 2 and result.failed == 0
    assert [r.status for r in _runs(db, wanted)] == [RunStatus.completed]


END = {"type": "end"}
