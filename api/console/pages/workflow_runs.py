"""Workflow runs: filtered by workflow, status and subject, newest first; a run's page
with every attempt of every step (input, output, timing, error) and, for administrators,
retry (a failed run) and cancel (a running, waiting or failed one).

Who sees which run is the service's rule (sfa/workflows/runs_service.py: an administrator
every run, a manager their teams' runs, a foreign run answered like a missing one); the
buttons call the same functions as `POST /v1/workflow-runs/{id}/retry|cancel`."""

from fastapi import APIRouter

from api.console.filters import enum_param, int_param
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.console.workflow_views import duration, workflow_options
from api.schemas.common import Id
from sfa.pagination import paginate
from sfa.users import service as user_service
from sfa.workflows import runs_service
from sfa.workflows.runs_service import CANCELLABLE, RunDetails
from sfa.workflows.runtime_models import RunStatus

router = APIRouter(
    prefix="/console/workflow-runs", route_class=ConsoleRoute, include_in_schema=False
)
NAV = NavEntry(path="/console/workflow-runs", label="nav.workflow_runs", order=91)

PAGE_SIZE = 50
MAX_TEAMS = 1000
SUBJECT_KIND_LENGTH = 40


def _team_names(console: Console) -> dict[int, str]:
    teams = user_service.list_teams(
        console.db, principal=console.principal, limit=MAX_TEAMS, offset=0
    )
    return {team.id: team.name for team in teams.items}


@router.get("")
def runs_page(console: ConsoleDep):
    request = console.request
    workflow_id = int_param(request, "workflow_id")
    status = enum_param(request, "status", RunStatus)
    subject_kind = request.query_params.get("subject_kind", "").strip()[:SUBJECT_KIND_LENGTH]
    subject_id = int_param(request, "subject_id")
    stmt = runs_service.runs_query(
        principal=console.principal,
        workflow_id=workflow_id,
        status=status,
        subject_kind=subject_kind or None,
        subject_id=subject_id,
    )
    page = paginate(console.db, stmt, limit=PAGE_SIZE, offset=int_param(request, "offset") or 0)
    workflows = workflow_options(console)
    t = console.t
    return render(
        console,
        "workflow_runs.html",
        page=page,
        workflow_id=workflow_id,
        status=status.value if status else "",
        subject_kind=subject_kind,
        subject_id=subject_id,
        workflow_options=workflows,
        workflow_names=dict(workflows),
        status_options=[(s.value, t(f"runs.status.{s.value}")) for s in RunStatus],
        team_names=_team_names(console),
    )


def _run_values(console: Console, details: RunDetails, notice: str | None = None) -> dict:
    run = details.run
    return {
        "run": run,
        "steps": details.steps,
        "workflow_names": dict(workflow_options(console)),
        "team_names": _team_names(console),
        "may_retry": console.is_admin and run.status is RunStatus.failed,
        "may_cancel": console.is_admin and run.status in CANCELLABLE,
        "duration": lambda seconds: duration(console.t, seconds),
        "notice": notice,
    }


@router.get("/{run_id}")
def run_page(console: ConsoleDep, run_id: Id):
    details = runs_service.run_details(console.db, principal=console.principal, run_id=run_id)
    return render(console, "workflow_run.html", **_run_values(console, details))


@router.post("/{run_id}/retry")
def retry(console: CsrfDep, run_id: Id):
    """Try a failed run's failed step again (admin); the run goes on from there."""
    details = runs_service.retry_run(console.db, principal=console.principal, run_id=run_id)
    status = console.t(f"runs.status.{details.run.status.value}")
    notice = console.t("run.retried", status=status)
    return render(console, "workflow_run_detail.html", **_run_values(console, details, notice))


@router.post("/{run_id}/cancel")
def cancel(console: CsrfDep, run_id: Id):
    """Stop a run for good (admin): its timers and waits go, its approvals and tasks are
    cancelled."""
    details = runs_service.cancel_run(console.db, principal=console.principal, run_id=run_id)
    notice = console.t("run.cancelled")
    return render(console, "workflow_run_detail.html", **_run_values(console, details, notice))
