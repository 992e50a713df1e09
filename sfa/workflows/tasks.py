"""The to-dos workflows give people (`assign_task`), at /v1/tasks.

Who sees a task: its assignee; a manager also every task of their teams (`Task.team_id`:
the round-robin team, else the assignee's); an administrator all. API keys none (a task
is a person's). Only the assignee or an administrator completes one; a task the caller
cannot see is answered like a missing id (404).

Completing a task does not move its run: `assign_task` hands the task out and goes on to
its next step at once (sfa/workflows/actions/task.py), so no run ever waits on a task.
"""

from datetime import UTC, datetime

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import Conflict, Forbidden, NotFound
from sfa.workflows.runtime_models import Task, TaskStatus


def _visible(principal: Principal) -> Select:
    if principal.user_id is None:
        raise Forbidden("tasks are given to people, not API keys")
    stmt = select(Task)
    if principal.is_admin:
        return stmt
    mine = Task.assignee_user_id == principal.user_id
    if principal.is_rep or not principal.team_ids:
        return stmt.where(mine)
    return stmt.where(or_(mine, Task.team_id.in_(sorted(principal.team_ids))))


def tasks_query(
    *,
    principal: Principal,
    status: TaskStatus | None = None,
    assignee_user_id: int | None = None,
    due_before: datetime | None = None,
) -> Select:
    """The tasks the principal sees, the soonest due first (tasks without a due date last)."""
    stmt = _visible(principal)
    if status is not None:
        stmt = stmt.where(Task.status == status)
    if assignee_user_id is not None:
        stmt = stmt.where(Task.assignee_user_id == assignee_user_id)
    if due_before is not None:
        stmt = stmt.where(Task.due_at < due_before)
    return stmt.order_by(Task.due_at.asc().nulls_last(), Task.id)


def complete_task(
    session: Session, *, principal: Principal, task_id: int, now: datetime | None = None
) -> Task:
    """Mark the task done. Completing it again, by whoever completed it, answers it
    unchanged (a retried request); a task cancelled or done by someone else is a 409."""
    task = session.scalar(
        _visible(principal)
        .where(Task.id == task_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if task is None:
        raise NotFound(f"task {task_id} does not exist or is not visible to you")
    if task.assignee_user_id != principal.user_id and not principal.is_admin:
        raise Forbidden(
            f"task {task_id} is not yours to complete",
            hint="its assignee or an administrator completes it",
        )
    if task.status is TaskStatus.done and task.closed_by == principal.user_id:
        return task
    if task.status is not TaskStatus.open:
        raise Conflict(
            f"task {task_id} is {task.status} already", hint="only an open task can be completed"
        )
    task.status, task.closed_at = TaskStatus.done, now or datetime.now(UTC)
    task.closed_by = principal.user_id
    audit_service.record(
        session,
        actor=principal.actor,
        entity="task",
        entity_id=task.id,
        action="complete",
        old={"status": str(TaskStatus.open)},
        new={"status": str(task.status), "run_id": task.run_id},
    )
    session.flush()
    return task
