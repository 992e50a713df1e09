"""Workflow versions against PostgreSQL: drafts, publishing, rollback, immutability (the
service and the database trigger), the audit trail."""

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from workflow_samples import discount_approval

from sfa.audit.models import AuditEntry
from sfa.auth import service as auth_service
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound
from sfa.workflows import repository
from sfa.workflows import service as workflow_service
from sfa.workflows.models import VersionState, WorkflowVersion


@pytest.fixture
def admin(db, world):
    return auth_service.principal_for_user(db, world.admin)


def _create(db, admin, key="test-discount"):
    return workflow_service.create_workflow(
        db, principal=admin, key=key, definition=discount_approval(), enabled=True
    )


def _states(db, workflow_id) -> list[tuple[int, str, int | None]]:
    rows = db.scalars(repository.versions_query(workflow_id)).all()
    return [(v.number, v.state.value, v.copied_from) for v in reversed(rows)]


def _edit(db, admin, workflow_id, name):
    raw = discount_approval() | {"name": name}
    return workflow_service.update_workflow(
        db, principal=admin, workflow_id=workflow_id, definition=raw, enabled=None
    )


def test_draft_publish_edit_rollback(db, admin):
    workflow = _create(db, admin)
    assert workflow.active_version_id is None
    assert _states(db, workflow.id) == [(1, "draft", None)]
    _edit(db, admin, workflow.id, "Discount v1b")  # the same draft, edited
    assert _states(db, workflow.id) == [(1, "draft", None)]
    first = workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    assert (first.state, first.published_by) == (VersionState.published, admin.actor)
    assert workflow.active_version_id == first.id
    _edit(db, admin, workflow.id, "Discount v2")  # a new draft; v1 stays active
    assert _states(db, workflow.id) == [(1, "published", None), (2, "draft", None)]
    assert workflow.active_version_id == first.id
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=2)
    assert _states(db, workflow.id) == [(1, "archived", None), (2, "published", None)]
    # Rollback: v1's definition again, as a new version 3.
    third = workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    assert _states(db, workflow.id) == [
        (1, "archived", None),
        (2, "archived", None),
        (3, "published", 1),
    ]
    assert third.definition == db.get(WorkflowVersion, first.id).definition
    assert workflow.name == "Discount v1b"
    # Publishing the active version again changes nothing.
    again = workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=3)
    assert again.id == third.id and len(_states(db, workflow.id)) == 3


def test_audit_trail(db, admin):
    workflow = _create(db, admin)
    _edit(db, admin, workflow.id, "Renamed")
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    workflow_service.update_workflow(
        db, principal=admin, workflow_id=workflow.id, definition=None, enabled=False
    )
    entries = db.scalars(
        select(AuditEntry)
        .where(AuditEntry.entity == "workflow", AuditEntry.entity_id == str(workflow.id))
        .order_by(AuditEntry.id)
    ).all()
    assert [e.action for e in entries] == ["create", "edit", "publish", "disable"]
    assert {e.actor for e in entries} == {admin.actor}
    assert entries[1].new["definition"]["name"] == "Renamed"
    assert entries[2].new == {"version": 1, "copied_from": None}


def test_published_versions_are_immutable_in_the_database(db, admin):
    workflow = _create(db, admin)
    version = workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    db.commit()
    for statement in (
        "UPDATE workflow_versions SET definition = '{}' WHERE id = :id",
        "UPDATE workflow_versions SET state = 'draft' WHERE id = :id",
        "UPDATE workflow_versions SET published_by = 'user:0' WHERE id = :id",
        "DELETE FROM workflow_versions WHERE id = :id",
    ):
        with pytest.raises(DBAPIError, match="cannot be"), db.begin_nested():
            db.execute(text(statement), {"id": version.id})
    # Archiving (what publishing another version does) is the one change allowed; an
    # archived version is then frozen too.
    with db.begin_nested():
        db.execute(
            text("UPDATE workflows SET active_version_id = NULL WHERE id = :w"), {"w": workflow.id}
        )
        db.execute(
            text("UPDATE workflow_versions SET state = 'archived' WHERE id = :id"),
            {"id": version.id},
        )
    with pytest.raises(DBAPIError, match="archived and cannot be changed"), db.begin_nested():
        db.execute(
            text("UPDATE workflow_versions SET state = 'published' WHERE id = :id"),
            {"id": version.id},
        )


def test_one_draft_and_one_published_per_workflow(db, admin):
    workflow = _create(db, admin)
    db.commit()
    with pytest.raises(DBAPIError, match="uq_workflow_versions_one_draft"), db.begin_nested():
        db.add(
            WorkflowVersion(workflow_id=workflow.id, number=9, definition={}, created_by="user:1")
        )
        db.flush()


def test_refusals(db, world, admin):
    workflow = _create(db, admin)
    manager = auth_service.principal_for_user(db, world.manager_a)
    rep = auth_service.principal_for_user(db, world.rep_a)
    with pytest.raises(Conflict):
        _create(db, admin)
    with pytest.raises(Forbidden):
        workflow_service.publish(db, principal=manager, workflow_id=workflow.id, number=1)
    with pytest.raises(Forbidden):
        workflow_service.workflows_query(principal=rep, enabled=None, q=None)
    # A manager reads.
    assert workflow_service.get_workflow(db, principal=manager, workflow_id=workflow.id)
    with pytest.raises(NotFound):
        workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=7)
    bad = discount_approval()
    bad["steps"]["finance"]["levels"] = [{"user": world.rep_b.id + 1000}]
    with pytest.raises(InvalidInput) as refused:
        workflow_service.update_workflow(
            db, principal=admin, workflow_id=workflow.id, definition=bad, enabled=None
        )
    assert refused.value.details["errors"][0]["path"] == "steps.finance.levels.0.user"
    # A user deactivated after the draft was saved: publishing checks again.
    named = discount_approval()
    named["steps"]["finance"]["levels"] = [{"user": world.manager_b.id}]
    _ = workflow_service.update_workflow(
        db, principal=admin, workflow_id=workflow.id, definition=named, enabled=None
    )
    world.manager_b.is_active = False
    db.flush()
    with pytest.raises(InvalidInput, match=r"steps\.finance\.levels\.0\.user"):
        workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
