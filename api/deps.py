"""Request-scoped dependencies: the database session and the calling principal."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Security
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from sfa.auth import service as auth_service
from sfa.auth.principal import Principal
from sfa.db import get_sessionmaker
from sfa.errors import DomainError, Unauthenticated

_bearer = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False)


def transaction(session: Session) -> Iterator[Session]:
    """One transaction per request: commit on success, roll back on error."""
    try:
        yield session
        session.commit()
    except DomainError as exc:
        if exc.keeps_transaction:
            session.commit()
        else:
            session.rollback()
        raise
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def get_session() -> Iterator[Session]:
    yield from transaction(get_sessionmaker()())


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
