"""Tasks: the to-dos workflows give people (`assign_task`), the caller's and a manager's
teams' (an administrator everyone's), soonest due first, with a button to mark one done
through the same service as `POST /v1/tasks/{id}/complete` (its assignee or an
administrator; sfa/workflows/tasks.py says who sees which task)."""

from enum import StrEnum

from fastapi import APIRouter

from api.console.filters import enum_param, int_param
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, CsrfDep, render
from api.console.workflow_views import user_names
from api.schemas.common import Id
from sfa.pagination import paginate
from sfa.workflows import tasks as task_service
from sfa.workflows.runtime_models import Task, TaskStatus

router = APIRouter(prefix="/console/tasks", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/tasks", label="nav.tasks", order=92)

PAGE_SIZE = 50


class Whose(StrEnum):
    mine = "mine"
    all = "all"  # every task the caller sees: their own and (manager) their teams'


def may_complete(console: Console, task: Task) -> bool:
    """The service's rule, for showing the button only where it would be accepted."""
    mine = task.assignee_user_id == console.principal.user_id
    return task.status is TaskStatus.open and (mine or console.is_admin)


def _row_values(console: Console, tasks: list[Task]) -> dict:
    return {
        "names": user_names(console, [t.assignee_user_id for t in tasks]),
        "may_complete": lambda task: may_complete(console, task),
    }


@router.get("")
def tasks_page(console: ConsoleDep):
    request = console.request
    # Open tasks by default: what is left to do is what the page is opened for.
    status = (
        enum_param(request, "status", TaskStatus)
        if "status" in request.query_params
        else TaskStatus.open
    )
    whose = enum_param(request, "whose", Whose) or Whose.all
    me = console.principal.user_id
    stmt = task_service.tasks_query(
        principal=console.principal,
        status=status,
        assignee_user_id=me if whose is Whose.mine else None,
    )
    page = paginate(console.db, stmt, limit=PAGE_SIZE, offset=int_param(request, "offset") or 0)
    mine_open = paginate(
        console.db,
        task_service.tasks_query(
            principal=console.principal, status=TaskStatus.open, assignee_user_id=me
        ),
        limit=1,
        offset=0,
    ).total
    t = console.t
    all_label = t("tasks.whose.all_admin") if console.is_admin else t("tasks.whose.all")
    return render(
        console,
        "tasks.html",
        page=page,
        status=status.value if status else "",
        whose=whose.value,
        mine_open=mine_open,
        status_options=[(s.value, t(f"tasks.status.{s.value}")) for s in TaskStatus],
        whose_options=[(Whose.mine.value, t("tasks.whose.mine")), (Whose.all.value, all_label)],
        **_row_values(console, page.items),
    )


@router.post("/{task_id}/complete")
def complete(console: CsrfDep, task_id: Id):
    task = task_service.complete_task(console.db, principal=console.principal, task_id=task_id)
    return render(console, "task_row.html", task=task, done=True, **_row_values(console, [task]))
