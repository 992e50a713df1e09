"""The built-in workflows are in every migrated database, published, and a company's
own edits survive the next migrate."""

from sqlalchemy import select

from sfa.workflows import builtin, repository, runtime_defaults
from sfa.workflows.models import VersionState, WorkflowVersion


def test_every_default_file_is_installed_published_by_system(db):
    assert "discount-approval" in builtin.builtin_keys()
    for key in builtin.builtin_keys():
        workflow = repository.by_key(db, key)
        assert workflow is not None, key
        active = db.get(WorkflowVersion, workflow.active_version_id)
        assert active.state is VersionState.published
        assert active.published_by == "system"
        assert active.definition == runtime_defaults.definition(key.replace("-", "_"))


def test_install_again_changes_nothing_and_keeps_a_companys_edit(db):
    workflow = repository.by_key(db, "discount-approval")
    workflow.enabled = False
    db.flush()
    before = db.scalar(select(WorkflowVersion.id).order_by(WorkflowVersion.id.desc()).limit(1))
    assert builtin.install(db) == []
    after = db.scalar(select(WorkflowVersion.id).order_by(WorkflowVersion.id.desc()).limit(1))
    assert after == before
    assert repository.by_key(db, "discount-approval").enabled is False


def test_a_missing_builtin_is_installed_again(db):
    workflow = repository.by_key(db, "discount-approval")
    workflow.key = "renamed-by-company"
    db.flush()
    assert builtin.install(db) == ["discount-approval"]
    assert repository.by_key(db, "discount-approval").active_version_id is not None
