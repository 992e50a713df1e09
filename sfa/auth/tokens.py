"""Signed access and refresh tokens.

A token names its company (the `co` claim: the company the request that issued it was
routed to, docs/tenancy.md) and is refused on any other: user ids are per company
database, so user 7 of one company must never act as user 7 of another. A token without
the claim (issued before companies had one) is valid for the default company only.
"""

import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

from sfa.auth import signing_key
from sfa.config import get_settings
from sfa.db import current_company
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
    claims = {
        "sub": str(user_id),
        "typ": kind,
        "co": current_company(),
        "iat": now,
        "exp": now + ttl,
    }
    return jwt.encode(claims, signing_key.jwt_secret(), algorithm=_ALGORITHM)


def decode(token: str, kind: str) -> int:
    """Return the user id of a valid token of the given kind, for the current company."""
    sub, typ, exp, company = _verified(token, signing_key.jwt_secret())
    if exp <= time.time():
        raise Unauthenticated(
            "the token has expired", hint="get a new one from POST /v1/auth/refresh"
        )
    if typ != kind:
        raise Unauthenticated(f"a {kind} token is required here")
    if (company or get_settings().default_company) != current_company():
        raise Unauthenticated(
            "this token was issued for another company",
            hint="log in at this company's own address (its host name or X-Company header)",
        )
    try:
        return int(sub)
    except ValueError as exc:
        raise Unauthenticated("the token is not valid", hint="log in again") from exc


@lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> tuple[str, object, float, str | None]:
    """(sub, typ, exp, company) of a token whose signature is valid. Cached: every request carries
    the same few tokens and checking one costs ~20 µs; expiry is checked on every use by
    `decode` (a cached token still expires), and a failed check is never cached."""
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            options={"require": ["sub", "typ", "exp"], "verify_exp": False},
        )
        exp = float(claims["exp"])
    except (jwt.PyJWTError, TypeError, ValueError) as exc:
        raise Unauthenticated("the token is not valid", hint="log in again") from exc
    company = claims.get("co")
    return claims["sub"], claims.get("typ"), exp, company if isinstance(company, str) else None
