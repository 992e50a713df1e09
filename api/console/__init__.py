"""The manager web console at /console: server-rendered pages (Jinja2 + htmx) and
Leaflet maps, on the same services and visibility rules as the JSON API.

It is an entrypoint like `api/routers`: pages call `sfa`/`analytics` services, never SQL.
"""

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api.console.nav import page_modules
from api.console.web import HERE


def install(app: FastAPI) -> None:
    for module in page_modules():
        # Forms of a few fields: a larger body is refused (413) before it is read.
        app.include_router(module.router, max_body_size=64 * 1024)
    app.mount("/console/static", StaticFiles(directory=HERE / "static"), name="console-static")


def routes() -> list[tuple[str, str]]:
    """Every console endpoint as (method, path): HTML pages are not in the OpenAPI schema,
    so tests/e2e/test_access_every_route.py lists them from here."""
    return sorted(
        (method, route.path)
        for module in page_modules()
        for route in module.router.routes
        for method in route.methods
    )
