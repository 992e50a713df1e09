"""/docs with Swagger UI from this package (api/static/swagger-ui), not from a CDN: the
page works on a machine without internet, and calls no other host."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
_ASSETS = "/static/swagger-ui"


def install(app: FastAPI) -> None:
    """Call with an app made with docs_url=None and redoc_url=None."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("/docs shows the OpenAPI document: the app must publish one")
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    redirect = "/docs/oauth2-redirect"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui():
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} — API docs",
            swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png",
            oauth2_redirect_url=redirect,
        )

    @app.get(redirect, include_in_schema=False)
    async def swagger_ui_redirect():
        return get_swagger_ui_oauth2_redirect_html()
