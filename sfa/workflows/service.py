"""Authoring workflows: who may read and write them, drafts, publishing, diffs, dry runs.

Administrators author and publish; managers read definitions (company configuration
without any team's data in it); reps and API keys neither. Every create, edit, enable /
disable and publish is written to the audit log (entity "workflow").
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound
from sfa.users.models import Role
from sfa.workflows import (
    catalog,
    dryrun,
    engine,
    logic,
    repository,
    runtime_context,
    validation,
    versions,
)
from sfa.workflows import diff as definition_diff
from sfa.workflows.definition import Definition
from sfa.workflows.models import Workflow, WorkflowVersion


@dataclass(frozen=True)
class WorkflowDetails:
    workflow: Workflow
    active: WorkflowVersion | None
    draft: WorkflowVersion | None


def _require_reader(principal: Principal) -> None:
    if principal.role not in (Role.admin, Role.manager):
        raise Forbidden(
            "only administrators and managers can read workflows",
            hint="workflows are company configuration; ask an administrator",
        )


def _require_author(principal: Principal) -> None:
    if not principal.is_admin:
        raise Forbidden("only an administrator can author or publish workflows")


def parse(session: Session, raw: Any) -> Definition:
    """The definition, validated with users looked up (InvalidInput naming each path)."""
    named = _user_ids(raw)
    active = repository.active_user_ids(session, named)
    return validation.parse(raw, user_exists=lambda user_id: user_id in active)


def _user_ids(raw: Any) -> set[int]:
    """Ids of `{"user": n}` anywhere in the raw definition (looked up in one query)."""
    found: set[int] = set()
    stack = [raw]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            user = node.get("user")
            if isinstance(user, int) and not isinstance(user, bool) and 0 < user < 2**63:
                found.add(user)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def workflows_query(*, principal: Principal, enabled: bool | None, q: str | None) -> Select:
    _require_reader(principal)
    return repository.workflows_query(enabled=enabled, q=q)


def details(session: Session, workflows: list[Workflow]) -> list[WorkflowDetails]:
    drafts = repository.drafts_of(session, [w.id for w in workflows])
    actives = repository.by_ids(
        session, [w.active_version_id for w in workflows if w.active_version_id]
    )
    return [
        WorkflowDetails(w, actives.get(w.active_version_id or 0), drafts.get(w.id))
        for w in workflows
    ]


def get_workflow(
    session: Session, *, principal: Principal, workflow_id: int, for_update: bool = False
) -> Workflow:
    _require_reader(principal)
    workflow = repository.get(session, workflow_id, for_update=for_update)
    if workflow is None:
        raise NotFound(f"workflow {workflow_id} does not exist")
    return workflow


def create_workflow(
    session: Session, *, principal: Principal, key: str, definition: Any, enabled: bool
) -> Workflow:
    _require_author(principal)
    parsed = parse(session, definition)
    if repository.by_key(session, key) is not None:
        raise Conflict(f'a workflow with key "{key}" exists', hint="choose another key")
    workflow = Workflow(key=key, name=parsed.name, enabled=enabled, created_by=principal.actor)
    session.add(workflow)
    session.flush()
    draft = versions.save_draft(
        session, workflow=workflow, definition=parsed.dump(), actor=principal.actor
    )
    _audit(session, principal, workflow, "create", new={"key": key, "version": draft.number})
    return workflow


def update_workflow(
    session: Session,
    *,
    principal: Principal,
    workflow_id: int,
    definition: Any | None,
    enabled: bool | None,
) -> Workflow:
    """Saves `definition` as the draft (the published versions stay as they are) and/or
    switches the workflow on or off."""
    _require_author(principal)
    workflow = get_workflow(session, principal=principal, workflow_id=workflow_id, for_update=True)
    if definition is not None:
        parsed = parse(session, definition)
        draft = versions.save_draft(
            session, workflow=workflow, definition=parsed.dump(), actor=principal.actor
        )
        _audit(
            session,
            principal,
            workflow,
            "edit",
            new={"version": draft.number, "definition": draft.definition},
        )
    if enabled is not None and enabled != workflow.enabled:
        workflow.enabled = enabled
        session.flush()
        _audit(session, principal, workflow, "enable" if enabled else "disable")
    return workflow


def publish(
    session: Session, *, principal: Principal, workflow_id: int, number: int
) -> WorkflowVersion:
    _require_author(principal)
    workflow = get_workflow(session, principal=principal, workflow_id=workflow_id, for_update=True)
    active, previous, changed = versions.publish(
        session,
        workflow=workflow,
        number=number,
        actor=principal.actor,
        check=lambda raw: parse(session, raw),
    )
    if changed:
        _audit(
            session,
            principal,
            workflow,
            "publish",
            old={"version": previous.number} if previous else None,
            new={"version": active.number, "copied_from": active.copied_from},
        )
    return active


def versions_query(session: Session, *, principal: Principal, workflow_id: int) -> Select:
    get_workflow(session, principal=principal, workflow_id=workflow_id)
    return repository.versions_query(workflow_id)


def _version(session: Session, workflow_id: int, number: int) -> WorkflowVersion:
    found = repository.version(session, workflow_id, number)
    if found is None:
        raise NotFound(f"workflow {workflow_id} has no version {number}")
    return found


def diff_versions(
    session: Session,
    *,
    principal: Principal,
    workflow_id: int,
    old: int | None,
    new: int | None,
) -> dict:
    """The diff from version `old` to `new`; by default the latest version against the
    one before it."""
    get_workflow(session, principal=principal, workflow_id=workflow_id)
    if new is None:
        new = repository.next_number(session, workflow_id) - 1
    if old is None:
        old = new - 1
    if old < 1:
        raise InvalidInput("there is no earlier version to compare with", hint="give from= and to=")
    before, after = _version(session, workflow_id, old), _version(session, workflow_id, new)
    return {"from": old, "to": new} | definition_diff.diff(before.definition, after.definition)


def dry_run(
    session: Session,
    *,
    principal: Principal,
    workflow_id: int,
    number: int | None,
    sample: dict | None,
    event_id: uuid.UUID | None,
    assume: dryrun.Assume,
) -> dict:
    """The path a version would take (default: the draft, else the active one) over a
    sample context or a past event's context, built as the runtime builds it. Reads
    only. A sample without `settings` gets the company's."""
    _require_author(principal)
    get_workflow(session, principal=principal, workflow_id=workflow_id)
    if (sample is None) == (event_id is None):
        raise InvalidInput("give either context or event_id")
    version = _tested_version(session, workflow_id, number)
    definition = Definition.model_validate(version.definition)
    if event_id is not None:
        ctx = _event_context(session, event_id)
    elif logic.has_non_finite(sample):
        raise InvalidInput("the context holds a number JSON cannot carry (NaN or Infinity)")
    else:
        settings = runtime_context.settings_data(company_service.get_company_settings(session))
        ctx = {"settings": settings, "vars": {}} | (sample or {})
    trace = dryrun.run(definition, ctx, assume)
    return {"version": version.number, "context": ctx} | trace.as_dict()


