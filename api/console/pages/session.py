"""Logging in and out of the console, and the language switch."""

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from api.console import i18n
from api.console.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    ConsoleRoute,
    CsrfDep,
    CsrfRefused,
    browser_language,
    read_form,
    render_public,
    same_origin,
    set_cookie,
    tokens_match,
)
from api.deps import SessionDep
from api.schemas.common import Text
from sfa.auth import console_sessions
from sfa.errors import Forbidden, LoginFailed, Throttled

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

HOME = "/console/today"


def _safe_next(target: str | None) -> str:
    """Only our own console pages: never an open redirect to another site."""
    if target and target.startswith("/console") and not target.startswith("//"):
        return target
    return HOME


def _lang(request: Request, lang: str | None) -> str:
    return lang if lang in i18n.LANGUAGES else browser_language(request)


def _login_page(request: Request, lang: str, next_: str, status_code=200, **values) -> Response:
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render_public(
        request,
        "login.html",
        lang,
        status_code=status_code,
        login_csrf=token,
        next=next_,
        **values,
    )
    set_cookie(response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get("")
def home():
    return RedirectResponse(HOME, status_code=303)


@router.get("/login")
def login_form(request: Request, next: Text | None = None, lang: Text | None = None):
    return _login_page(request, _lang(request, lang), _safe_next(next))


@router.post("/login")
def login(
    request: Request,
    db: SessionDep,
    form: Annotated[FormData, Depends(read_form)],
    lang: Text | None = None,
):
    language = _lang(request, lang)
    t = i18n.translator(language)

    def field(name: str, max_length: int) -> str:
        value = form.get(name)
        return value[:max_length] if isinstance(value, str) else ""

    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not same_origin(request) or not tokens_match(field("csrf_token", 100), expected):
        raise CsrfRefused("the login form's security token is missing or out of date")
    target = _safe_next(field("next", 500))
    username, password = field("username", 80), field("password", 200)
    try:
        opened = console_sessions.open_session(
            db,
            username=username,
            password=password,
            client=request.client.host if request.client else None,
        )
    except LoginFailed:
        error, status = t("login.failed"), 401
    except Throttled:
        error, status = t("login.throttled"), 429
    except Forbidden:
        error, status = t("login.rep"), 403
    else:
        response = RedirectResponse(target, status_code=303)
        set_cookie(
            response,
            SESSION_COOKIE,
            opened.token,
            max_age=console_sessions.SESSION_HOURS * 3600,
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
        return response
    return _login_page(
        request, language, target, status_code=status, error=error, username=username
    )


@router.post("/logout")
def logout(request: Request, console: CsrfDep):
    console_sessions.close_session(console.db, token=request.cookies[SESSION_COOKIE])
    response = RedirectResponse(f"/console/login?lang={console.lang}", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response


@router.post("/language")
def language(console: CsrfDep):
    chosen = console.field("language", max_length=8)
    if chosen in i18n.LANGUAGES:
        console_sessions.set_language(console.db, row=console.web_session, language=chosen)
    return RedirectResponse(_safe_next(console.field("next", max_length=500)), status_code=303)
