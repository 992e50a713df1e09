"""Request-scoped dependencies: the database session and the calling principal."""

from collections.abc import AsyncIterator, Callable
from typing import Annotated

import anyio
from fastapi import Depends, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.auth.principal import Principal
from sfa.db import get_sessionmaker
from sfa.errors import DomainError, Unauthenticated

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


def session_dependency(make_session: Callable[[], Session]):
    """The request's session as an async dependency: a Session connects lazily, so opening
    one needs no worker thread; only the commit (blocking I/O) goes to one. Each thread hop
    costs CPU and GIL hand-offs under load, and a request already makes one for the
    principal and one for the endpoint."""

    async def get_session(request: Request) -> AsyncIterator[Session]:
        # A request keeps its connection (its transaction) between thread hops. With more
        # requests in flight than pooled connections, every worker thread could end up
        # waiting for a connection held by requests that wait for a thread to finish:
        # so at most db_pool_size requests per process hold a session; the rest wait here,
        # holding nothing (the limiter is made per app in api.main.lifespan).
        async with request.app.state.transactions:
            session = make_session()
            try:
                yield session
            except BaseException as exc:
                # Shielded: a cancelled request (client gone) must still give back its
                # connection, rolled back.
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(finish, session, exc)
                raise
            await run_in_threadpool(finish, session, None)

    return get_session


get_session = session_dependency(lambda: get_sessionmaker()())


# scope="function": commit (or roll back) before the response is sent. With FastAPI's
# default ("request") the code after `yield` runs only once the response has gone out, so
# a client could be told 200/201 for a transaction not yet committed, or that then fails.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_principal(
    session: SessionDep,
    token: Annotated[str | None, Security(_bearer)],
    api_key: Annotated[str | None, Security(_api_key)],
) -> Principal:
    if token:
        return auth_service.principal_for_token(session, access_token=token)
    if api_key:
        return auth_service.principal_for_api_key(session, api_key=api_key)
    raise Unauthenticated(
        "authentication required",
        hint="send 'Authorization: Bearer <token>' from POST /v1/auth/token, "
        "or 'X-API-Key: <key>' for machine clients",
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]
