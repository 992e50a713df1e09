import hashlib
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from sfa import replica
from sfa.audit import service as audit_service
from sfa.auth import principal_cache, repository, tokens
from sfa.auth.models import ApiKey
from sfa.auth.passwords import verify_password
from sfa.auth.principal import ALL_SCOPES, ROLE_SCOPES, Principal
from sfa.config import get_settings
from sfa.errors import InvalidInput, LoginFailed, NotFound, Throttled, Unauthenticated
from sfa.users.models import Role, Team, User

_KEY_PREFIX = "sfa"
_KEY_PREFIX_SHAPE = re.compile(r"[0-9a-f]{12}")  # secrets.token_hex(6)


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


def _counters(username: str, client: str | None) -> list[repository.Counter]:
    counters = [repository.Counter("login_throttle", "username", username[:80])]
    if client:
        counters.append(repository.Counter("login_client_throttle", "client", client[:64]))
    return counters


def login(
    session: Session, *, username: str, password: str, client: str | None = None
) -> TokenPair:
    user = authenticate(session, username=username, password=password, client=client)
    return _issue_pair(user.id)


def authenticate(
    session: Session, *, username: str, password: str, client: str | None = None
) -> User:
    """The active user with this password (the API's token login and the console's form
    login). Failures are counted per username and per client address (`client`); either
    counter locks after its limit."""
    settings = get_settings()
    now = _now()
    counters = _counters(username, client)
    locked = repository.locked_until(session, counters, now)
    if locked is not None:
        raise Throttled(
            "too many failed logins for this user or from this address",
            retry_after_s=int((locked - now).total_seconds()) + 1,
            hint="wait and try again, or ask an administrator to reset the password",
        )
    user = session.scalar(select(User).where(User.username == username))
    # An unknown or disabled user is checked against a dummy hash: the same work, the
    # same time, so the answer's timing does not tell which usernames exist.
    active = user if user is not None and user.is_active else None
    verified = verify_password(password, active.password_hash if active is not None else None)
    if active is None or not verified:
        window = timedelta(minutes=settings.login_lock_minutes)
        limits = (settings.login_max_failures, settings.login_max_failures_per_client)
        for counter, limit in zip(counters, limits, strict=False):
            repository.count_failure(session, counter, now=now, window=window, max_failures=limit)
        raise LoginFailed("wrong username or password")
    # Only the username's counter: a client's count must not be reset by logging in to
    # an account of one's own between guesses at others.
    repository.forget(session, counters[0])
    return active


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


def api_key_parts(api_key: str) -> tuple[str, str] | None:
    """(prefix, secret) of a key of the shape create_api_key makes, else None."""
    parts = api_key.split("_", 2)
    if len(parts) != 3 or parts[0] != _KEY_PREFIX or not _KEY_PREFIX_SHAPE.fullmatch(parts[1]):
        return None
    return parts[1], parts[2]


def principal_for_api_key(session: Session, *, api_key: str) -> Principal:
    parts = api_key_parts(api_key)
    if parts is None:
        raise Unauthenticated("the API key is malformed", hint="send the key exactly as created")
    prefix, secret = parts
    key = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if (
        key is None
        or key.revoked_at is not None
        or not secrets.compare_digest(key.secret_hash, _hash_secret(secret))
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
    now = _now()
    cutoff = now - timedelta(minutes=get_settings().login_lock_minutes)
    return sum(
        repository.purge(session, table, cutoff=cutoff, now=now)
        for table in ("login_throttle", "login_client_throttle")
    )
