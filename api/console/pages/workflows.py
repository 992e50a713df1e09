"""Workflows: the list (name, key, switched on, active version, last published by whom
and when); a workflow's versions with who made and published each, the structural diff
of two versions (sfa/workflows/diff.py) and its runs by week (sfa/workflows/stats.py).

Administrators and managers read (the API's rule: definitions are company configuration;
a manager's statistics count their teams' runs only); administrators switch a workflow
on or off and publish a version (an archived one: a rollback) through the same service
as `PUT /v1/workflows/{id}` and `POST /v1/workflows/{id}/publish`."""

from fastapi import APIRouter

from api.console.filters import int_param
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.console.workflow_views import actor_names, duration
from api.schemas.common import Id
from sfa.errors import InvalidInput
from sfa.pagination import paginate
from sfa.weeks import iso_week_label
from sfa.workflows import service as workflow_service
from sfa.workflows import stats as workflow_stats
from sfa.workflows.models import Workflow, WorkflowVersion

router = APIRouter(prefix="/console/workflows", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/workflows", label="nav.workflows", order=90)

PAGE_SIZE = 50
VERSIONS_SHOWN = 50
DEFAULT_WEEKS = 8
WEEK_CHOICES = (4, 8, 13, 26, 52)
MAX_QUERY = 100


def _enabled(console: Console) -> bool | None:
    raw = console.request.query_params.get("enabled", "")
    if raw not in ("", "true", "false"):
        raise InvalidInput(f"enabled={raw[:20]!r} must be true or false")
    return None if raw == "" else raw == "true"


@router.get("")
def workflows_page(console: ConsoleDep):
    enabled = _enabled(console)
    q = console.request.query_params.get("q", "").strip()[:MAX_QUERY]
    stmt = workflow_service.workflows_query(
        principal=console.principal, enabled=enabled, q=q or None
    )
    page = paginate(
        console.db, stmt, limit=PAGE_SIZE, offset=int_param(console.request, "offset") or 0
    )
    rows = workflow_service.details(console.db, page.items)
    t = console.t
    return render(
        console,
        "workflows.html",
        page=page,
        rows=rows,
        names=actor_names(console, [d.active.published_by for d in rows if d.active]),
        q=q,
        enabled="" if enabled is None else str(enabled).lower(),
        enabled_options=[("true", t("wf.yes")), ("false", t("wf.no"))],
    )


def _admin_values(console: Console, workflow: Workflow, notice: str | None = None) -> dict:
    """What the switch and the versions table show (re-rendered after each admin POST)."""
    (details,) = workflow_service.details(console.db, [workflow])
    stmt = workflow_service.versions_query(
        console.db, principal=console.principal, workflow_id=workflow.id
    )
    versions = paginate(console.db, stmt, limit=VERSIONS_SHOWN, offset=0)
    actors = [v.created_by for v in versions.items] + [v.published_by for v in versions.items]
    return {
        "workflow": workflow,
        "details": details,
        "versions": versions,
        "names": actor_names(console, actors),
        "notice": notice,
    }


def _diff(console: Console, workflow_id: int, versions: list[WorkflowVersion]) -> dict | None:
    """The diff asked for (from=, to=), else the latest version against the one before;
    None while there is only one version and none was asked for."""
    old = int_param(console.request, "from")
    new = int_param(console.request, "to")
    if old is None and new is None and len(versions) < 2:
        return None
    return workflow_service.diff_versions(
        console.db, principal=console.principal, workflow_id=workflow_id, old=old, new=new
    )


def _weeks(console: Console) -> int:
    weeks = int_param(console.request, "weeks") or DEFAULT_WEEKS
    if weeks not in WEEK_CHOICES:
        raise InvalidInput(
            f"weeks={weeks} is not offered", hint=f"choose one of {list(WEEK_CHOICES)}"
        )
    return weeks


@router.get("/{workflow_id}")
def workflow_page(console: ConsoleDep, workflow_id: Id):
    workflow = workflow_service.get_workflow(
        console.db, principal=console.principal, workflow_id=workflow_id
    )
    values = _admin_values(console, workflow)
    weeks = _weeks(console)
    stats = workflow_stats.workflow_stats(
        console.db, principal=console.principal, workflow_id=workflow_id, weeks=weeks
    )
    return render(
        console,
        "workflow.html",
        diff=_diff(console, workflow_id, values["versions"].items),
        version_options=[(v.number, str(v.number)) for v in values["versions"].items],
        stats=stats,
        weeks=weeks,
        week_options=[(w, str(w)) for w in WEEK_CHOICES],
        week_label=iso_week_label,
        duration=lambda seconds: duration(console.t, seconds),
        **values,
    )


def _switch(console: Console, workflow_id: int, enabled: bool):
    console.principal.require_admin()
    workflow = workflow_service.update_workflow(
        console.db,
        principal=console.principal,
        workflow_id=workflow_id,
        definition=None,
        enabled=enabled,
    )
    return render(
        console, "workflow_admin.html", **_admin_values(console, workflow, console.t("wf.switched"))
    )


@router.post("/{workflow_id}/enable")
def enable(console: CsrfDep, workflow_id: Id):
    return _switch(console, workflow_id, enabled=True)


@router.post("/{workflow_id}/disable")
def disable(console: CsrfDep, workflow_id: Id):
    return _switch(console, workflow_id, enabled=False)


@router.post("/{workflow_id}/publish")
def publish(console: CsrfDep, workflow_id: Id):
    """Make a version the active one; an archived one comes back as a new version (a
    rollback), as `POST /v1/workflows/{id}/publish`."""
    console.principal.require_admin()  # refused before the form is looked at
    raw = console.field("version", max_length=10).strip()
    if not raw.isdigit():
        raise InvalidInput(f"version={raw!r} is not a version number")
    active = workflow_service.publish(
        console.db, principal=console.principal, workflow_id=workflow_id, number=int(raw)
    )
    workflow = workflow_service.get_workflow(
        console.db, principal=console.principal, workflow_id=workflow_id
    )
    notice = console.t("wf.published_now", n=active.number)
    return render(console, "workflow_admin.html", **_admin_values(console, workflow, notice))
