import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sfa import replica
from sfa.audit import service as audit_service
from sfa.auth import principal_cache, tokens
from sfa.auth.models import ApiKey, LoginThrottle
from sfa.auth.passwords import verify_password
from sfa.auth.principal import ALL_SCOPES, ROLE_SCOPES, Principal
from sfa.config import get_settings
from sfa.errors import InvalidInput, LoginFailed, NotFound, Throttled, Unauthenticated
from sfa.users.models import Role, Team, User

_KEY_PREFIX = "sfa"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int


def _now() -> datetime:
    return datetime.now(UTC)


def _issue_pair(user_id: int) -> TokenPair:
    return TokenPair(
        access_token=tokens.issue(user_id, "access"),
        refresh_token=tokens.issue(user_id, "refresh"),
        expires_in=get_settings().access_token_minutes * 60,
    )


def login(session: Session, *, username: str, password: str) -> TokenPair:
    return _issue_pair(authenticate(session, username=username, password=password).id)


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The active user with this password; failures count towards the login throttle
    (shared by the API's token login and the console's form login)."""
    throttle = session.get(LoginThrottle, username, with_for_update=True)
    now = _now()
    if throttle and throttle.locked_until and throttle.locked_until > now:
        raise Throttled(
            "too many failed logins for this user",
            retry_after_s=int((throttle.locked_until - now).total_seconds()) + 1,
            hint="wait and try again, or ask an administrator to reset the password",
        )
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not verify_password(password, user.password_hash):
        _count_failure(session, username, throttle, now)
        raise LoginFailed("wrong username or password")
    if throttle:
        session.delete(throttle)
    return user


def _count_failure(
    session: Session, username: str, throttle: LoginThrottle | None, now: datetime
) -> None:
    settings = get_settings()
    window = timedelta(minutes=settings.login_lock_minutes)
    if throttle is None or now - throttle.first_failure_at > window:
        if throttle is None:
            throttle = LoginThrottle(username=username)
            session.add(throttle)
        throttle.failures = 0
        throttle.first_failure_at = now
        throttle.locked_until = None
    throttle.failures += 1
    if throttle.failures >= settings.login_max_failures:
        throttle.locked_until = now + window
    session.flush()


def refresh(session: Session, *, refresh_token: str) -> TokenPair:
    user_id = tokens.decode(refresh_token, "refresh")
    user = session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthenticated("this account no longer exists or is disabled")
    return _issue_pair(user.id)


# What a Principal needs (a manager's teams included) in one round trip, no ORM object;
# cached between requests until users or teams change (sfa/auth/principal_cache.py): a
# deactivated user or a team handed to another manager takes effect once that commits.
_PRINCIPAL_SQL = text(
    "SELECT role, team_id, is_active, "
    "CASE WHEN role = 'manager' THEN ARRAY(SELECT id FROM teams WHERE manager_id = users.id) "
    "END AS managed_team_ids FROM users WHERE id = :id"
    # Who the caller is is read from the primary even by sessions routed to a replica
    # (sfa/replica.py): a user created a moment ago can already use the reports.
).execution_options(**{replica.PRIMARY: True})


def principal_for_token(session: Session, *, access_token: str) -> Principal:
    return principal_for_user_id(session, user_id=tokens.decode(access_token, "access"))


def principal_for_user_id(session: Session, *, user_id: int) -> Principal:
    """The principal of a user already authenticated (a token, a console session)."""
    principal = principal_cache.cache.lookup(user_id, lambda: _load_principal(session, user_id))
    if principal is None:
        raise Unauthenticated("this account no longer exists or is disabled")
    return principal


def _load_principal(session: Session, user_id: int) -> Principal | None:
    """The user's principal; None for a user who does not exist or is disabled."""
    row = session.execute(_PRINCIPAL_SQL, {"id": user_id}).first()
    if row is None or not row.is_active:
        return None
    return _user_principal(user_id, Role(row.role), row.team_id, row.managed_team_ids)


def principal_for_user(session: Session, user: User) -> Principal:
    managed = (
        session.scalars(select(Team.id).where(Team.manager_id == user.id)).all()
        if user.role is Role.manager
        else None
    )
    return _user_principal(user.id, user.role, user.team_id, managed)


def _user_principal(
    user_id: int, role: Role, team_id: int | None, managed_team_ids: Sequence[int] | None
) -> Principal:
    if role is Role.admin:
        team_ids = None
    elif role is Role.manager:
        team_ids = frozenset(managed_team_ids or ())
    else:
        team_ids = frozenset({team_id} if team_id is not None else set())
    return Principal(
        kind="user", id=user_id, role=role, scopes=ROLE_SCOPES[role], team_ids=team_ids
    )


def _hash_secret(secret: str) -> str:
    # API key secrets are 256-bit random, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_key(
    session: Session, *, actor: Principal, name: str, scopes: list[str]
) -> tuple[ApiKey, str]:
    """Create a key; the returned plaintext is shown once and never stored."""
    actor.require_admin()
    unknown = sorted(set(scopes) - ALL_SCOPES)
    if unknown or not scopes:
        raise InvalidInput(
            f"unknown or missing scopes: {', '.join(unknown) or '(none given)'}",
            hint=f"choose from: {', '.join(sorted(ALL_SCOPES))}",
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        name=name,
        prefix=prefix,
        secret_hash=_hash_secret(secret),
        scopes=sorted(set(scopes)),
        created_by=actor.user_id,
    )
    session.add(key)
    session.flush()
    audit_service.record(
        session,
        actor=actor.actor,
        entity="api_key",
        entity_id=key.id,
        action="create",
        new={"name": name, "scopes": key.scopes},
    )
    return key, f"{_KEY_PREFIX}_{prefix}_{secret}"


def principal_for_api_key(session: Session, *, api_key: str) -> Principal:
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != _KEY_PREFIX:
        raise Unauthenticated("the API key is malformed", hint="send the key exactly as created")
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
    if (
        key is None
        or key.revoked_at is not None
        or not secrets.compare_digest(key.secret_hash, _hash_secret(parts[2]))
    ):
        raise Unauthenticated("the API key is not valid or was revoked")
    key.last_used_at = _now()
    return Principal(kind="api_key", id=key.id, role=None, scopes=frozenset(key.scopes))


def list_api_keys(session: Session, *, actor: Principal) -> list[ApiKey]:
    actor.require_admin()
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_api_key(session: Session, *, actor: Principal, key_id: int) -> ApiKey:
    actor.require_admin()
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFound(f"API key {key_id} does not exist")
    if key.revoked_at is None:
        key.revoked_at = _now()
        audit_service.record(
            session, actor=actor.actor, entity="api_key", entity_id=key.id, action="revoke"
        )
    return key


def purge_login_throttle(session: Session) -> int:
    """Forget failed-login counters whose window and lock are over."""
    cutoff = _now() - timedelta(minutes=get_settings().login_lock_minutes)
    stale = session.scalars(
        select(LoginThrottle).where(
            LoginThrottle.first_failure_at < cutoff,
            (LoginThrottle.locked_until.is_(None)) | (LoginThrottle.locked_until < _now()),
        )
    ).all()
    for row in stale:
        session.delete(row)
    session.flush()
    return len(stale)
