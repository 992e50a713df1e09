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

Order push (``sales.py``): ``sale.sale`` is created in draft with ``reference`` = our
order id, header values completed the way the Tryton client does it (``on_change`` of
``party``: addresses, payment term, currency) and lines completed with
``sale.line.on_change`` of ``product`` (taxes, incl. the party's tax rules); our prices
then replace Tryton's. Then ``quote`` and ``confirm`` (buttons, one transaction each).
With the default sale configuration (invoice method "on order processed") confirming
processes the sale and creates the draft customer invoice.

Incremental pulls (``pulls.py``): a *scan* pages through the records changed since the
previous scan (``last_modified_at`` = COALESCE(write_date, create_date), also of related
records such as a product's template) in id order; a scan's start time is read from the
ERP's clock (the HTTP ``Date`` header) before its first page, and becomes the lower bound
of the next scan, minus ``overlap`` to cover transactions that started before but
committed after it.

The modules: ``codec`` (JSON extensions), ``rpc`` (session and calls), ``faults`` (Tryton
errors → ``ErpUnavailable`` / ``ErpRejected``), ``cursors`` (the opaque scan positions),
``records`` (reading Tryton values), ``convert`` (Tryton records → the domain's
dataclasses, pure functions), ``sales`` (push), ``pulls`` (the four pulls) and
``connector`` (``TrytonConnector``, which puts them together).
"""

from integrations.erp.tryton.connector import TrytonConnector
from integrations.erp.tryton.rpc import TrytonRpc

__all__ = ["TrytonConnector", "TrytonRpc"]
