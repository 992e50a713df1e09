"""A real Tryton 8.2 server for the ERP connector tests (SQLite, no PostgreSQL).

The initialised database (modules sale, sale_discount, account_invoice and
the accounting master data a sale needs) is built once and cached by
``scripts/tryton_db.py`` in ``.cache/tryton/``; every test session runs a
``trytond`` process on 127.0.0.1 and a free port against a fresh copy of it,
and stops that process (by its pid) at teardown.
"""

from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[3]
TRYTOND = Path(sys.executable).with_name("trytond")

TRYTON_MISSING = importlib.util.find_spec("trytond") is None or not TRYTOND.exists()


def _load_tryton_db():
    spec = importlib.util.spec_from_file_location(
        "sfa_scripts_tryton_db", ROOT / "scripts" / "tryton_db.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tryton_db = _load_tryton_db()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class TrytonServer:
    """One ``trytond`` process serving a private copy of the cached DB."""

    directory: Path
    port: int
    meta: dict[str, Any]
    process: subprocess.Popen | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.directory / "trytond.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def database(self) -> str:
        return self.meta["db_name"]

    def start(self, timeout: float = 60.0) -> None:
        assert self.process is None, "already running"
        conf = tryton_db.write_config(self.directory, listen=f"127.0.0.1:{self.port}")
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the process
        self.process = subprocess.Popen(
            [str(TRYTOND), "-c", str(conf), "-d", self.database],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=self.directory,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"trytond exited with {self.process.returncode}:\n" + self.log_tail()
                )
            try:
                response = httpx.post(
                    f"{self.url}/rpc/",
                    json={"id": 0, "method": "common.server.version", "params": []},
                    timeout=2,
                )
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"trytond did not answer within {timeout}s:\n" + self.log_tail())
            time.sleep(0.1)
        # first login loads the module pool (a few seconds): do it now
        self.login(self.meta["admin_login"], self.meta["admin_password"])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        process.terminate()  # by pid: the process this fixture started
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def login(self, login: str, password: str) -> tuple[int, str]:
        response = httpx.post(
            f"{self.url}/{self.database}/rpc/",
            json={
                "id": 1,
                "method": "common.db.login",
                "params": [login, {"password": password}, "en"],
            },
            timeout=60,
        )
        response.raise_for_status()
        user_id, token, _ = response.json()["result"]
        return user_id, token


@pytest.fixture(scope="session")
def tryton_meta() -> dict[str, Any]:
    """Metadata of the cached initialised database (built on first use)."""
    if TRYTON_MISSING:
        # The dev extras install Tryton: its absence is a broken setup, not a reason to
        # pass without testing the ERP connector.
        pytest.fail(
            "Tryton is not installed in this interpreter: pip install "
            '"trytond>=8.2,<8.3" "trytond-sale>=8.2,<8.3" '
            '"trytond-sale-discount>=8.2,<8.3" '
            '"trytond-account-invoice>=8.2,<8.3" "proteus>=8.2,<8.3"'
        )
    return tryton_db.ensure_cached_db()


@pytest.fixture(scope="session")
def start_tryton(tryton_meta: dict[str, Any]) -> Iterator[Callable[[], TrytonServer]]:
    """Factory: start a new ``trytond`` on its own copy of the cached DB."""
    servers: list[TrytonServer] = []
    directories: list[Path] = []

    def start() -> TrytonServer:
        directory = Path(tempfile.mkdtemp(prefix="sfa-tryton-"))
        directories.append(directory)
        tryton_db.copy_db(tryton_meta, directory)
        server = TrytonServer(directory, _free_port(), tryton_meta)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()
    for directory in directories:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def tryton(start_tryton: Callable[[], TrytonServer]) -> TrytonServer:
    """The Tryton server shared by the tests of a session."""
    return start_tryton()


