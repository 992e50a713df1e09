"""Versions: editing makes or updates the one draft; publishing makes a version the
active one and archives the one before.

Rollback is publishing an older version: its definition is copied into a NEW version
(the next number, `copied_from` naming the old one), published at once. History stays a
line (every activation is a version with its own who/when, and a run's pinned version
id always means the definition it ran), and an archived version is never revived.
Publishing the active version again changes nothing (a retried request is safe).
"""

from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sfa.errors import Conflict, NotFound
from sfa.workflows import repository
from sfa.workflows.models import VersionState, Workflow, WorkflowVersion


def save_draft(
    session: Session, *, workflow: Workflow, definition: dict, actor: str
) -> WorkflowVersion:
    """The workflow's draft, with `definition` (made if there is none). The caller holds
    the workflow's row lock."""
    draft = repository.draft(session, workflow.id)
    if draft is None:
        draft = WorkflowVersion(
            workflow_id=workflow.id,
            number=repository.next_number(session, workflow.id),
            state=VersionState.draft,
            definition=definition,
            created_by=actor,
        )
        session.add(draft)
    else:
        draft.definition = definition
    workflow.name = definition["name"]
    session.flush()
    return draft


def publish(
    session: Session,
    *,
    workflow: Workflow,
    number: int,
    actor: str,
    check: Callable[[dict], object],
) -> tuple[WorkflowVersion, WorkflowVersion | None, bool]:
    """(the now active version, the one it replaced, whether anything changed). `check`
    validates the definition again (a user it names may have been deactivated since)."""
    target = repository.version(session, workflow.id, number)
    if target is None:
        raise NotFound(
            f"workflow {workflow.id} has no version {number}",
            hint="GET /v1/workflows/{id}/versions lists them",
        )
    if target.id == workflow.active_version_id:
        return target, None, False
    check(target.definition)
    previous = (
        session.get(WorkflowVersion, workflow.active_version_id)
        if workflow.active_version_id
        else None
    )
    if previous is not None:
        previous.state = VersionState.archived
        session.flush()  # one published version per workflow (a unique index)
    now = datetime.now(UTC)
    if target.state is VersionState.draft:
        active = target
    elif target.state is VersionState.archived:
        active = WorkflowVersion(
            workflow_id=workflow.id,
            number=repository.next_number(session, workflow.id),
            definition=target.definition,
            copied_from=target.number,
            created_by=actor,
        )
        session.add(active)
    else:  # pragma: no cover - a published version is always the active one
        raise Conflict(f"version {number} is published but not active")
    active.state, active.published_by, active.published_at = VersionState.published, actor, now
    session.flush()
    workflow.active_version_id = active.id
    workflow.name = active.definition["name"]
    session.flush()
    return active, previous, True
