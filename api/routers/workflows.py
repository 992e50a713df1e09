"""Workflow authoring: definitions, drafts, versions, diffs and dry runs (docs/workflows.md).

Administrators write and test; managers read (company configuration, no team's data);
reps and API keys get 403. Runs, tasks and approvals are api/routers/workflow_runs.py.
"""

from typing import Any

from fastapi import APIRouter, Query, status

from api.deps import PrincipalDep, SessionDep
from api.schemas.common import ErrorOut, Id, PageOut, Text
from api.schemas.workflows import (
    DiffOut,
    PublishIn,
    TestIn,
    TestOut,
    VersionOut,
    WorkflowCreate,
    WorkflowOut,
    WorkflowUpdate,
)
from sfa.limits import INT64_MAX
from sfa.pagination import paginate
from sfa.workflows import dryrun
from sfa.workflows import service as workflow_service

router = APIRouter(prefix="/v1", tags=["workflows"])

Limit = Query(50, ge=1, le=1000)
Offset = Query(0, ge=0, le=INT64_MAX)
INVALID: dict[int | str, dict[str, Any]] = {
    422: {
        "model": ErrorOut,
        "description": "an invalid definition: error.details.errors lists each path",
    }
}


def _out(session, workflow) -> WorkflowOut:
    return WorkflowOut.of(workflow_service.details(session, [workflow])[0])


@router.post(
    "/workflows",
    response_model=WorkflowOut,
    status_code=status.HTTP_201_CREATED,
    summary="Create a workflow; its definition is saved as the draft, version 1",
    responses=INVALID,
)
def create_workflow(session: SessionDep, principal: PrincipalDep, body: WorkflowCreate):
    workflow = workflow_service.create_workflow(
        session,
        principal=principal,
        key=body.key,
        definition=body.definition,
        enabled=body.enabled,
    )
    return _out(session, workflow)


@router.get(
    "/workflows",
    response_model=PageOut[WorkflowOut],
    summary="Workflows, by key, each with its active version and draft",
)
def list_workflows(
    session: SessionDep,
    principal: PrincipalDep,
    enabled: bool | None = None,
    q: Text | None = Query(None, max_length=100, description="matches the name or key"),
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = workflow_service.workflows_query(principal=principal, enabled=enabled, q=q)
    page = paginate(session, stmt, limit=limit, offset=offset)
    outs = {d.workflow.id: WorkflowOut.of(d) for d in workflow_service.details(session, page.items)}
    return PageOut.of(page, lambda workflow: outs[workflow.id])


@router.get(
    "/workflows/{workflow_id}",
    response_model=WorkflowOut,
    summary="A workflow",
)
def get_workflow(session: SessionDep, principal: PrincipalDep, workflow_id: Id):
    workflow = workflow_service.get_workflow(session, principal=principal, workflow_id=workflow_id)
    return _out(session, workflow)


@router.put(
    "/workflows/{workflow_id}",
    response_model=WorkflowOut,
    summary="Save the draft and/or switch the workflow on or off",
    description="The definition becomes the draft (made if there is none); the active "
    "version, and every run on it, stays as it is until a version is published.",
    responses=INVALID,
)
def update_workflow(
    session: SessionDep, principal: PrincipalDep, workflow_id: Id, body: WorkflowUpdate
):
    workflow = workflow_service.update_workflow(
        session,
        principal=principal,
        workflow_id=workflow_id,
        definition=body.definition,
        enabled=body.enabled,
    )
    return _out(session, workflow)


@router.post(
    "/workflows/{workflow_id}/publish",
    response_model=VersionOut,
    summary="Make a version the active one (an older one: a rollback, as a new version)",
    description="Publishing the draft makes it active and archives the version before. "
    "Publishing an archived version copies it into a new version, published at once "
    "(`copied_from`). Publishing the active version again changes nothing. Runs already "
    "started finish on the version they started on.",
    responses=INVALID,
)
def publish_workflow(
    session: SessionDep, principal: PrincipalDep, workflow_id: Id, body: PublishIn
):
    return VersionOut.of(
        workflow_service.publish(
            session, principal=principal, workflow_id=workflow_id, number=body.version
        )
    )


@router.get(
    "/workflows/{workflow_id}/versions",
    response_model=PageOut[VersionOut],
    summary="The workflow's versions, newest first, with who made and published each, when",
)
def list_workflow_versions(
    session: SessionDep,
    principal: PrincipalDep,
    workflow_id: Id,
    limit: int = Limit,
    offset: int = Offset,
):
    stmt = workflow_service.versions_query(session, principal=principal, workflow_id=workflow_id)
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), VersionOut.of)


@router.get(
    "/workflows/{workflow_id}/diff",
    response_model=DiffOut,
    summary="What changed between two versions: steps added, removed, changed, by path",
)
def diff_workflow_versions(
    session: SessionDep,
    principal: PrincipalDep,
    workflow_id: Id,
    from_: Id | None = Query(None, alias="from", description="default: the one before `to`"),
    to: Id | None = Query(None, description="default: the latest version"),
):
    found = workflow_service.diff_versions(
        session, principal=principal, workflow_id=workflow_id, old=from_, new=to
    )
    return DiffOut.model_validate(found)


@router.post(
    "/workflows/{workflow_id}/test",
    response_model=TestOut,
    summary="Dry run: the path a version would take over a sample context or a past event",
    description="Evaluates conditions and branches for real and lists the actions it "
    "would take without doing any (no run, task, approval, notice or record change). "
    "Approvals and event waits take the outcome given in `assume_*`.",
)
def test_workflow(session: SessionDep, principal: PrincipalDep, workflow_id: Id, body: TestIn):
    found = workflow_service.dry_run(
        session,
        principal=principal,
        workflow_id=workflow_id,
        number=body.version,
        sample=body.context,
        event_id=body.event_id,
        assume=dryrun.Assume(approval=body.assume_approval, wait=body.assume_wait),
    )
    return TestOut.model_validate(found)
