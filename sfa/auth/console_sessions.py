"""Cookie sessions of the manager web console (api/console).

The same users, passwords, throttling and roles as the JSON API; reps have no console.
A session is a database row found by the hash of the random token in the cookie, so
logging out (deleting the row) ends it everywhere, and a deactivated user is refused on
the next request (the principal is looked up on every request, as for a bearer token)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.auth.models import ConsoleSession
from sfa.auth.principal import Principal
from sfa.db import execute_dml
from sfa.errors import Forbidden, Unauthenticated
from sfa.users.models import Role, User

CONSOLE_ROLES = frozenset({Role.manager, Role.admin})
SESSION_HOURS = 12


@dataclass(frozen=True)
class Opened:
    token: str  # for the cookie; never stored
    row: ConsoleSession


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _check_role(role: Role | None) -> None:
    if role not in CONSOLE_ROLES:
        raise Forbidden(
            "the console is for managers and administrators",
            hint="reps use the mobile app",
        )


def open_session(
    session: Session, *, username: str, password: str, client: str | None = None
) -> Opened:
    """Log in with a password; the user's expired sessions are cleared on the way.
    Failures count per username and per client address (`client`), as for the API."""
    user = auth_service.authenticate(session, username=username, password=password, client=client)
    return open_for_user(session, user=user)


def open_for_user(session: Session, *, user: User) -> Opened:
    """A session for a user whose password was checked (or a test's user)."""
    _check_role(user.role)
    now = _now()
    session.execute(
        delete(ConsoleSession).where(
            ConsoleSession.user_id == user.id, ConsoleSession.expires_at <= now
        )
    )
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_hash=_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        language=user.language,
        expires_at=now + timedelta(hours=SESSION_HOURS),
    )
    session.add(row)
    session.flush()
    return Opened(token=token, row=row)


def resume(session: Session, *, token: str) -> tuple[ConsoleSession, Principal]:
    """The live session of a cookie and its user's principal."""
    row = session.scalar(
        select(ConsoleSession).where(
            ConsoleSession.token_hash == _hash(token), ConsoleSession.expires_at > _now()
        )
    )
    if row is None:
        raise Unauthenticated("the console session has ended", hint="log in again")
    principal = auth_service.principal_for_user_id(session, user_id=row.user_id)
    _check_role(principal.role)
    return row, principal


def set_language(session: Session, *, row: ConsoleSession, language: str) -> None:
    row.language = language
    session.flush()


def close_session(session: Session, *, token: str) -> None:
    session.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _hash(token)))


def purge_expired(session: Session) -> int:
    return execute_dml(session, delete(ConsoleSession).where(ConsoleSession.expires_at <= _now()))
