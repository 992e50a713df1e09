"""The engine on the event stream: an emitted event, once drained, starts a run of each
enabled workflow whose published version listens to its type — once, however often the
stream is drained; a draft, a disabled workflow or another type starts nothing."""

import pytest
from sqlalchemy import func, select

from event_drain import drain_events, emit_sample
from sfa.auth import service as auth_service
from sfa.workflows import builtin
from sfa.workflows import service as workflow_service
from sfa.workflows.models import Workflow
from sfa.workflows.runtime_models import WorkflowRun


def _definition(event_type: str) -> dict:
    return {
        "name": f"On {event_type}",
        "trigger": {"event": event_type},
        "start": "mark",
        "steps": {
            "mark": {"type": "set_variable", "name": "seen", "value": "yes", "next": "done"},
            "done": {"type": "end"},
        },
    }


@pytest.fixture
def admin(db, world):
    return auth_service.principal_for_user(db, world.admin)


def _workflow(db, admin, key, event_type, *, publish=True, enabled=True):
    workflow = workflow_service.create_workflow(
        db, principal=admin, key=key, definition=_definition(event_type), enabled=enabled
    )
    if publish:
        workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    return workflow


def _runs(db, workflow) -> list[WorkflowRun]:
    return list(db.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == workflow.id)))


def test_an_emitted_event_starts_each_listening_workflow_once(db, admin):
    listening = _workflow(db, admin, "listening", "announcement.due")
    draft_only = _workflow(db, admin, "draft-only", "announcement.due", publish=False)
    disabled = _workflow(db, admin, "disabled", "announcement.due", enabled=False)
    other_type = _workflow(db, admin, "other-type", "order.submitted")

    assert emit_sample(db, "promo-1")
    drain_events(db)
    drain_events(db)  # a second drain finds nothing new: no second run

    runs = _runs(db, listening)
    assert len(runs) == 1
    assert (runs[0].status.value, runs[0].variables.get("seen")) == ("completed", "yes")
    for silent in (draft_only, disabled, other_type):
        assert _runs(db, silent) == []
    # None of any other workflow but the built-ins (announcement.due has one).
    builtins = select(Workflow.id).where(Workflow.key.in_(builtin.builtin_keys()))
    total = db.scalar(
        select(func.count())
        .select_from(WorkflowRun)
        .where(WorkflowRun.workflow_id.not_in(builtins))
    )
    assert total == 1
