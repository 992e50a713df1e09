"""User and team queries, filtered by what the principal may see."""

from collections.abc import Sequence

from sqlalchemy import Select, exists, or_, select, text
from sqlalchemy.orm import Session

from sfa import search
from sfa.auth.principal import Principal
from sfa.users.models import Role, Team, User


def visible_users(principal: Principal) -> Select:
    stmt = select(User)
    if principal.team_ids is None:
        return stmt
    if principal.is_rep:
        return stmt.where(User.id == principal.id)
    # A manager sees themself and the members of the teams they lead.
    return stmt.where(or_(User.id == principal.id, User.team_id.in_(principal.team_ids)))


def visible_rep_condition(principal: Principal, rep_column):
    """The rows owned by a rep (`rep_column`) that the principal may see, as a SQL
    condition; None when it sees every rep (admin, API key).

    A rep sees only their own rows, a manager those of the reps in the teams they lead.
    Every rep-owned table (visits, orders, plans, …) is filtered through this."""
    if principal.team_ids is None:
        return None
    if principal.is_rep:
        return rep_column == principal.id
    return rep_column.in_(select(User.id).where(User.team_id.in_(principal.team_ids)))


def only_visible_reps(stmt: Select, principal: Principal, rep_column) -> Select:
    condition = visible_rep_condition(principal, rep_column)
    return stmt if condition is None else stmt.where(condition)


def visible_teams(principal: Principal) -> Select:
    stmt = select(Team)
    if principal.team_ids is None:
        return stmt
    return stmt.where(Team.id.in_(principal.team_ids))


def get_visible_user(session: Session, principal: Principal, user_id: int) -> User | None:
    return session.scalar(visible_users(principal).where(User.id == user_id))


def get_visible_rep(session: Session, principal: Principal, rep_id: int) -> User | None:
    """A user with the rep role that the principal may see (any other user: None)."""
    return session.scalar(visible_users(principal).where(User.id == rep_id, User.role == Role.rep))


def get_visible_team(session: Session, principal: Principal, team_id: int) -> Team | None:
    return session.scalar(visible_teams(principal).where(Team.id == team_id))


def team_has_members(session: Session, team_id: int) -> bool:
    return bool(session.scalar(select(exists().where(User.team_id == team_id))))


def team_has_customers(session: Session, team_id: int) -> bool:
    """Whether a team still has a territory. Plain SQL on purpose: customers belong to
    teams (sfa.customers imports sfa.users), so users must not import customers back."""
    return bool(
        session.scalar(
            text("SELECT EXISTS (SELECT 1 FROM customers WHERE team_id = :team_id)"),
            {"team_id": team_id},
        )
    )


def find_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def find_by_usernames(session: Session, usernames: Sequence[str]) -> dict[str, User]:
    """{username: user} of those that exist, in one query."""
    found = session.scalars(select(User).where(User.username.in_(list(set(usernames)))))
    return {user.username: user for user in found}


def find_by_ids(session: Session, user_ids: Sequence[int]) -> dict[int, User]:
    """{id: user} of those that exist, in one query (names shown beside ids)."""
    if not user_ids:
        return {}
    found = session.scalars(select(User).where(User.id.in_(sorted(set(user_ids)))))
    return {user.id: user for user in found}


def other_active_admins(session: Session, user_id: int) -> int:
    """Active administrators other than `user_id`, their rows locked until commit."""
    ids = session.scalars(
        select(User.id)
        .where(User.role == Role.admin, User.is_active.is_(True), User.id != user_id)
        .with_for_update()
    ).all()
    return len(ids)


def find_team_by_name(session: Session, name: str) -> Team | None:
    return session.scalar(select(Team).where(Team.name == name))


def filter_users(
    stmt: Select, *, role: Role | None = None, team_id: int | None = None, q: str | None = None
) -> Select:
    if role is not None:
        stmt = stmt.where(User.role == role)
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    if q:
        stmt = stmt.where(search.contains(q, User.username, User.full_name))
    return stmt.order_by(User.id)


def visible_reps(
    session: Session, principal: Principal, *, team_id: int | None = None
) -> list[User]:
    """Active reps the principal may see (of one team if given), by username."""
    stmt = visible_users(principal).where(User.role == Role.rep, User.is_active)
    if team_id is not None:
        stmt = stmt.where(User.team_id == team_id)
    return list(session.scalars(stmt.order_by(User.username, User.id)))
