"""The FastAPI application."""

import logging
import time
import uuid

from fastapi import FastAPI, Request

from api import errors
from api.routers import (
    analytics,
    auth,
    catalog,
    customers,
    erp_inbound,
    health,
    notifications,
    orders,
    plans,
    reports,
    settings,
    sync,
    tracking,
    users,
    visits,
)

log = logging.getLogger("sfa.api.access")

DESCRIPTION = """Field sales force automation API.

Authenticate with `POST /v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <access_token>`; machine clients (ERP) send `X-API-Key`.
Errors have the body `{"error": {"code", "message", "hint"?, "details"?}}`.
"""


def create_app() -> FastAPI:
    app = FastAPI(title="SFA backend", version="0.1.0", description=DESCRIPTION)
    errors.install(app)
    for module in (health, auth, users, customers, settings, visits, tracking, analytics,
                   reports, plans, catalog, orders, notifications, sync, erp_inbound):
        app.include_router(module.router)

    @app.middleware("http")
    async def access_log(request: Request, call_next):
        # Logs method, path, status and time; never headers or bodies (they carry secrets).
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex[:16]
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["X-Request-ID"] = request_id
        log.info("%s %s %s %.1fms rid=%s", request.method, request.url.path,
                 response.status_code, (time.perf_counter() - started) * 1000, request_id)
        return response

    return app


app = create_app()
