"""Request-scoped dependencies: the database session and the calling principal."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from api import ratelimit
from sfa import replica
from sfa.auth import service as auth_service
from sfa.auth.principal import Principal
from sfa.db import get_sessionmaker
from sfa.errors import DomainError, Unauthenticated

T = TypeVar("T")

_bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def finish(session: Session, error: BaseException | None) -> None:
    """End a request's transaction: commit on success, roll back on error (a DomainError
    may ask to keep what was written, e.g. a counted failed login)."""
    try:
        if error is None or (isinstance(error, DomainError) and error.keeps_transaction):
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()


def session_dependency(make_session: Callable[[Request], Session], *, on_loop: bool = False):
    """The request's session as an async dependency.

    Threaded (the default): the endpoint runs in a worker thread and only the commit goes
    to one here; a Session connects lazily, so opening one needs no thread.

    On the loop (`on_loop=True`, for the hot, short endpoints declared with `LoopSessionDep`
    and `async def`): the endpoint, its statements and the commit run on the event-loop
    thread, blocking it for the ~1 ms they take. Measured (bench/README.md): handing work
    to a thread and back costs more CPU than a check-in's own code under load, whatever
    the number of hops. Such a transaction must not wait long for a lock: while the loop
    waits, a threaded request of the same process that holds the lock cannot commit (its
    commit needs the loop), so an unbounded wait could stall the process. Every pooled
    connection has a lock_timeout (SFA_DB_LOCK_TIMEOUT_MS, sfa.db.make_engine); the loser
    gets a 503 and retries (client ids make that safe).
    """
    run = _inline if on_loop else run_in_threadpool

    async def get_session(request: Request) -> AsyncIterator[Session]:
        # A request keeps its connection (its transaction) between thread hops. With more
        # requests in flight than pooled connections, every worker thread could end up
        # waiting for a connection held by requests that wait for a thread to finish:
        # so at most db_pool_size requests per process hold a session; the rest wait here,
        # holding nothing (the limiter is made per app in api.main.lifespan). On the loop,
        # the same limit guarantees that a pooled connection is free.
        async with request.app.state.transactions:
            session = make_session(request)
            try:
                yield session
            except BaseException as exc:
                # Shielded: a cancelled request (client gone) must still give back its
                # connection, rolled back.
                with anyio.CancelScope(shield=True):
                    await run(finish, session, exc)
                raise
            await run(finish, session, None)

    return get_session


async def _inline(function, *args):
    return function(*args)


def _make_session(request: Request | None = None) -> Session:
    return get_sessionmaker()()


# Routes marked here read from the replica when one is configured and keeps up
# (sfa/replica.py): their request's session sends reads there until it writes. Marked on
# the endpoint so that a route keeps one session for everything it depends on (its
# principal included: two sessions per request could deadlock the limiter above).
_READS = "_sfa_replica_reads"


def reads_from_replica(endpoint: T) -> T:
    """Mark a read-only route (a report, a console page) as served from the replica."""
    setattr(endpoint, _READS, "always")
    return endpoint


def exports_from_replica(endpoint: T) -> T:
    """Mark a list whose `format=csv` export is served from the replica (its JSON pages,
    which the app reads right after its own writes, stay on the primary)."""
    setattr(endpoint, _READS, "csv")
    return endpoint


def routed_to_replica(request: Request) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    mark = getattr(request.scope.get("endpoint"), _READS, None)
    return mark == "always" or (mark == "csv" and request.query_params.get("format") == "csv")


def _request_session(request: Request) -> Session:
    return replica.make_read_session() if routed_to_replica(request) else _make_session()


get_session = session_dependency(_request_session)
get_loop_session = session_dependency(_make_session, on_loop=True)


def session_overrides(make_session: Callable[[], Session]) -> dict:
    """dependency_overrides that make every request use `make_session` (tests)."""

    def per_request(request: Request) -> Session:
        return make_session()

    return {
        get_session: session_dependency(per_request),
        get_loop_session: session_dependency(per_request, on_loop=True),
    }


# scope="function": commit (or roll back) before the response is sent. With FastAPI's
# default ("request") the code after `yield` runs only once the response has gone out, so
# a client could be told 200/201 for a transaction not yet committed, or that then fails.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
LoopSessionDep = Annotated[Session, Depends(get_loop_session, scope="function")]


def _principal(
    request: Request, session: Session, token: str | None, api_key: str | None
) -> Principal:
    principal = _authenticate(session, token, api_key)
    ratelimit.check(request.scope.setdefault("state", {}), principal)
    return principal


def _authenticate(session: Session, token: str | None, api_key: str | None) -> Principal:
    if token:
        return auth_service.principal_for_token(session, access_token=token)
    if api_key:
        return auth_service.principal_for_api_key(session, api_key=api_key)
    raise Unauthenticated(
        "authentication required",
        hint="send 'Authorization: Bearer <token>' from POST /v1/auth/token, "
        "or 'X-API-Key: <key>' for machine clients",
    )


def get_principal(
    request: Request,
    session: SessionDep,
    token: Annotated[str | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    return _principal(request, session, token, api_key)


async def get_loop_principal(
    request: Request,
    session: LoopSessionDep,
    token: Annotated[str | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    return _principal(request, session, token, api_key)


PrincipalDep = Annotated[Principal, Depends(get_principal)]
LoopPrincipalDep = Annotated[Principal, Depends(get_loop_principal)]
