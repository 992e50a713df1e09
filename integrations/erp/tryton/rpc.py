"""The JSON-RPC client: login, session renewal, one call at a time per request."""

from __future__ import annotations

import base64
import datetime as dt
import email.utils
import itertools
import logging
import threading
from collections.abc import Mapping
from typing import Any

import httpx

from integrations.erp.tryton import codec
from integrations.erp.tryton.faults import map_fault, short
from sfa.erp.connector import ErpMisconfigured, ErpRejected, ErpUnavailable

log = logging.getLogger("integrations.erp.tryton")


class SessionExpired(Exception):
    """HTTP 401: the session is unknown to the server (expired or logged out)."""


class HttpStatus(ErpUnavailable):
    """Tryton (or whatever answers at the URL) replied with an HTTP error status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def safe_url(url: str) -> str:
    """scheme://host:port/path of a URL, never a user or password written into it."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.scheme}://{parsed.host}{port}{parsed.path}"


class TrytonRpc:
    """A small thread-safe Tryton JSON-RPC client.

    ``call`` maps every failure to ``ErpUnavailable`` (transient) or
    ``ErpRejected`` (permanent). It logs in lazily and again when the session
    expired.
    """

    def __init__(
        self,
        base_url: str,
        database: str,
        login: str,
        password: str,
        *,
        timeout: float = 30.0,
        language: str = "en",
        client: httpx.Client | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.database = database
        self.url = f"{self.base_url}/{database}/rpc/"
        self._login = login
        self._password = password
        self._language = language
        self._client = client or httpx.Client(timeout=timeout)
        self._own_client = client is None
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._session: tuple[int, str] | None = None
        self._context: dict[str, Any] | None = None
        # A refused login is not tried again by this client: every failed attempt makes
        # Tryton wait longer before it answers the next (up to 2^n - 1 s, n = recent
        # failures) and, after [session] max_attempt, locks the login out.
        self._refused: ErpMisconfigured | None = None
        self.last_server_time: dt.datetime | None = None

    # -- session -----------------------------------------------------------

    def close(self) -> None:
        """Log out (best effort) and release the HTTP connections."""
        try:
            self.logout()
        finally:
            if self._own_client:
                self._client.close()

    def logout(self) -> None:
        """End the Tryton session (best effort)."""
        with self._lock:
            session, self._session = self._session, None
        if session is None:
            return
        try:
            self._post(self.url, "common.db.logout", [], auth=session)
        except (SessionExpired, ErpUnavailable, ErpRejected):
            log.debug("Tryton logout failed", exc_info=True)

    @property
    def login(self) -> str:
        return self._login

    @property
    def user_id(self) -> int:
        self._ensure_session()
        assert self._session
        return self._session[0]

    @property
    def context(self) -> dict[str, Any]:
        """The user's preferences context (company, language, ...)."""
        self._ensure_session()
        assert self._context is not None
        return dict(self._context)

    def _ensure_session(self) -> None:
        with self._lock:
            if self._refused is not None:
                raise self._refused
            if self._session is None:
                self._do_login()

    def _do_login(self) -> None:
        try:
            result = self._post(
                self.url,
                "common.db.login",
                [self._login, {"password": self._password}, self._language],
                auth=None,
            )
        except SessionExpired:
            result = None
        except HttpStatus as exc:
            raise self._login_failure(exc) from None
        if not result:
            self._refused = ErpMisconfigured(
                f"Tryton refused the login of {self._login!r} on database "
                f"{self.database!r}: check SFA_ERP_USER and SFA_ERP_PASSWORD (the user "
                "must exist in that database and be active)"
            )
            raise self._refused
        user_id, token = result[0], result[1]
        self._session = (int(user_id), str(token))
        try:
            context = self._post(
                self.url, "model.res.user.get_preferences", [True, {}], auth=self._session
            )
        except SessionExpired:
            self._session = None
            raise ErpUnavailable("Tryton session refused right after login") from None
        # keep only plain context keys (drop "company.rec_name", locale, ...)
        self._context = {k: v for k, v in context.items() if "." not in k and k != "locale"}

    def _login_failure(self, exc: HttpStatus) -> ErpUnavailable:
        """What an HTTP error answer to the login means, in the settings' words."""
        if exc.status == 404:
            self._refused = ErpMisconfigured(
                f"Tryton has no database {self.database!r} (HTTP 404 at "
                f"{safe_url(self.url)}): set SFA_ERP_DATABASE to the name of the Tryton "
                "database the sync uses"
            )
            return self._refused
        if exc.status == 405:
            self._refused = ErpMisconfigured(
                f"no Tryton database API at {safe_url(self.url)} (HTTP 405): SFA_ERP_URL "
                "must be the server's root, e.g. http://erp.example.com:8000, without a path"
            )
            return self._refused
        if exc.status == 429:
            return ErpUnavailable(
                f"Tryton refuses logins of {self._login!r} for now (HTTP 429, too many "
                "failed attempts): fix SFA_ERP_PASSWORD if it is wrong and wait for "
                "Tryton's [session] timeout"
            )
        return exc

    # -- calls -------------------------------------------------------------

    def call(self, method: str, *params: Any, context: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` with ``params`` plus the context as last param."""
        for attempt in range(2):
            self._ensure_session()
            session, base_context = self._session, self._context
            ctx = dict(base_context or {})
            if context:
                ctx.update(context)
            try:
                return self._post(self.url, method, [*params, ctx], auth=session)
            except SessionExpired:
                with self._lock:
                    if self._session == session:
                        self._session = None
                if attempt:
                    raise ErpUnavailable(
                        f"Tryton keeps refusing the session for {method}"
                    ) from None
        raise AssertionError("unreachable")

    def model(
        self, model: str, method: str, *params: Any, context: Mapping[str, Any] | None = None
    ) -> Any:
        return self.call(f"model.{model}.{method}", *params, context=context)

    def server_version(self) -> str:
        url = f"{self.base_url}/rpc/"
        hint = "SFA_ERP_URL must be the server's root, e.g. http://erp.example.com:8000"
        try:
            version = self._post(url, "common.server.version", [], auth=None)
        except SessionExpired:
            raise ErpMisconfigured(
                f"{safe_url(url)} asks for a login: SFA_ERP_URL points to a database, not "
                f"to the server ({hint}; the database goes in SFA_ERP_DATABASE)"
            ) from None
        except HttpStatus as exc:
            if exc.status in (404, 405):
                raise ErpMisconfigured(
                    f"no Tryton server answers at {safe_url(url)} (HTTP {exc.status}): {hint}"
                ) from None
            raise
        if not isinstance(version, str):
            raise ErpMisconfigured(f"the server at {safe_url(url)} is not a Tryton server")
        return version

    def server_time(self) -> dt.datetime:
        """The ERP's current time (naive UTC, second precision)."""
        self.server_version()
        if self.last_server_time is None:
            log.warning("Tryton sent no Date header; using the local clock")
            return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        return self.last_server_time

    def _post(
        self, url: str, method: str, params: list[Any], *, auth: tuple[int, str] | None
    ) -> Any:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if auth is not None:
            token = f"{self._login}:{auth[0]}:{auth[1]}".encode()
            headers["Authorization"] = "Session " + base64.b64encode(token).decode()
        body = codec.dumps({"id": next(self._ids), "method": method, "params": params})
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ErpUnavailable(f"Tryton did not answer {method} in time: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise ErpUnavailable(
                f"cannot reach Tryton at {safe_url(url)} ({method}): {exc!r}"
            ) from exc
        self._remember_date(response)
        status = response.status_code
        if status == 401:
            raise SessionExpired()
        if status == 429 or status >= 500 or status in (403, 404, 405, 408, 423):
            raise HttpStatus(f"Tryton answered HTTP {status} to {method}", status)
        if status >= 400:
            raise ErpRejected(
                f"Tryton refused {method} (HTTP {status})",
                code="bad_request",
                detail=short(response.text),
            )
        try:
            payload = codec.loads(response.text)
        except ValueError as exc:
            raise ErpUnavailable(
                f"the server sent a non-JSON answer to {method} (not Tryton's JSON-RPC?)"
            ) from exc
        if not isinstance(payload, dict):
            raise ErpUnavailable(f"unexpected Tryton answer to {method}")
        if payload.get("error") is not None:
            raise map_fault(method, payload["error"])
        return payload.get("result")

    def _remember_date(self, response: httpx.Response) -> None:
        header = response.headers.get("date")
        if not header:
            return
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError):
            return
        if when.tzinfo is not None:
            when = when.astimezone(dt.UTC).replace(tzinfo=None)
        self.last_server_time = when
