"""Domain errors → HTTP, in one place. Every body says what was wrong and how to fix it."""

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import IntegrityError, OperationalError

from sfa import errors

log = logging.getLogger("sfa.api")

_STATUS = {
    errors.InvalidInput: 422,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.Forbidden: 403,
    errors.Unauthenticated: 401,
    errors.Throttled: 429,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMedia: 415,
}


def error_body(code: str, message: str, hint: str | None = None, details=None) -> dict:
    body: dict = {"code": code, "message": message}
    if hint:
        body["hint"] = hint
    if details:
        body["details"] = details
    return {"error": body}


def _status_for(exc: errors.DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 400


async def _domain_error(request: Request, exc: errors.DomainError) -> JSONResponse:
    status = _status_for(exc)
    headers = {}
    if isinstance(exc, errors.Unauthenticated):
        headers["WWW-Authenticate"] = "Bearer"
    if isinstance(exc, errors.Throttled):
        headers["Retry-After"] = str(exc.retry_after_s)
    return JSONResponse(
        error_body(exc.code, exc.message, exc.hint, exc.details or None),
        status_code=status,
        headers=headers,
    )


def _field(loc: tuple) -> str:
    return ".".join(str(p) for p in loc)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    # The offending input is echoed only by position, never by value: it may be a password.
    problems = [{"field": _field(e["loc"]), "problem": e["msg"]} for e in exc.errors()]
    message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return JSONResponse(
        error_body("invalid_input", message or "invalid request", details=problems),
        status_code=422,
    )


async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None)
    log.info("integrity error on %s %s: %s", request.method, request.url.path, constraint)
    return JSONResponse(
        error_body(
            "conflict",
            "the change conflicts with existing data"
            + (f" (constraint {constraint})" if constraint else ""),
            hint="the record is still referenced or would duplicate another one",
        ),
        status_code=409,
    )


_LOCK_NOT_AVAILABLE = "55P03"  # SQLSTATE of lock_timeout (sfa.db.make_engine)


def _unavailable(exc: OperationalError, sqlstate: str | None) -> bool:
    """The database is down, restarting, or dropped this connection: errors raised by the
    client library itself carry no SQLSTATE; 08 is connection exceptions, 57P operator
    intervention (shutdown, crash, starting up)."""
    return (
        exc.connection_invalidated
        or sqlstate is None
        or sqlstate.startswith("08")
        or sqlstate.startswith("57P")
    )


async def _operational_error(request: Request, exc: OperationalError) -> JSONResponse:
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate == _LOCK_NOT_AVAILABLE:
        log.warning("lock wait timed out on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(
                "busy",
                "the records this request changes are being changed by "
                "another request; nothing was stored",
                hint="retry in a moment: resending the same request (same client_id) is safe",
            ),
            status_code=503,
            headers={"Retry-After": "1"},
        )
    if _unavailable(exc, sqlstate):
        # A pooled connection the server closed (restart, failover) is found dead only
        # when used (sfa.db.make_engine); the pool has replaced the others by now.
        log.error(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            type(exc.orig).__name__,
        )
        return JSONResponse(
            error_body(
                "database_unavailable",
                "the database could not be reached; nothing was stored",
                hint="retry in a few seconds",
            ),
            status_code=503,
            headers={"Retry-After": "2"},
        )
    return await _unexpected(request, exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        error_body("internal_error", "an unexpected error occurred; it has been logged"),
        status_code=500,
    )


# Each handler takes its own exception class; Starlette types every handler as taking any
# Exception, so the pairs are listed with a looser callable type.
_HANDLERS: tuple[tuple[type[Exception], Callable[..., Awaitable[Response]]], ...] = (
    (errors.DomainError, _domain_error),
    (RequestValidationError, _validation_error),
    (IntegrityError, _integrity_error),
    (OperationalError, _operational_error),
    (Exception, _unexpected),
)


def install(app: FastAPI) -> None:
    for exc_class, handler in _HANDLERS:
        app.add_exception_handler(exc_class, handler)


# The console (api/console) renders the same errors as pages, with the same statuses.
status_for = _status_for
