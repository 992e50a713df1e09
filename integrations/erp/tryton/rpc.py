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
from sfa.erp.connector import ErpRejected, ErpUnavailable

log = logging.getLogger("integrations.erp.tryton")


class SessionExpired(Exception):
    """HTTP 401: the session is unknown to the server (expired or logged out)."""


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
            raise ErpUnavailable(
                f"Tryton refused the login of {self._login!r} on database "
                f"{self.database!r}: check the credentials"
            ) from None
        if not result:
            raise ErpUnavailable(f"Tryton refused the login of {self._login!r}")
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
        return self._post(f"{self.base_url}/rpc/", "common.server.version", [], auth=None)

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
            raise ErpUnavailable(f"cannot reach Tryton at {url} ({method}): {exc!r}") from exc
        self._remember_date(response)
        status = response.status_code
        if status == 401:
            raise SessionExpired()
        if status == 429 or status >= 500 or status in (403, 404, 408, 423):
            raise ErpUnavailable(
                f"Tryton answered HTTP {status} to {method}: {short(response.text)}"
            )
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
                f"Tryton sent a non-JSON answer to {method}: {short(response.text)}"
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
