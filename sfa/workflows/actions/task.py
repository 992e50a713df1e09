"""`assign_task`: a task with a due date for a user, someone holding a role (the one with
the fewest open tasks), the next rep of a team in turn (`round_robin_team`: a context
path to the team id, e.g. "rep.team.id"), or the user whose id is at a context path
(`context`, e.g. "vars.renewal.owner_id": the owner CURE chose).

Crash handling: the task row is written in the transaction that records the run-step: a
crash leaves neither, and the retry assigns it once.
"""

from sqlalchemy import func, select

from sfa.users.models import Role, Team, User
from sfa.workflows.actions.base import Outcome, StepCall, StepError, hours, lookup
from sfa.workflows.runtime_models import Task, TaskStatus


def _least_loaded(call: StepCall, role: str) -> User:
    open_tasks = (
        select(func.count())
        .where(Task.assignee_user_id == User.id, Task.status == TaskStatus.open)
        .scalar_subquery()
    )
    user = call.session.scalar(
        select(User)
        .where(User.role == Role(role), User.is_active.is_(True))
        .order_by(open_tasks, User.id)
        .limit(1)
    )
    if user is None:
        raise StepError(f"nobody active holds the role {role!r}")
    return user


def _next_in_team(call: StepCall, path: str) -> User:
    team_id = lookup(call.data, path)
    # The team row serialises concurrent runs choosing from the same team.
    team = call.session.get(Team, team_id, with_for_update=True) if team_id else None
    if team is None:
        raise StepError(f"{path!r} names no team in this run's context")
    reps = call.session.scalars(
        select(User)
        .where(User.team_id == team.id, User.role == Role.rep, User.is_active.is_(True))
        .order_by(User.id)
    ).all()
    if not reps:
        raise StepError(f"team {team.name!r} has no active rep")
    last = call.session.scalar(
        select(Task.assignee_user_id)
        .where(Task.team_id == team.id)
        .order_by(Task.id.desc())
        .limit(1)
    )
    return next((rep for rep in reps if last is not None and rep.id > last), reps[0])


def _assignee(call: StepCall, to: dict) -> User:
    if "user" in to:
        user = call.session.get(User, int(to["user"]))
        if user is None or not user.is_active:
            raise StepError(f"user {to['user']} does not exist or is not active")
        return user
    if "role" in to:
        return _least_loaded(call, to["role"])
    if "round_robin_team" in to:
        return _next_in_team(call, to["round_robin_team"])
    if "context" in to:
        ident = lookup(call.data, str(to["context"]))
        user = call.session.get(User, int(ident)) if isinstance(ident, int) else None
        if user is None or not user.is_active:
            raise StepError(f"{to['context']!r} names no active user ({ident!r})")
        return user
    raise StepError(
        f"assign_task 'to' names a user, a role, round_robin_team or context, not {to!r}"
    )


def assign_task(call: StepCall) -> Outcome:
    to = call.require("to")
    user = _assignee(call, to if isinstance(to, dict) else {})
    title = str(call.value(call.require("title")))[:300]
    due = hours(call, "due_in_hours")
    team_id = lookup(call.data, to["round_robin_team"]) if "round_robin_team" in to else None
    task = Task(
        run_id=call.run.id,
        step_id=call.step_id,
        title=title,
        assignee_user_id=user.id,
        team_id=team_id or user.team_id,
        due_at=call.now + due if due is not None else None,
        status=TaskStatus.open,
    )
    call.session.add(task)
    call.session.flush()
    return Outcome(
        {
            "task_id": task.id,
            "assignee_user_id": user.id,
            "due_at": task.due_at and str(task.due_at),
        },
        next=call.step.get("next"),
    )
