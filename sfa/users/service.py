from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.passwords import hash_password
from sfa.auth.principal import ROLE_SCOPES, Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.errors import Conflict, Forbidden, InvalidInput
from sfa.pagination import Page, paginate
from sfa.users import repository
from sfa.users.models import Role, Team, User

_AUDITED_USER_FIELDS = (
    "username",
    "full_name",
    "email",
    "phone",
    "role",
    "team_id",
    "language",
    "is_active",
)


def _user_snapshot(user: User) -> dict:
    return {
        f: (str(v) if isinstance(v := getattr(user, f), Role) else v) for f in _AUDITED_USER_FIELDS
    }


def get_user(session: Session, *, principal: Principal, user_id: int) -> User:
    principal.require("users:read")
    return get_visible_or_raise(
        repository.get_visible_user, session, principal, user_id, what="user"
    )


def list_users(
    session: Session,
    *,
    principal: Principal,
    role: Role | None = None,
    team_id: int | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Page[User]:
    principal.require("users:read")
    stmt = repository.filter_users(
        repository.visible_users(principal), role=role, team_id=team_id, q=q
    )
    return paginate(session, stmt, limit=limit, offset=offset)


def _check_team_assignment(session: Session, role: Role, team_id: int | None) -> None:
    if team_id is None:
        return
    if role is not Role.rep:
        raise InvalidInput(
            "only reps belong to a team",
            hint="managers lead teams through the team's manager_id; admins have no team",
        )
    if session.get(Team, team_id) is None:
        raise InvalidInput(f"team {team_id} does not exist")


def _require_may_grant(principal: Principal, role: Role) -> None:
    """A user of `role` can be logged in as by whoever sets their password, role or
    activation: so only someone holding every permission of that role may create or
    change them — an API key never hands out more than its own scopes, and only an
    administrator who is a person makes or changes an administrator."""
    if principal.kind == "user" and principal.is_admin:
        return
    if role is Role.admin:
        raise Forbidden(
            "only an administrator (a person, not an API key) can create or change an administrator"
        )
    missing = sorted(ROLE_SCOPES[role] - principal.scopes)
    if missing:
        raise Forbidden(
            f"a {role} has permissions you do not: {', '.join(missing)}",
            hint="an administrator must create or change this user",
        )


def _keep_an_admin(session: Session, user: User, data: dict) -> None:
    """The last active administrator cannot be demoted or deactivated (by anyone,
    themself included): the company would have nobody left to administer it."""
    if user.role is not Role.admin or not user.is_active:
        return
    demoted = "role" in data and Role(data["role"]) is not Role.admin
    if not demoted and data.get("is_active", True):
        return
    # Locks every active admin row: two admins demoting each other at once cannot both
    # see the other one still there.
    if repository.other_active_admins(session, user.id) == 0:
        raise Conflict(
            f"{user.username} is the last active administrator",
            hint="make another user an administrator first",
        )


def create_user(session: Session, *, principal: Principal, data: dict) -> User:
    principal.require("users:write")
    _require_may_grant(principal, Role(data["role"]))
    if repository.find_by_username(session, data["username"]) is not None:
        raise Conflict(f"username {data['username']!r} is already taken")
    role = Role(data["role"])
    _check_team_assignment(session, role, data.get("team_id"))
    user = User(
        username=data["username"],
        full_name=data["full_name"],
        email=data.get("email"),
        phone=data.get("phone"),
        role=role,
        team_id=data.get("team_id"),
        language=data.get("language"),
        password_hash=hash_password(data["password"]),
    )
    session.add(user)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="user",
        entity_id=user.id,
        action="create",
        new=_user_snapshot(user),
    )
    return user


def update_user(session: Session, *, principal: Principal, user_id: int, data: dict) -> User:
    principal.require("users:write")
    user = get_user(session, principal=principal, user_id=user_id)
    _require_may_grant(principal, user.role)
    if "role" in data:
        _require_may_grant(principal, Role(data["role"]))
    _keep_an_admin(session, user, data)
    before = _user_snapshot(user)
    name_taken = (
        "username" in data
        and data["username"] != user.username
        and (repository.find_by_username(session, data["username"]) is not None)
    )
    if name_taken:
        raise Conflict(f"username {data['username']!r} is already taken")
    role = Role(data.get("role", user.role))
    _check_team_assignment(session, role, data.get("team_id", user.team_id))
    for field in ("username", "full_name", "email", "phone", "team_id", "language", "is_active"):
        if field in data:
            setattr(user, field, data[field])
    user.role = role
    if data.get("password"):
        user.password_hash = hash_password(data["password"])
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="user",
        entity_id=user.id,
        action="update",
        old=before,
        new=_user_snapshot(user),
    )
    return user


def deactivate_user(session: Session, *, principal: Principal, user_id: int) -> User:
    """Users are deactivated, not deleted: their visits and orders must keep their author."""
    return update_user(session, principal=principal, user_id=user_id, data={"is_active": False})


def get_team(session: Session, *, principal: Principal, team_id: int) -> Team:
    principal.require("teams:read")
    return get_visible_or_raise(
        repository.get_visible_team, session, principal, team_id, what="team"
    )


def list_teams(
    session: Session, *, principal: Principal, limit: int = 50, offset: int = 0
) -> Page[Team]:
    principal.require("teams:read")
    stmt = repository.visible_teams(principal).order_by(Team.id)
    return paginate(session, stmt, limit=limit, offset=offset)


def _check_manager(session: Session, manager_id: int | None) -> None:
    if manager_id is None:
        return
    manager = session.get(User, manager_id)
    if manager is None or manager.role is not Role.manager:
        raise InvalidInput(
            f"user {manager_id} is not a manager",
            hint="a team's manager_id must be a user with role 'manager'",
        )


def create_team(session: Session, *, principal: Principal, data: dict) -> Team:
    principal.require("teams:write")
    if repository.find_team_by_name(session, data["name"]) is not None:
        raise Conflict(f"a team named {data['name']!r} already exists")
    _check_manager(session, data.get("manager_id"))
    team = Team(name=data["name"], manager_id=data.get("manager_id"))
    session.add(team)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="team",
        entity_id=team.id,
        action="create",
        new={"name": team.name, "manager_id": team.manager_id},
    )
    return team


def update_team(session: Session, *, principal: Principal, team_id: int, data: dict) -> Team:
    principal.require("teams:write")
    team = get_team(session, principal=principal, team_id=team_id)
    before = {"name": team.name, "manager_id": team.manager_id}
    if "name" in data and data["name"] != team.name:
        if repository.find_team_by_name(session, data["name"]) is not None:
            raise Conflict(f"a team named {data['name']!r} already exists")
        team.name = data["name"]
    if "manager_id" in data:
        _check_manager(session, data["manager_id"])
        team.manager_id = data["manager_id"]
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="team",
        entity_id=team.id,
        action="update",
        old=before,
        new={"name": team.name, "manager_id": team.manager_id},
    )
    return team


def delete_team(session: Session, *, principal: Principal, team_id: int) -> None:
    principal.require("teams:write")
    team = get_team(session, principal=principal, team_id=team_id)
    if repository.team_has_members(session, team_id):
        raise Conflict(
            f"team {team_id} still has members", hint="move its reps to another team first"
        )
    if repository.team_has_customers(session, team_id):
        raise Conflict(
            f"team {team_id} still has customers in its territory",
            hint="assign its customers to another team first",
        )
    session.delete(team)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="team",
        entity_id=team_id,
        action="delete",
        old={"name": team.name},
    )
