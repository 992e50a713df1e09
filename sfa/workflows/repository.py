"""The SQL of workflow authoring: workflows, their versions, and one past event."""

import uuid

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sfa import search
from sfa.events.models import DomainEvent
from sfa.users.models import User
from sfa.workflows.models import VersionState, Workflow, WorkflowVersion


def workflows_query(*, enabled: bool | None, q: str | None) -> Select:
    stmt = select(Workflow)
    if enabled is not None:
        stmt = stmt.where(Workflow.enabled.is_(enabled))
    if q:
        stmt = stmt.where(search.contains(q, Workflow.name, Workflow.key))
    return stmt.order_by(Workflow.key)


def get(session: Session, workflow_id: int, *, for_update: bool = False) -> Workflow | None:
    stmt = select(Workflow).where(Workflow.id == workflow_id)
    if for_update:
        # Edits and publishes of one workflow take turns (version numbers, the one draft).
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def by_key(session: Session, key: str) -> Workflow | None:
    return session.scalar(select(Workflow).where(Workflow.key == key))


def versions_query(workflow_id: int) -> Select:
    return (
        select(WorkflowVersion)
        .where(WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.number.desc())
    )


def version(session: Session, workflow_id: int, number: int) -> WorkflowVersion | None:
    return session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id, WorkflowVersion.number == number
        )
    )


def draft(session: Session, workflow_id: int) -> WorkflowVersion | None:
    return session.scalar(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id == workflow_id,
            WorkflowVersion.state == VersionState.draft,
        )
    )


def drafts_of(session: Session, workflow_ids: list[int]) -> dict[int, WorkflowVersion]:
    rows = session.scalars(
        select(WorkflowVersion).where(
            WorkflowVersion.workflow_id.in_(workflow_ids),
            WorkflowVersion.state == VersionState.draft,
        )
    )
    return {row.workflow_id: row for row in rows}


def by_ids(session: Session, ids: list[int]) -> dict[int, WorkflowVersion]:
    rows = session.scalars(select(WorkflowVersion).where(WorkflowVersion.id.in_(ids)))
    return {row.id: row for row in rows}


def next_number(session: Session, workflow_id: int) -> int:
    latest = session.scalar(
        select(func.max(WorkflowVersion.number)).where(WorkflowVersion.workflow_id == workflow_id)
    )
    return (latest or 0) + 1


def active_user_ids(session: Session, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(User.id).where(User.id.in_(ids), User.is_active)))


def past_event(session: Session, event_id: uuid.UUID) -> DomainEvent | None:
    """An event of the stream by its id (the dry run of a past event)."""
    return session.scalar(select(DomainEvent).where(DomainEvent.event_id == event_id))
