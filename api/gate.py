"""Refuse a request with a body before a byte of it is read, unless it can be authentic.

FastAPI reads and parses a declared body before it solves the dependencies that
authenticate (api/bodies.py), so without this an anonymous client could make the API
read and parse up to each route's size limit (api/main.py) for nothing. This pure ASGI
layer looks only at the headers of a request that has a body, on the JSON API's
non-public paths: without a Bearer token whose signature and expiry hold (checked in
memory, cached: sfa/auth/tokens.py) or an API key of the right shape, it answers 401 in
the error envelope at once. Everything else (the user still active, the key not revoked,
the scopes) is decided by the endpoint's principal dependency as before.

The console and other entry points outside /v1/ have their own authentication.
"""

from starlette.responses import JSONResponse

from api.errors import error_body
from sfa.auth import service as auth_service
from sfa.auth import tokens
from sfa.errors import Unauthenticated

# Paths that take a body from anonymous callers: logging in, and tracker apps (their
# device id authenticates them: sfa/tracking/service.py::device_rep).
PUBLIC_PATHS = frozenset({"/v1/auth/token", "/v1/auth/refresh", "/v1/osmand"})

_AUTH_HINT = (
    "send 'Authorization: Bearer <token>' from POST /v1/auth/token, "
    "or 'X-API-Key: <key>' for machine clients"
)


def _has_body(headers: list[tuple[bytes, bytes]]) -> bool:
    for name, value in headers:
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
        if name == b"transfer-encoding":
            return True
    return False


def credential_problem(headers: list[tuple[bytes, bytes]]) -> str | None:
    """Why the request's credentials cannot be valid, or None when they may be."""
    for name, value in headers:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                return "the Authorization header must be 'Bearer <token>'"
            try:
                tokens.decode(token.strip(), "access")
            except Unauthenticated as exc:
                return exc.message
            return None
        if name == b"x-api-key":
            if auth_service.api_key_parts(value.decode("latin-1")) is None:
                return "the API key is malformed"
            return None
    return "authentication required"


_TOO_LARGE = JSONResponse(
    error_body(
        "too_large",
        "the request body is larger than this endpoint accepts",
        hint="send smaller batches",
    ),
    status_code=413,
)


def _envelope_413(send):
    """Starlette's body limiter (FastAPI's per-route max_body_size) answers a plain-text
    413 of its own; the client gets it in the error envelope instead."""
    replacing = False

    async def send_enveloped(message):
        nonlocal replacing
        if message["type"] == "http.response.start" and message["status"] == 413:
            content_type = dict(message.get("headers", ())).get(b"content-type", b"")
            replacing = content_type.startswith(b"text/plain")
            if replacing:
                await send({**message, "headers": _TOO_LARGE.raw_headers})
                return
        if replacing and message["type"] == "http.response.body":
            if not message.get("more_body", False):
                await send({"type": "http.response.body", "body": _TOO_LARGE.body})
            return
        await send(message)

    return send_enveloped


class CredentialGate:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not _has_body(scope["headers"]):
            return await self.app(scope, receive, send)
        send = _envelope_413(send)
        if not scope["path"].startswith("/v1/") or scope["path"] in PUBLIC_PATHS:
            return await self.app(scope, receive, send)
        problem = credential_problem(scope["headers"])
        if problem is None:
            return await self.app(scope, receive, send)
        response = JSONResponse(
            error_body("unauthenticated", problem, hint=_AUTH_HINT),
            status_code=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
        await response(scope, receive, send)
