"""Fetching one object the caller must be allowed to see.

Repositories answer `None` both when a row does not exist and when the principal may not
see it; services turn that into a 404 here, with one message for both cases, so that a
probe never learns whether another team's id exists.
"""

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import NotFound

T = TypeVar("T")
K = TypeVar("K", int, str)


def get_visible_or_raise(
    get: Callable[[Session, Principal, K], T | None],
    session: Session,
    principal: Principal,
    ident: K,
    *,
    what: str,
    hint: str | None = None,
) -> T:
    """`get(session, principal, ident)` — a repository's `get_visible…` function, bound
    with `functools.partial` when it takes more — or NotFound naming `what` and `ident`."""
    found = get(session, principal, ident)
    if found is None:
        shown = repr(ident) if isinstance(ident, str) else ident
        raise NotFound(f"{what} {shown} does not exist or is not visible to you", hint=hint)
    return found
