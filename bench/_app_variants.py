"""App variants for A/B runs of check_in.py: the same project code, wired differently.

Used only to measure a proposal before anyone changes the project (`--app asgi-log`):

- asgi_access_log: api.main's access-log middleware (an `@app.middleware("http")`, i.e.
  Starlette's BaseHTTPMiddleware, which runs every request through an extra task group,
  memory streams and a wrapped `receive`) replaced by a pure ASGI middleware that logs
  the same line and sets the same X-Request-ID header.
"""

import logging
import time
import uuid

from api.main import create_app

log = logging.getLogger("sfa.api.access")


class PureAccessLog:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        request_id = request_id or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()),
                                      (b"x-request-id", request_id.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info("%s %s %s %.1fms rid=%s", scope["method"], scope["path"], status,
                     (time.perf_counter() - started) * 1000, request_id)


def asgi_access_log():
    app = create_app()
    app.user_middleware = [m for m in app.user_middleware
                           if getattr(m.cls, "__name__", "") != "BaseHTTPMiddleware"]
    app.add_middleware(PureAccessLog)
    app.middleware_stack = None  # rebuilt on the first request
    return app
