"""Tryton (8.2 series) ERP connector over JSON-RPC.

Protocol, as served by ``trytond`` 8.x (``trytond/protocols/dispatcher.py``):

* every call is ``POST http://host:port/<database>/rpc/`` with the JSON body
  ``{"id": n, "method": ..., "params": [...]}`` (the ``/rpc/`` suffix is new
  compared to old Tryton versions, which served ``/<database>/``);
* ``common.db.login(login, {"password": ...}, language)`` returns
  ``[user_id, session_token, bus_url]``; later calls send
  ``Authorization: Session base64("<login>:<user_id>:<token>")``. Sessions
  expire after ``[session] timeout`` seconds of inactivity (HTTP 401): the
  client logs in again once and repeats the call;
* model calls are ``model.<model name>.<method>`` and wizards
  ``wizard.<wizard name>.create|execute|delete``; the **last positional
  parameter is always the context**, which must carry the user's preferences
  (``model.res.user.get_preferences(True, {})``: company, language, ...);
* values are JSON with Tryton's extensions: ``Decimal``, ``date``,
  ``datetime``, ``timedelta`` and ``bytes`` are objects with a ``__class__``
  key; reads of related fields use dotted names (``"template.write_date"``)
  and come back as nested dicts under ``"template."``;
* errors come back with HTTP 200 as ``{"error": [...]}``: ``["UserError",
  [message, description, domain]]``, ``["UserWarning", [name, message,
  description]]``, ``["ConcurrencyException", message]`` or ``[str(exc),
  traceback]`` for anything else; transport-level problems are HTTP statuses
  (401 session, 403 forbidden, 429 rate limit, 503 database locked, ...).

Order push: ``sale.sale`` is created in draft with ``reference`` = our order
id, header values completed the way the Tryton client does it
(``on_change`` of ``party``: addresses, payment term, currency) and lines
completed with ``sale.line.on_change`` of ``product`` (taxes, incl. the
party's tax rules); our prices then replace Tryton's. Then ``quote`` and
``confirm`` (buttons, one transaction each). With the default sale
configuration (invoice method "on order processed") confirming processes the
sale and creates the draft customer invoice.

Incremental pulls: a *scan* pages through the records changed since the
previous scan (``last_modified_at`` = COALESCE(write_date, create_date), also
of related records such as a product's template) in id order; a scan's start
time is read from the ERP's clock (the HTTP ``Date`` header) before its first
page, and becomes the lower bound of the next scan, minus ``overlap`` to
cover transactions that started before but committed after it.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import email.utils
import itertools
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, TypeVar

import httpx

from sfa.erp.connector import (
    ErpCursor,
    ErpCustomer,
    ErpInvoice,
    ErpPage,
    ErpPayment,
    ErpProduct,
    ErpRejected,
    ErpSale,
    ErpSaleLine,
    ErpSaleRef,
    ErpTax,
    ErpUnavailable,
)

__all__ = ["TrytonConnector", "TrytonRpc"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Tryton's default price precision (``[product] price_decimal`` = 4)
PRICE_QUANTUM = Decimal("0.0001")
#: messages of server faults that are worth a retry
_TRANSIENT_FAULTS = (
    "database is locked",
    "OperationalError",
    "TimeOutException",
    "could not serialize",
    "deadlock detected",
    "TransactionError",
)


# -- Tryton JSON codec ---------------------------------------------------------


def _encode(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, dt.datetime):
        return {
            "__class__": "datetime",
            "year": obj.year,
            "month": obj.month,
            "day": obj.day,
            "hour": obj.hour,
            "minute": obj.minute,
            "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, dt.time):
        return {
            "__class__": "time",
            "hour": obj.hour,
            "minute": obj.minute,
            "second": obj.second,
            "microsecond": obj.microsecond,
        }
    if isinstance(obj, dt.timedelta):
        return {"__class__": "timedelta", "seconds": obj.total_seconds()}
    if isinstance(obj, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(obj).decode()}
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} for Tryton")


def _decode(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind is None:
        return obj
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "datetime":
        return dt.datetime(
            obj["year"],
            obj["month"],
            obj["day"],
            obj["hour"],
            obj["minute"],
            obj["second"],
            obj["microsecond"],
        )
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


class _SessionExpired(Exception):
    pass


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
        except (_SessionExpired, ErpUnavailable, ErpRejected):
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
        except _SessionExpired:
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
        except _SessionExpired:
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
            except _SessionExpired:
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
        body = json.dumps(
            {"id": next(self._ids), "method": method, "params": params},
            default=_encode,
            separators=(",", ":"),
        )
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ErpUnavailable(f"Tryton did not answer {method} in time: {exc!r}") from exc
        except httpx.TransportError as exc:
            raise ErpUnavailable(f"cannot reach Tryton at {url} ({method}): {exc!r}") from exc
        self._remember_date(response)
        status = response.status_code
        if status == 401:
            raise _SessionExpired()
        if status == 429 or status >= 500 or status in (403, 404, 408, 423):
            raise ErpUnavailable(
                f"Tryton answered HTTP {status} to {method}: {_short(response.text)}"
            )
        if status >= 400:
            raise ErpRejected(
                f"Tryton refused {method} (HTTP {status})",
                code="bad_request",
                detail=_short(response.text),
            )
        try:
            payload = json.loads(response.text, object_hook=_decode)
        except ValueError as exc:
            raise ErpUnavailable(
                f"Tryton sent a non-JSON answer to {method}: {_short(response.text)}"
            ) from exc
        if not isinstance(payload, dict):
            raise ErpUnavailable(f"unexpected Tryton answer to {method}")
        if payload.get("error") is not None:
            raise _map_fault(method, payload["error"])
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


def _short(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _map_fault(method: str, error: Any) -> Exception:
    if isinstance(error, list | tuple) and error:
        kind = error[0]
        args = error[1] if len(error) > 1 else None
        if kind == "UserError":
            message, description = "", ""
            if isinstance(args, list | tuple):
                message = str(args[0]) if args else ""
                description = str(args[1] or "") if len(args) > 1 else ""
            return ErpRejected(
                message or f"Tryton refused {method}", code="user_error", detail=description
            )
        if kind == "UserWarning":
            name, message, description = "", "", ""
            if isinstance(args, list | tuple):
                name = str(args[0]) if args else ""
                message = str(args[1]) if len(args) > 1 else ""
                description = str(args[2] or "") if len(args) > 2 else ""
            return ErpRejected(
                message or f"Tryton asks to confirm a warning ({name})",
                code="warning",
                detail=f"{name}: {description}".strip(": "),
            )
        if kind == "ConcurrencyException":
            return ErpUnavailable(f"concurrent update in Tryton during {method}: {args}")
        if kind == "LoginException":
            return ErpUnavailable(f"Tryton asks for more login parameters ({args})")
        text = str(kind)
        if any(marker in text for marker in _TRANSIENT_FAULTS):
            return ErpUnavailable(f"Tryton fault during {method}: {text}")
        # An unexpected server fault: nothing says the request itself is
        # wrong, so let the caller retry (with backoff) and alert.
        return ErpUnavailable(f"Tryton server error during {method}: {_short(text)}")
    return ErpUnavailable(f"unexpected Tryton error during {method}: {error}")


# -- cursors -------------------------------------------------------------------

_CURSOR_PREFIX = "tryton1."


@dataclass(frozen=True)
class _Scan:
    kind: str
    since: dt.datetime | None  # lower bound of the scan (ERP time, UTC)
    started: dt.datetime | None  # ERP time when the scan began
    after_id: int = 0

    def encode(self) -> ErpCursor:
        raw = json.dumps(
            {
                "k": self.kind,
                "s": self.since.isoformat() if self.since else None,
                "t": self.started.isoformat() if self.started else None,
                "a": self.after_id,
            },
            separators=(",", ":"),
        )
        return _CURSOR_PREFIX + base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, kind: str, cursor: ErpCursor | None) -> _Scan:
        if not cursor:
            return cls(kind, None, None, 0)
        if not cursor.startswith(_CURSOR_PREFIX):
            raise ValueError(f"not a Tryton cursor: {cursor!r}")
        data = cursor[len(_CURSOR_PREFIX) :]
        try:
            raw = json.loads(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
            scan = cls(
                raw["k"],
                dt.datetime.fromisoformat(raw["s"]) if raw["s"] else None,
                dt.datetime.fromisoformat(raw["t"]) if raw["t"] else None,
                int(raw["a"]),
            )
        except (ValueError, KeyError, TypeError, binascii.Error) as exc:
            raise ValueError(f"invalid Tryton cursor: {cursor!r}") from exc
        if scan.kind != kind:
            raise ValueError(f"cursor of {scan.kind!r} used to pull {kind!r}")
        return scan


# -- the connector ----------------------------------------------------------------

_SALE_FIELDS = [
    "reference",
    "number",
    "state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
]
_SALE_HEADER_FIELDS = (
    "party",
    "invoice_party",
    "invoice_address",
    "shipment_party",
    "shipment_address",
    "payment_term",
    "currency",
    "company",
    "warehouse",
    "invoice_method",
    "shipment_method",
    "sale_date",
    "lines",
)
_CONFIRMED = ("confirmed", "processing", "done")


class TrytonConnector:
    """``sfa.erp.connector.ErpConnector`` for a Tryton 8.2 server.

    ``base_url`` is ``http://host:port`` (no database); ``login`` should be
    a dedicated Tryton user in the groups Sales and Accounting whose current
    company is the one to sync. ``overlap`` is how far back each incremental
    scan looks before the previous scan's start (at-least-once delivery).
    """

    def __init__(
        self,
        base_url: str,
        database: str,
        login: str,
        password: str,
        *,
        timeout: float = 30.0,
        overlap: dt.timedelta = dt.timedelta(minutes=5),
        language: str = "en",
        client: httpx.Client | None = None,
    ) -> None:
        self.rpc = TrytonRpc(
            base_url, database, login, password, timeout=timeout, language=language, client=client
        )
        self.overlap = overlap
        self._has_discount: bool | None = None
        self._currency_codes: dict[int, str | None] = {}

    def close(self) -> None:
        self.rpc.close()

    def __enter__(self) -> TrytonConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- orders out --------------------------------------------------------

    def find_sale(self, reference: str) -> ErpSaleRef | None:
        found = self._find_sales(reference)
        return _pick(found) if found else None

    def _find_sales(self, reference: str) -> list[ErpSaleRef]:
        ids = self.rpc.model(
            "sale.sale", "search", [("reference", "=", reference)], 0, None, [("id", "ASC")]
        )
        if not ids:
            return []
        records = self.rpc.model("sale.sale", "read", ids, _SALE_FIELDS)
        return [_sale_ref(r) for r in sorted(records, key=lambda r: r["id"])]

    def push_sale(self, order: ErpSale) -> ErpSaleRef:
        if not order.lines:
            raise ErpRejected(f"order {order.reference} has no lines", code="no_lines")
        existing = self.find_sale(order.reference)
        created = False
        if existing is None:
            values = self._sale_values(order)
            (sale_id,) = self.rpc.model("sale.sale", "create", [values])
            created = True
            # Two pushes of the same order racing each other both create a
            # draft: the lowest id wins, the others delete their own draft.
            existing = _pick(self._find_sales(order.reference))
            if int(existing.external_id) != sale_id:
                self._delete_draft(sale_id)
                created = False
        elif existing.state in ("draft", "quotation"):
            # left half-way by an earlier attempt: make it match the order
            sale_id = int(existing.external_id)
            if existing.state == "quotation":
                self.rpc.model("sale.sale", "draft", [sale_id])
            self._replace_draft(sale_id, order)
        if existing.state in _CONFIRMED or existing.state == "cancelled":
            return existing
        sale_id = int(existing.external_id)
        try:
            self.rpc.model("sale.sale", "quote", [sale_id])
            self.rpc.model("sale.sale", "confirm", [sale_id])
        except ErpRejected:
            if created:
                self._delete_draft(sale_id)
            raise
        ref = self._read_sale(sale_id)
        return dataclasses.replace(ref, created=created)

    def _read_sale(self, sale_id: int) -> ErpSaleRef:
        (record,) = self.rpc.model("sale.sale", "read", [sale_id], _SALE_FIELDS)
        return _sale_ref(record)

    def _delete_draft(self, sale_id: int) -> None:
        try:
            self.rpc.model("sale.sale", "delete", [sale_id])
        except (ErpRejected, ErpUnavailable):
            log.warning("could not delete draft Tryton sale %s", sale_id, exc_info=True)

    def _replace_draft(self, sale_id: int, order: ErpSale) -> None:
        values = self._sale_values(order)
        lines = values.pop("lines")
        old_lines = self.rpc.model("sale.sale", "read", [sale_id], ["lines"])
        old_ids = old_lines[0]["lines"] if old_lines else []
        actions: list[Any] = []
        if old_ids:
            actions.append(("delete", old_ids))
        actions.extend(lines)
        values["lines"] = actions
        values.pop("company", None)
        self.rpc.model("sale.sale", "write", [sale_id], values)

    def _sale_values(self, order: ErpSale) -> dict[str, Any]:
        party_id = _int_id(order.customer_external_id, "customer")
        parties = self.rpc.model(
            "party.party",
            "search",
            [("id", "=", party_id)],
            0,
            1,
            None,
            context={"active_test": False},
        )
        if not parties:
            raise ErpRejected(
                f"customer {order.customer_external_id} does not exist in Tryton",
                code="unknown_customer",
            )
        context = self.rpc.context
        header: dict[str, Any] = dict.fromkeys(_SALE_HEADER_FIELDS)
        header.update(
            {
                "party": party_id,
                "company": context.get("company"),
                "invoice_method": None,
                "shipment_method": None,
                "lines": [],
            }
        )
        if order.currency:
            header["currency"] = self._currency_id(order.currency)
        changes = self.rpc.model("sale.sale", "on_change", header, ["party"])
        header.update(_plain_changes(changes))
        if order.currency:
            header["currency"] = self._currency_id(order.currency)
        if header.get("currency") is None:
            header["currency"] = self._company_currency_id()
        if not header.get("invoice_address"):
            raise ErpRejected(
                f"customer {order.customer_external_id} has no address in "
                "Tryton (needed to invoice)",
                code="customer_without_address",
            )

        products = self._products_for(order.lines)
        lines = []
        for sequence, line in enumerate(order.lines, start=1):
            lines.append(self._line_values(sequence, line, products, header))
        values: dict[str, Any] = {
            "company": header["company"],
            "party": party_id,
            "reference": order.reference,
            "currency": header["currency"],
            "invoice_address": header.get("invoice_address"),
            "shipment_address": header.get("shipment_address"),
            "payment_term": header.get("payment_term"),
            # the party's own sale invoice/shipment methods, if any
            "invoice_method": header.get("invoice_method"),
            "shipment_method": header.get("shipment_method"),
            "description": order.description,
            "comment": order.comment,
            "lines": [("create", lines)],
        }
        if header.get("invoice_party"):
            values["invoice_party"] = header["invoice_party"]
        if header.get("shipment_party"):
            values["shipment_party"] = header["shipment_party"]
        if order.sale_date:
            values["sale_date"] = order.sale_date
        return {k: v for k, v in values.items() if v is not None or k in ("description", "comment")}

    def _products_for(self, lines: Sequence[ErpSaleLine]) -> dict[int, dict[str, Any]]:
        ids = sorted({_int_id(line.product_external_id, "product") for line in lines})
        # search first: reading a missing id is a Tryton UserError
        existing = self.rpc.model(
            "product.product",
            "search",
            [("id", "in", ids)],
            0,
            None,
            None,
            context={"active_test": False},
        )
        records = (
            self.rpc.model(
                "product.product",
                "read",
                existing,
                ["default_uom", "salable", "active"],
                context={"active_test": False},
            )
            if existing
            else []
        )
        found = {r["id"]: r for r in records}
        missing = [i for i in ids if i not in found]
        if missing:
            raise ErpRejected(
                "unknown product(s) in Tryton: " + ", ".join(map(str, missing)),
                code="unknown_product",
            )
        return found

    def _line_values(
        self,
        sequence: int,
        line: ErpSaleLine,
        products: Mapping[int, Mapping[str, Any]],
        header: Mapping[str, Any],
    ) -> dict[str, Any]:
        product_id = _int_id(line.product_external_id, "product")
        product = products[product_id]
        values = {
            "type": "line",
            "product": product_id,
            "quantity": float(line.quantity),
            "unit": None,
            "unit_price": None,
            "taxes": [],
            "description": None,
            "sale": -1,
        }
        for name in (
            "party",
            "invoice_party",
            "currency",
            "company",
            "sale_date",
            "warehouse",
            "shipment_address",
            "state",
        ):
            values[f"_parent_sale.{name}"] = header.get(name)
        values["_parent_sale.state"] = "draft"
        changes = _plain_changes(self.rpc.model("sale.line", "on_change", values, ["product"]))
        net = (line.unit_price * (1 - line.discount)).quantize(
            PRICE_QUANTUM, rounding=ROUND_HALF_EVEN
        )
        result: dict[str, Any] = {
            "sequence": sequence,
            "type": "line",
            "product": product_id,
            "quantity": float(line.quantity),
            # quantities and prices are in the catalogue unit (default UoM)
            "unit": _id(product["default_uom"]),
            "unit_price": net,
            "taxes": [("add", _ids(changes.get("taxes")))],
        }
        if line.description:
            result["description"] = line.description
        if self._discount_supported():
            result["base_price"] = line.unit_price.quantize(PRICE_QUANTUM, rounding=ROUND_HALF_EVEN)
        elif line.discount:
            log.info(
                "sale_discount is not activated in Tryton: only the net price of %s is recorded",
                line.product_external_id,
            )
        return result

    def _discount_supported(self) -> bool:
        if self._has_discount is None:
            fields = self.rpc.model("sale.line", "fields_get", ["base_price"])
            self._has_discount = "base_price" in fields
        return self._has_discount

    def _currency_id(self, code: str) -> int:
        ids = self.rpc.model("currency.currency", "search", [("code", "=", code)], 0, 1, None)
        if not ids:
            raise ErpRejected(f"currency {code} is not defined in Tryton", code="unknown_currency")
        return ids[0]

    def _company_currency_id(self) -> int | None:
        company = self.rpc.context.get("company")
        if not company:
            return None
        (record,) = self.rpc.model("company.company", "read", [company], ["currency"])
        return _id(record["currency"])

    # -- pulls --------------------------------------------------------------

    def _scan(
        self,
        kind: str,
        cursor: ErpCursor | None,
        limit: int,
        *,
        model: str,
        domain: list[Any],
        changed_since: Callable[[dt.datetime], list[Any]],
        fields: list[str],
        convert: Callable[[list[dict[str, Any]]], list[T]],
        context: Mapping[str, Any] | None = None,
    ) -> ErpPage[T]:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        scan = _Scan.decode(kind, cursor)
        if scan.started is None:
            scan = dataclasses.replace(scan, started=self.rpc.server_time(), after_id=0)
        query = [*domain, ("id", ">", scan.after_id)]
        if scan.since is not None:
            query.append(changed_since(scan.since - self.overlap))
        ids = self.rpc.model(model, "search", query, 0, limit + 1, [("id", "ASC")], context=context)
        has_more = len(ids) > limit
        ids = ids[:limit]
        records = self.rpc.model(model, "read", ids, fields, context=context) if ids else []
        records.sort(key=lambda r: r["id"])
        items = convert(records)
        if has_more:
            next_scan = dataclasses.replace(scan, after_id=ids[-1])
        else:
            next_scan = _Scan(kind, scan.started, None, 0)
        return ErpPage(tuple(items), next_scan.encode(), has_more)

    def pull_products(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpProduct]:
        def changed(after: dt.datetime) -> list[Any]:
            return [
                "OR",
                ("last_modified_at", ">=", after),
                ("template.last_modified_at", ">=", after),
                ("template.account_category.last_modified_at", ">=", after),
            ]

        fields = [
            "code",
            "name",
            "type",
            "salable",
            "active",
            "list_price_used",
            "default_uom.symbol",
            "account_category",
            "template.active",
            "last_modified_at",
            "template.last_modified_at",
        ]

        def convert(records: list[dict[str, Any]]) -> list[ErpProduct]:
            categories = {c for r in records if (c := _id(r.get("account_category")))}
            taxes = self._category_taxes(categories)
            currency = self._company_currency_code()
            items = []
            for r in records:
                template = r.get("template.") or {}
                uom = r.get("default_uom.") or {}
                items.append(
                    ErpProduct(
                        external_id=str(r["id"]),
                        code=r.get("code") or None,
                        name=r.get("name") or "",
                        unit=uom.get("symbol") or "",
                        list_price=r.get("list_price_used"),
                        currency=currency,
                        taxes=taxes.get(_id(r.get("account_category")) or 0, ()),
                        salable=bool(r.get("salable")),
                        active=bool(r.get("active")) and bool(template.get("active", True)),
                        type=r.get("type"),
                        updated_at=_latest(
                            r.get("last_modified_at"), template.get("last_modified_at")
                        ),
                    )
                )
            return items

        return self._scan(
            "products",
            since,
            limit,
            model="product.product",
            domain=[],
            changed_since=changed,
            fields=fields,
            convert=convert,
            context={"active_test": False},
        )

    def _category_taxes(self, categories: Iterable[int]) -> dict[int, tuple[ErpTax, ...]]:
        categories = sorted(categories)
        if not categories:
            return {}
        records = self.rpc.model("product.category", "read", categories, ["customer_taxes_used"])
        tax_ids = sorted({t for r in records for t in r["customer_taxes_used"]})
        taxes: dict[int, ErpTax] = {}
        if tax_ids:
            for t in self.rpc.model(
                "account.tax",
                "read",
                tax_ids,
                ["name", "type", "rate", "amount"],
                context={"active_test": False},
            ):
                taxes[t["id"]] = ErpTax(
                    external_id=str(t["id"]),
                    name=t["name"] or "",
                    type=t["type"] or "",
                    rate=t.get("rate"),
                    amount=t.get("amount"),
                )
        return {
            r["id"]: tuple(taxes[t] for t in r["customer_taxes_used"] if t in taxes)
            for r in records
        }

    def _company_currency_code(self) -> str | None:
        company = self.rpc.context.get("company")
        if not company:
            return None
        if company not in self._currency_codes:
            (record,) = self.rpc.model("company.company", "read", [company], ["currency.code"])
            self._currency_codes[company] = (record.get("currency.") or {}).get("code")
        return self._currency_codes[company]

    def pull_customers(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpCustomer]:
        def changed(after: dt.datetime) -> list[Any]:
            return [
                "OR",
                ("last_modified_at", ">=", after),
                ("addresses.last_modified_at", ">=", after),
                ("contact_mechanisms.last_modified_at", ">=", after),
                ("identifiers.last_modified_at", ">=", after),
            ]

        fields = [
            "code",
            "name",
            "active",
            "phone",
            "mobile",
            "email",
            "tax_identifier.code",
            "customer_payment_term.name",
            "addresses",
            "last_modified_at",
        ]

        def convert(records: list[dict[str, Any]]) -> list[ErpCustomer]:
            address_ids = sorted({a for r in records for a in (r.get("addresses") or [])})
            addresses = {}
            if address_ids:
                for a in self.rpc.model(
                    "party.address",
                    "read",
                    address_ids,
                    [
                        "party",
                        "sequence",
                        "active",
                        "street",
                        "postal_code",
                        "city",
                        "country.code",
                        "subdivision.name",
                        "last_modified_at",
                    ],
                    context={"active_test": False},
                ):
                    addresses[a["id"]] = a
            items = []
            for r in records:
                own = [
                    addresses[a]
                    for a in (r.get("addresses") or [])
                    if a in addresses and addresses[a].get("active", True)
                ]
                own.sort(key=lambda a: (a.get("sequence") is None, a.get("sequence") or 0, a["id"]))
                first = own[0] if own else {}
                items.append(
                    ErpCustomer(
                        external_id=str(r["id"]),
                        code=r.get("code") or None,
                        name=r.get("name") or "",
                        active=bool(r.get("active")),
                        tax_identifier=(r.get("tax_identifier.") or {}).get("code"),
                        street=first.get("street") or None,
                        postal_code=first.get("postal_code") or None,
                        city=first.get("city") or None,
                        subdivision=(first.get("subdivision.") or {}).get("name"),
                        country=(first.get("country.") or {}).get("code"),
                        phone=r.get("phone") or None,
                        mobile=r.get("mobile") or None,
                        email=r.get("email") or None,
                        payment_term=(r.get("customer_payment_term.") or {}).get("name"),
                        updated_at=_latest(
                            r.get("last_modified_at"), *(a.get("last_modified_at") for a in own)
                        ),
                    )
                )
            return items

        return self._scan(
            "customers",
            since,
            limit,
            model="party.party",
            domain=[],
            changed_since=changed,
            fields=fields,
            convert=convert,
            context={"active_test": False},
        )

    def pull_invoices(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpInvoice]:
        def changed(after: dt.datetime) -> list[Any]:
            return [
                "OR",
                ("last_modified_at", ">=", after),
                ("payment_lines.last_modified_at", ">=", after),
            ]

        fields = [
            "number",
            "state",
            "party",
            "currency.code",
            "invoice_date",
            "untaxed_amount",
            "tax_amount",
            "total_amount",
            "amount_to_pay",
            "lines_to_pay",
            "sales",
            "last_modified_at",
        ]

        def convert(records: list[dict[str, Any]]) -> list[ErpInvoice]:
            line_ids = sorted({i for r in records for i in (r.get("lines_to_pay") or [])})
            sale_ids = sorted({i for r in records for i in (r.get("sales") or [])})
            maturities: dict[int, dict[str, Any]] = {}
            if line_ids:
                for m in self.rpc.model(
                    "account.move.line", "read", line_ids, ["maturity_date", "reconciliation"]
                ):
                    maturities[m["id"]] = m
            references: dict[int, str | None] = {}
            if sale_ids:
                for s in self.rpc.model("sale.sale", "read", sale_ids, ["reference"]):
                    references[s["id"]] = s.get("reference")
            items = []
            for r in records:
                lines = [maturities[i] for i in (r.get("lines_to_pay") or []) if i in maturities]
                open_dates = [
                    m["maturity_date"]
                    for m in lines
                    if m.get("maturity_date") and not m.get("reconciliation")
                ]
                all_dates = [m["maturity_date"] for m in lines if m.get("maturity_date")]
                due = min(open_dates or all_dates) if all_dates else None
                sale_refs = tuple(
                    sorted({ref for s in (r.get("sales") or []) if (ref := references.get(s))})
                )
                items.append(
                    ErpInvoice(
                        external_id=str(r["id"]),
                        number=r.get("number") or None,
                        state=r.get("state") or "",
                        customer_external_id=str(_id(r.get("party"))),
                        sale_references=sale_refs,
                        currency=(r.get("currency.") or {}).get("code"),
                        invoice_date=r.get("invoice_date"),
                        due_date=due,
                        untaxed_amount=r.get("untaxed_amount") or Decimal(0),
                        tax_amount=r.get("tax_amount") or Decimal(0),
                        total_amount=r.get("total_amount") or Decimal(0),
                        amount_to_pay=r.get("amount_to_pay") or Decimal(0),
                        paid=r.get("state") == "paid",
                        updated_at=r.get("last_modified_at"),
                    )
                )
            return items

        return self._scan(
            "invoices",
            since,
            limit,
            model="account.invoice",
            domain=[("type", "=", "out")],
            changed_since=changed,
            fields=fields,
            convert=convert,
        )

    def pull_payments(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpPayment]:
        """Payment lines of customer invoices (``account.move.line`` added to
        an invoice's payment lines, e.g. by the "Pay" wizard)."""

        def changed(after: dt.datetime) -> list[Any]:
            return [
                "OR",
                ("last_modified_at", ">=", after),
                ("move.last_modified_at", ">=", after),
            ]

        fields = [
            "invoice_payment",
            "party",
            "debit",
            "credit",
            "amount_second_currency",
            "second_currency.code",
            "date",
            "description",
            "move.journal.name",
            "move_description_used",
            "last_modified_at",
        ]

        def convert(records: list[dict[str, Any]]) -> list[ErpPayment]:
            currency = self._company_currency_code()
            items = []
            for r in records:
                second = (r.get("second_currency.") or {}).get("code")
                if second and r.get("amount_second_currency") is not None:
                    amount = -r["amount_second_currency"]
                    code = second
                else:
                    amount = (r.get("credit") or Decimal(0)) - (r.get("debit") or Decimal(0))
                    code = currency
                journal = (r.get("move.") or {}).get("journal.") or {}
                party = _id(r.get("party"))
                items.append(
                    ErpPayment(
                        external_id=str(r["id"]),
                        invoice_external_id=str(_id(r.get("invoice_payment"))),
                        customer_external_id=str(party) if party else None,
                        amount=amount,
                        currency=code,
                        date=r.get("date"),
                        method=journal.get("name"),
                        description=r.get("description") or r.get("move_description_used") or None,
                        updated_at=r.get("last_modified_at"),
                    )
                )
            return items

        return self._scan(
            "payments",
            since,
            limit,
            model="account.move.line",
            domain=[("invoice_payment.type", "=", "out")],
            changed_since=changed,
            fields=fields,
            convert=convert,
        )


# -- helpers -------------------------------------------------------------------


def _int_id(external_id: str, what: str) -> int:
    try:
        value = int(str(external_id).strip())
    except ValueError:
        raise ErpRejected(
            f"{what} id {external_id!r} is not a Tryton id", code=f"unknown_{what}"
        ) from None
    if value <= 0:
        raise ErpRejected(f"{what} id {external_id!r} is not a Tryton id", code=f"unknown_{what}")
    return value


def _id(value: Any) -> int | None:
    """A Many2One value as read (id) or as returned by on_change."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return int(value) if value is not None else None


def _ids(value: Any) -> list[int]:
    """Ids of an x2many value as read (list) or from on_change (dict)."""
    if not value:
        return []
    if isinstance(value, list | tuple):
        return [int(v["id"] if isinstance(v, dict) else v) for v in value]
    ids: list[int] = []
    for _index, record in value.get("add", []):
        if isinstance(record, dict) and record.get("id") is not None:
            ids.append(int(record["id"]))
    return ids


def _plain_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the ``field.`` rec_name companions of an on_change result."""
    return {k: v for k, v in changes.items() if not k.endswith(".")}


def _latest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def _sale_ref(record: Mapping[str, Any]) -> ErpSaleRef:
    return ErpSaleRef(
        external_id=str(record["id"]),
        reference=record.get("reference") or "",
        number=record.get("number") or None,
        state=record.get("state") or "",
        currency=(record.get("currency.") or {}).get("code"),
        untaxed_amount=record.get("untaxed_amount"),
        tax_amount=record.get("tax_amount"),
        total_amount=record.get("total_amount"),
    )


def _pick(sales: Sequence[ErpSaleRef]) -> ErpSaleRef:
    """The sale that stands for our order when several carry its reference:
    the oldest one that is not cancelled, else the oldest."""
    alive = [s for s in sales if s.state != "cancelled"]
    return (alive or list(sales))[0]
