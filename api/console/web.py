"""What every console page stands on: the cookie session, CSRF checks, HTML errors and
template rendering.

A page is a router module under `api/console/pages/` (see docs/console.md): its
endpoints take `ConsoleDep` (a logged-in manager or admin; anyone else is sent to the
login page or refused) and, for every POST, `CsrfDep` instead, and answer with
`render(console, "template.html", ...)`.
"""

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from api.console import i18n
from api.deps import SessionDep
from api.errors import status_for
from sfa.auth import console_sessions
from sfa.auth.models import ConsoleSession
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.config import get_settings
from sfa.errors import DomainError, Forbidden, Unauthenticated

log = logging.getLogger("sfa.console")

HERE = Path(__file__).parent
SESSION_COOKIE = "sfa_console"
# Before login there is no session: the login form is protected by a double-submit token.
LOGIN_CSRF_COOKIE = "sfa_console_login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

templates = Jinja2Templates(directory=HERE / "templates")


class LoginRequired(Exception):
    """No live console session: the browser goes to the login page."""


class CsrfRefused(Forbidden):
    code = "csrf_refused"


def secure_cookies() -> bool:
    """Secure cookies everywhere but on a developer's machine (plain http://127.0.0.1)."""
    return get_settings().env != "development"


def set_cookie(response: Response, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/console",
        httponly=True,
        samesite="lax",
        secure=secure_cookies(),
    )


def browser_language(request: Request) -> str:
    accept = request.headers.get("accept-language", "").lower()
    return "en" if accept.startswith("en") else "id"


@dataclass
class Console:
    """The logged-in manager or admin of this request, with what pages need to render."""

    request: Request
    db: Session
    principal: Principal
    web_session: ConsoleSession
    settings: CompanySettings
    lang: str
    # The submitted form of a POST, read only once the session and origin are checked.
    form: FormData | None = None

    def field(self, name: str, default: str = "", max_length: int = 1000) -> str:
        value = self.form.get(name) if self.form is not None else None
        return value[:max_length] if isinstance(value, str) else default

    @property
    def tz(self) -> ZoneInfo:
        return self.settings.tz

    @property
    def t(self) -> Callable[..., str]:
        return i18n.translator(self.lang)

    @property
    def is_admin(self) -> bool:
        return self.principal.is_admin

    def now(self) -> datetime:
        return datetime.now(self.tz)


def console_context(request: Request, db: SessionDep) -> Console:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        raise LoginRequired
    try:
        row, principal = console_sessions.resume(db, token=token)
    except Unauthenticated as exc:
        raise LoginRequired from exc
    settings = company_service.get_company_settings(db)
    lang = row.language if row.language in i18n.LANGUAGES else settings.language
    lang = lang if lang in i18n.LANGUAGES else "en"
    request.state.console_lang = lang
    return Console(request, db, principal, row, settings, lang)


ConsoleDep = Annotated[Console, Depends(console_context)]


def same_origin(request: Request) -> bool:
    """A browser's POST names where it comes from; another site's page is refused even
    before the token is compared (the token alone would do; this costs nothing)."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host")


async def read_form(request: Request) -> FormData:
    """A console form: a few short fields, never files (the parser stops beyond that)."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return await request.form(max_files=0, max_fields=50, max_part_size=64 * 1024)
    return FormData()


def sent_csrf_token(request: Request, form: FormData) -> str:
    value = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def tokens_match(sent: str, expected: str) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), expected.encode())


async def csrf_checked(request: Request, console: ConsoleDep) -> Console:
    """Every state-changing console request: the session's token in the form field
    `csrf_token` or the `X-CSRF-Token` header (htmx), from our own origin. The body is
    read only after the session was found (an anonymous POST is redirected unread)."""
    console.form = await read_form(request)
    if not same_origin(request) or not tokens_match(
        sent_csrf_token(request, console.form), console.web_session.csrf_token
    ):
        raise CsrfRefused(
            "the request was refused: its security token is missing or out of date",
            hint="reload the page and try again",
        )
    return console


CsrfDep = Annotated[Console, Depends(csrf_checked)]


def _filters(env) -> None:
    env.filters["km"] = lambda metres: f"{(metres or 0) / 1000:.1f}"
    env.filters["pct"] = lambda share: "–" if share is None else f"{share * 100:.0f} %"
    env.filters["minutes"] = lambda seconds: "–" if seconds is None else f"{seconds / 60:.0f}"
    env.filters["money"] = lambda value: "–" if value is None else f"{value:,.0f}"


_filters(templates.env)


def render(
    console: Console, name: str, status_code: int = 200, headers: dict | None = None, **values: Any
) -> HTMLResponse:
    from api.console.nav import nav_for  # the registry imports the pages, which import this

    tz = console.tz

    def local(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        return value.astimezone(tz).strftime(fmt) if value else "–"

    context = {
        "console": console,
        "t": console.t,
        "lang": console.lang,
        "local": local,
        "nav": nav_for(console),
        "csrf_token": console.web_session.csrf_token,
        "path": console.request.url.path,
        "tile_url": console.settings.console_tile_url,
        **values,
    }
    return templates.TemplateResponse(
        console.request, name, context, status_code=status_code, headers=headers
    )


def render_public(
    request: Request, name: str, lang: str, status_code: int = 200, **values: Any
) -> HTMLResponse:
    """A page without a session (login, errors before login)."""
    context = {"t": i18n.translator(lang), "lang": lang, "nav": [], "console": None, **values}
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def login_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = f"/console/login?next={quote(target, safe='')}"
    if request.headers.get("hx-request"):
        # htmx swaps responses in place: tell it to load the login page instead.
        return Response(status_code=204, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


class ConsoleRoute(APIRoute):
    """Console endpoints answer with pages, never JSON: no session is a redirect to the
    login page; a domain error (not found, forbidden, conflict, ...) is an error page
    with the same status and message the JSON API would give."""

    def get_route_handler(self):
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except RequestValidationError as exc:
                lang = getattr(request.state, "console_lang", None) or browser_language(request)
                problems = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}" for e in exc.errors()
                )
                return render_public(
                    request, "error.html", lang, status_code=422, message=problems, hint=None
                )
            except DomainError as exc:
                lang = getattr(request.state, "console_lang", None) or browser_language(request)
                t = i18n.translator(lang)
                message = t("error.csrf") if isinstance(exc, CsrfRefused) else exc.message
                return render_public(
                    request,
                    "error.html",
                    lang,
                    status_code=status_for(exc),
                    message=message,
                    hint=None if isinstance(exc, CsrfRefused) else exc.hint,
                )

        return guarded
