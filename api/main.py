"""The FastAPI application."""

import gc
import logging
import time
import uuid
from contextlib import asynccontextmanager
from urllib.parse import unquote_plus

import anyio.to_thread
from fastapi import FastAPI
from fastapi.routing import APIRoute

from api import console, docs, errors
from api.gate import CredentialGate
from api.ratelimit import RateLimitHeaders
from api.routers import (
    analytics,
    auth,
    catalog,
    contracts,
    crm_reports,
    customers,
    erp_inbound,
    events,
    exports,
    health,
    notifications,
    offline,
    orders,
    pipeline,
    plans,
    purchase_orders,
    reports,
    settings,
    surveys,
    sync,
    tax_invoices,
    tracking,
    users,
    visits,
    webhooks,
    workflow_runs,
    workflows,
)
from api.schemas.common import ERROR_RESPONSES
from api.tenancy import CompanyRouter
from integrations.erp import health as erp_health
from sfa.auth import principal_cache
from sfa.config import get_settings
from sfa.db import libpq_url
from sfa.tenants.engines import get_engines
from sfa.tenants.models import Tenant
from sfa.workflows import consumer as workflow_consumer  # noqa: F401 - registers it (at emit)

log = logging.getLogger("sfa.api.access")


# Query and path parameters that are credentials (a tracker's device id is its password),
# tokens, or a person's whereabouts: logged as "***".
SECRET_PARAMS = frozenset(
    {
        "id",
        "deviceid",
        "device_id",
        "token",
        "access_token",
        "refresh_token",
        "api_key",
        "key",
        "password",
        "lat",
        "lon",
        "location",
    }
)


def loggable_target(scope) -> str:
    """The request's path and query as the access log writes them: the values of
    SECRET_PARAMS replaced, in the path (by the matched route's parameter names) and in
    the query string."""
    path = scope["path"]
    route = scope.get("route")
    params = scope.get("path_params") or {}
    if route is not None and any(name in SECRET_PARAMS for name in params):
        shown = {k: "***" if k in SECRET_PARAMS else v for k, v in params.items()}
        path = getattr(route, "path_format", route.path).format(**shown)
    query = scope.get("query_string", b"").decode("latin-1")
    if not query:
        return path
    parts = []
    for part in query.split("&"):
        name, sep, _ = part.partition("=")
        parts.append(
            f"{name}{sep}***" if sep and unquote_plus(name).lower() in SECRET_PARAMS else part
        )
    return f"{path}?{'&'.join(parts)}"


class AccessLog:
    """Pure ASGI access log (method, path and query without credentials, status, time,
    X-Request-ID; never headers or bodies, which carry secrets). It replaces uvicorn's
    own access log, which `sfa serve` turns off (it writes whole query strings). Not
    @app.middleware("http"): BaseHTTPMiddleware costs a task group, memory streams and a
    wrapped receive per request."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request_id = (
            next((v.decode("latin-1") for k, v in scope["headers"] if k == b"x-request-id"), None)
            or uuid.uuid4().hex[:16]
        )
        started = time.perf_counter()
        status = 500

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", ()),
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            log.info(
                "%s %s %s %.1fms rid=%s",
                scope["method"],
                loggable_target(scope),
                status,
                (time.perf_counter() - started) * 1000,
                request_id,
            )


DESCRIPTION = """Field sales force automation API.

Authenticate with `POST /v1/auth/token` (OAuth2 password form) and send
`Authorization: Bearer <access_token>`; machine clients (ERP) send `X-API-Key`.
Errors have the body `{"error": {"code", "message", "hint"?, "details"?}}`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.api_threads
    # Requests holding a session at once (see api.deps.session_dependency).
    app.state.transactions = anyio.CapacityLimiter(settings.db_pool_size)
    # Everything loaded so far (modules, the app, mappers, pydantic schemas: ~170k objects)
    # lives as long as the process; a full collection traversing it stops every request
    # for ~40 ms and more. Frozen objects are left out of collections.
    gc.collect()
    gc.freeze()
    # LISTEN needs a session of its own, which a transaction-mode pooler does not give:
    # behind one, every request reads its principal (docs/scaling.md).
    if not settings.db_transaction_pooler:
        principal_cache.cache.start(libpq_url(settings.database_url))
    # The registry's companies: each gets its own principal cache while this process has
    # it open, and the pools of companies left unused are closed (sfa/tenants/engines.py).
    engines = get_engines()
    if not settings.db_transaction_pooler:
        engines.on_open, engines.on_close = _listen_for, _stop_listening
    engines.start_sweeper()
    # The ERP settings are checked now, and their problems logged with their fixes; in
    # the background: a slow or absent ERP must not hold up the API.
    erp_health.log_at_start_in_background(settings)
    try:
        yield
    finally:
        principal_cache.cache.stop()
        engines.stop_sweeper()
        engines.close_all()
        engines.on_open = engines.on_close = None


def _listen_for(tenant: Tenant) -> None:
    principal_cache.cache.start(libpq_url(tenant.database_url), company=tenant.slug)


def _stop_listening(tenant: Tenant) -> None:
    principal_cache.cache.stop(company=tenant.slug)


# Request bodies larger than this are refused with 413 before they are read (Content-Length)
# or as soon as they pass it (chunked); routes that take more say so (pings, GPX, ERP).
MAX_BODY_BYTES = 1024 * 1024


def operation_id(route: APIRoute) -> str:
    return route.name


def create_app() -> FastAPI:
    app = FastAPI(
        title="SFA backend",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served from this package by api.docs, not from a CDN
        redoc_url=None,
        # operationId = the endpoint's function name ("list_visits", "check_in"): stable
        # and readable for generated clients; tests/e2e/test_generated_client.py checks
        # they are unique.
        generate_unique_id_function=operation_id,
    )
    errors.install(app)
    docs.install(app)
    # Routes are tried in order (~1 µs each); the mobile app's hot paths come first. No two
    # routers' paths overlap, so the order changes nothing else.
    for module in (
        health,
        visits,
        tracking,
        auth,
        users,
        customers,
        settings,
        analytics,
        reports,
        plans,
        catalog,
        orders,
        notifications,
        offline,
        sync,
        erp_inbound,
        exports,
        contracts,
        pipeline,
        surveys,
        crm_reports,
        purchase_orders,
        tax_invoices,
        events,
        webhooks,
        workflow_runs,
        workflows,
    ):
        # The default for routers and routes that set no limit of their own. Not the
        # app's max_body_size: that limiter sits outside our middleware, where its plain
        # text 413 could not be put in the error envelope (api/gate.py).
        app.include_router(module.router, max_body_size=MAX_BODY_BYTES, responses=ERROR_RESPONSES)
    console.install(app)  # the manager web console at /console (api/console)

    app.add_middleware(CredentialGate)
    app.add_middleware(RateLimitHeaders)
    # Outside the gate: the gate checks a token against the company the request is for.
    app.add_middleware(CompanyRouter)
    app.add_middleware(AccessLog)
    return app


app = create_app()
