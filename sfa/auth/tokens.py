from datetime import UTC, datetime, timedelta

import jwt

from sfa.config import get_settings
from sfa.errors import Unauthenticated

_ALGORITHM = "HS256"


def issue(user_id: int, kind: str) -> str:
    settings = get_settings()
    ttl = (
        timedelta(minutes=settings.access_token_minutes)
        if kind == "access"
        else timedelta(days=settings.refresh_token_days)
    )
    now = datetime.now(UTC)
    claims = {"sub": str(user_id), "typ": kind, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=_ALGORITHM)


def decode(token: str, kind: str) -> int:
    """Return the user id of a valid token of the given kind."""
    try:
        claims = jwt.decode(
            token,
            get_settings().jwt_secret.get_secret_value(),
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "typ", "exp"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthenticated(
            "the token has expired", hint="get a new one from POST /v1/auth/refresh"
        ) from exc
    except jwt.PyJWTError as exc:
        raise Unauthenticated("the token is not valid", hint="log in again") from exc
    if claims.get("typ") != kind:
        raise Unauthenticated(f"a {kind} token is required here")
    try:
        return int(claims["sub"])
    except ValueError as exc:
        raise Unauthenticated("the token is not valid", hint="log in again") from exc