class TrytonUser:
    """Acts in Tryton over JSON-RPC the way a Tryton user would (admin)."""

    def __init__(self, server: TrytonServer) -> None:
        from integrations.erp.tryton import TrytonRpc

        self.server = server
        self.rpc = TrytonRpc(
            server.url, server.database, server.meta["admin_login"], server.meta["admin_password"]
        )

    def close(self) -> None:
        self.rpc.close()

    def __call__(
        self, model: str, method: str, *params: Any, context: dict[str, Any] | None = None
    ) -> Any:
        return self.rpc.model(model, method, *params, context=context)

    # -- master data ------------------------------------------------------

    def create_customer(self, name: str, *, category: str | None = "customer", **extra: Any) -> int:
        """A party with an address, in the category "Customer" (how the company marks
        its customers; ``category="supplier"`` or ``None`` for other parties)."""
        values = {
            "name": name,
            "addresses": [
                (
                    "create",
                    [
                        {
                            "street": extra.pop("street", "Jl. Asia Afrika 8"),
                            "city": extra.pop("city", "Bandung"),
                            "postal_code": extra.pop("postal_code", "40111"),
                        }
                    ],
                )
            ],
        }
        mechanisms = []
        for kind in ("phone", "email"):
            if kind in extra:
                mechanisms.append({"type": kind, "value": extra.pop(kind)})
        if mechanisms:
            values["contact_mechanisms"] = [("create", mechanisms)]
        if category:
            values["categories"] = [("add", [self.server.meta[f"{category}_category_id"]])]
        values.update(extra)
        (party_id,) = self("party.party", "create", [values])
        return party_id

    def create_product(
        self, name: str, code: str, price: Decimal, *, unit: str = "u", **extra: Any
    ) -> int:
        unit_id = self.uom_id(unit)
        values = {
            "name": name,
            "type": "goods",
            "salable": True,
            "list_price": price,
            "default_uom": unit_id,
            "sale_uom": unit_id,
            "account_category": self.server.meta["account_category_id"],
            "products": [("create", [{"suffix_code": code}])],
        }
        values.update(extra)
        (template_id,) = self("product.template", "create", [values])
        (product,) = self("product.template", "read", [template_id], ["products"])
        return product["products"][0]

    @property
    def unit_id(self) -> int:
        return self.uom_id("u")

    def uom_id(self, symbol: str) -> int:
        """A unit of Tryton's product module: "u" (whole units), "kg" (2 decimals)..."""
        unit_ids = self("product.uom", "search", [("symbol", "=", symbol)], 0, 1, None)
        return unit_ids[0]

    def template_of(self, product_id: int) -> int:
        (record,) = self("product.product", "read", [product_id], ["template"])
        return record["template"]

    # -- accounting ----------------------------------------------------------

    def post_invoice(self, invoice_id: int) -> None:
        self("account.invoice", "post", [invoice_id])

    def pay_invoice(
        self, invoice_id: int, amount: Decimal | None = None, description: str = "Paid in cash"
    ) -> None:
        """Run the "Pay" wizard (account.invoice.pay) over JSON-RPC."""
        context = dict(
            self.rpc.context,
            active_model="account.invoice",
            active_id=invoice_id,
            active_ids=[invoice_id],
        )
        session_id, start, _end = self.rpc.call("wizard.account.invoice.pay.create")
        try:
            view = self.rpc.call(
                "wizard.account.invoice.pay.execute", session_id, {}, start, context=context
            )["view"]
            form = {k: v for k, v in view["defaults"].items() if not k.endswith(".")}
            form["payment_method"] = self.server.meta["payment_method_cash_id"]
            form["description"] = description
            if amount is not None:
                form["amount"] = amount
            result = self.rpc.call(
                "wizard.account.invoice.pay.execute",
                session_id,
                {"start": form},
                "choice",
                context=context,
            )
            if "view" in result:
                # less than the amount to pay: Tryton asks whether it is a
                # partial payment or a write-off
                assert result["view"]["state"] == "ask", result["view"]
                ask = {k: v for k, v in result["view"]["defaults"].items() if not k.endswith(".")}
                ask["type"] = "partial"
                result = self.rpc.call(
                    "wizard.account.invoice.pay.execute",
                    session_id,
                    {"start": form, "ask": ask},
                    "pay",
                    context=context,
                )
            assert "view" not in result, result
        finally:
            self.rpc.call("wizard.account.invoice.pay.delete", session_id)


@pytest.fixture(scope="session")
def tryton_user(tryton: TrytonServer) -> Iterator[TrytonUser]:
    user = TrytonUser(tryton)
    yield user
    user.close()


@pytest.fixture
def connector(tryton: TrytonServer):
    """The connector under test, logged in as the dedicated ``sfa`` user.

    ``overlap`` is zero so that tests can assert that an incremental pull
    returns only what changed (the production default re-reads 5 minutes).
    """
    import datetime as dt

    from integrations.erp.tryton import TrytonConnector

    conn = TrytonConnector(
        tryton.url,
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
        timeout=30,
        overlap=dt.timedelta(0),
    )
    yield conn
    conn.close()


@pytest.fixture
def erp_env(monkeypatch, tryton):
    """The API process configured for the test's Tryton, as SFA_ERP_* would do it."""
    from integrations.erp import health
    from sfa.config import get_settings

    def configure(**overrides):
        values = {
            "SFA_ERP_URL": tryton.url,
            "SFA_ERP_DATABASE": tryton.database,
            "SFA_ERP_USER": tryton.meta["connector_login"],
            "SFA_ERP_PASSWORD": tryton.meta["connector_password"],
        } | overrides
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        health.clear_cache()

    configure()
    yield configure
    monkeypatch.undo()
    get_settings.cache_clear()
    health.clear_cache()


@pytest.fixture
def sync_now(client, world):
    """An admin's POST /v1/sync/run; returns the run it answers with."""

    def run() -> dict:
        response = client.post("/v1/sync/run", headers=world.headers("admin"))
        assert response.status_code == 200, response.text
        return response.json()

    return run
