"""Which company a request is for, decided from its headers before anything else is read
(docs/tenancy.md).

The company is named by the host (`acme.sfa.example` is `acme` when SFA_TENANT_BASE_DOMAIN
is `sfa.example`) or, for API clients, by an `X-Company` header; a request that names no
company is the default company's (SFA_DATABASE_URL), as in a single-company deployment.
This pure ASGI layer, outside the credential gate, answers at once in the error envelope,
before a byte of the body is read: 404 for a company the registry does not know, 403 for
a disabled one, 400 when host and header disagree, 503 when the registry does not answer.
Otherwise the rest of the request runs bound to the company's database (sfa/db.py
`bound`), and everything downstream — sessions, the replica, tokens, the principal cache,
the settings — is that company's.
"""

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse

from api.errors import error_body
from sfa.config import get_settings
from sfa.db import bound
from sfa.tenants.engines import TenantEngines, get_engines
from sfa.tenants.models import Tenant
from sfa.tenants.registry import Registry, RegistryUnavailable, get_registry

HEADER = b"x-company"
# Liveness says the process answers, whatever company is asked for.
UNROUTED_PATHS = frozenset({"/healthz"})
_HINT = (
    "use the company's own address (<company>.<base domain>) or send 'X-Company: <company>'; "
    "ask your provider for the company's name"
)


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key == name:
            return value.decode("latin-1").strip().lower()
    return None


def requested_company(
    headers: list[tuple[bytes, bytes]], base_domain: str | None
) -> tuple[str | None, str | None]:
    """(the company the request names or None, a problem or None)."""
    named = _header(headers, HEADER) or None
    from_host = None
    host = _header(headers, b"host") or ""
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if base_domain:
        base = base_domain.strip().lower().strip(".")
        if host.endswith("." + base):
            from_host = host[: -len(base) - 1]
    if named and from_host and named != from_host:
        return None, (f"the host names company {from_host!r} but the X-Company header {named!r}")
    return named or from_host, None


def _refusal(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(code, message, hint=_HINT), status_code=status, headers=headers)


class CompanyRouter:
    def __init__(
        self, app, *, registry: Registry | None = None, engines: TenantEngines | None = None
    ):
        self.app = app
        self._registry, self._engines = registry, engines

    @property
    def registry(self) -> Registry:
        return self._registry or get_registry()

    @property
    def engines(self) -> TenantEngines:
        return self._engines or get_engines()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] in UNROUTED_PATHS:
            return await self.app(scope, receive, send)
        slug, problem = requested_company(scope["headers"], get_settings().tenant_base_domain)
        if problem is not None:
            return await _refusal(400, "company_conflict", problem)(scope, receive, send)
        try:
            tenant = await self._tenant(slug)
        except RegistryUnavailable:
            refusal = _refusal(
                503, "unavailable", "the company registry does not answer", **{"Retry-After": "5"}
            )
            return await refusal(scope, receive, send)
        if tenant is None:
            refusal = _refusal(404, "unknown_company", f"there is no company {slug!r} here")
            return await refusal(scope, receive, send)
        if not tenant.active:
            self.engines.close(tenant.slug)
            refusal = _refusal(403, "company_disabled", f"company {slug!r} is disabled")
            return await refusal(scope, receive, send)
        with bound(self.engines.binding(tenant)):
            return await self.app(scope, receive, send)

    async def _tenant(self, slug: str | None) -> Tenant | None:
        if slug is None:
            return Registry.default()
        known, tenant = self.registry.cached(slug)
        if known:
            return tenant
        # A registry read is a query: on a worker thread, not the event loop.
        return await run_in_threadpool(self.registry.lookup, slug)
