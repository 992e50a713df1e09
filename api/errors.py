"""Domain errors → HTTP, in one place. Every body says what was wrong and how to fix it."""

import logging
import re
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError, OperationalError, StatementError
from starlette.exceptions import HTTPException

from sfa import errors

log = logging.getLogger("sfa.api")

_STATUS = {
    errors.BadRequest: 400,
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
    allowed = _fixed_path_methods(request, exc)
    if allowed:
        return _method_not_allowed(request, allowed)
    # The offending input is echoed only by position, never by value: it may be a password.
    problems = [{"field": _field(e["loc"]), "problem": e["msg"]} for e in exc.errors()]
    message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return JSONResponse(
        error_body("invalid_input", message or "invalid request", details=problems),
        status_code=422,
    )


def _fixed_path_methods(request: Request, exc: RequestValidationError) -> set[str]:
    """Methods of other routes whose path template matches this request's path.

    `GET /v1/visits/check-in` matches `GET /v1/visits/{visit_id}` (tried first, it fits
    the method) and fails there on the path parameter; but the path names the check-in
    route, which only takes POST: that is a 405, not a 422. So when only path parameters
    are wrong, the other templates matching the path decide."""
    if not exc.errors() or any(e["loc"][:1] != ("path",) for e in exc.errors()):
        return set()
    current = getattr(request.scope.get("route"), "path", None)
    path = request.url.path
    return {
        method
        for template, (pattern, methods) in _templates(request.app).items()
        if template != current and pattern.fullmatch(path)
        for method in methods
        if method != request.method
    }


def _path_methods(request: Request) -> set[str]:
    """The methods of the most specific templates (fewest parameters) matching the path:
    /v1/visits/check-in takes POST, whatever /v1/visits/{visit_id} takes."""
    path = request.url.path
    matching = [
        (template.count("{"), methods)
        for template, (pattern, methods) in _templates(request.app).items()
        if pattern.fullmatch(path)
    ]
    if not matching:
        return set()
    fewest = min(n for n, _ in matching)
    return {m for n, methods in matching if n == fewest for m in methods}


def _templates(app: FastAPI) -> dict[str, tuple[re.Pattern, set[str]]]:
    """Every path template of the app (from its OpenAPI document, which lists included
    routers' routes too) as a regex, with its methods; built once per app."""
    cached = getattr(app.state, "path_templates", None)
    if cached is None:
        cached = {
            template: (
                re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))),
                {m.upper() for m in operations},
            )
            for template, operations in app.openapi()["paths"].items()
        }
        app.state.path_templates = cached
    return cached


def _method_not_allowed(request: Request, allowed: set[str]) -> JSONResponse:
    methods = ", ".join(sorted(allowed))
    return JSONResponse(
        error_body(
            "method_not_allowed",
            f"{request.method} is not allowed on {request.url.path}",
            hint=f"this path takes {methods}",
        ),
        status_code=405,
        headers={"Allow": methods},
    )


# Starlette's own errors (no route, wrong method, unreadable body, too large) in our
# envelope: one mapping for everything the HTTP layer refuses.
_HTTP_CODES = {
    400: ("invalid_body", "the request body could not be read", "send well-formed JSON"),
    404: ("not_found", "there is nothing at {path}", "see /docs for the paths of this API"),
    405: ("method_not_allowed", "{method} is not allowed on {path}", None),
    413: (
        "too_large",
        "the request body is larger than this endpoint accepts",
        "send smaller batches",
    ),
}


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    code, message, hint = _HTTP_CODES.get(
        exc.status_code, ("http_error", str(exc.detail or "request refused"), None)
    )
    message = message.format(path=request.url.path, method=request.method)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path only.
        allowed = _path_methods(request) or set(headers.get("Allow", "").split(", "))
        return _method_not_allowed(request, allowed)
    return JSONResponse(
        error_body(code, message, hint=hint), status_code=exc.status_code, headers=headers
    )


async def _data_error(request: Request, exc: StatementError) -> JSONResponse:
    """A value the database cannot store or compare (out of range, NUL in text): the
    schemas bound what the outside sends (api/schemas/common.py); this is the net for
    anything they missed, so that it is the client's 422 and never a 500."""
    log.warning(
        "value refused by the database on %s %s: %s",
        request.method,
        request.url.path,
        type(exc.orig).__name__,
    )
    return JSONResponse(
        error_body(
            "invalid_input",
            "a value in the request is out of range or cannot be stored",
            hint="numbers must fit in 64 bits, text must not contain NUL characters",
        ),
        status_code=422,
    )


async def _statement_error(request: Request, exc: StatementError) -> JSONResponse:
    # psycopg refuses to send a NUL in text before the statement reaches the server; that
    # arrives as a StatementError wrapping the driver's DataError or a ValueError.
    orig = exc.orig
    if isinstance(orig, ValueError | OverflowError) or type(orig).__name__ == "DataError":
        return await _data_error(request, exc)
    return await _unexpected(request, exc)


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
    (DataError, _data_error),
    (StatementError, _statement_error),
    (HTTPException, _http_error),
    (Exception, _unexpected),
)


def install(app: FastAPI) -> None:
    for exc_class, handler in _HANDLERS:
        app.add_exception_handler(exc_class, handler)


# The console (api/console) renders the same errors as pages, with the same statuses.
status_for = _status_for