def _tested_version(session: Session, workflow_id: int, number: int | None) -> WorkflowVersion:
    if number is not None:
        return _version(session, workflow_id, number)
    found = repository.draft(session, workflow_id)
    workflow = repository.get(session, workflow_id)
    if found is None and workflow is not None and workflow.active_version_id:
        found = session.get(WorkflowVersion, workflow.active_version_id)
    if found is None:
        raise NotFound(f"workflow {workflow_id} has no version to test")
    return found


def _number(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def _event_context(session: Session, event_id: uuid.UUID) -> dict:
    """The context a run started by the past event would have now (the records as they
    are today, as when the runtime resumes a run)."""
    event = repository.past_event(session, event_id)
    if event is None:
        raise NotFound(f"event {event_id} does not exist")
    if event.type not in catalog.EVENT_TYPES:
        raise InvalidInput(f'event {event_id} is of type "{event.type}": workflows do not know it')
    trigger = engine.Trigger(
        type=event.type,
        subject_kind=event.subject_kind,
        subject_id=_number(event.subject_id),
        payload=event.payload or {},
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        actor_kind=event.actor_kind,
        actor_id=_number(event.actor_id),
    )
    return {"vars": {}} | runtime_context.build(
        session,
        subject_kind=trigger.subject_kind,
        subject_id=trigger.subject_id,
        payload=trigger.payload,
        event=engine.event_data(trigger),
    )


def _audit(session, principal, workflow, action, *, old=None, new=None) -> None:
    audit_service.record(
        session,
        actor=principal.actor,
        entity="workflow",
        entity_id=workflow.id,
        action=action,
        old=old,
        new=new,
    )
