"""``TrytonConnector``: the domain's ``ErpConnector`` for a Tryton 8.2 server."""

from __future__ import annotations

import datetime as dt

import httpx

from integrations.erp.tryton.company import Company
from integrations.erp.tryton.pulls import Pulls
from integrations.erp.tryton.rpc import TrytonRpc
from integrations.erp.tryton.sales import Sales
from sfa.erp.connector import (
    ErpCursor,
    ErpCustomer,
    ErpFacts,
    ErpInvoice,
    ErpMisconfigured,
    ErpPage,
    ErpPayment,
    ErpProduct,
    ErpRejected,
    ErpSale,
    ErpSaleRef,
)

SUPPORTED_SERIES = "8.2"
# What the sync reads and writes, with the Tryton group that grants it.
_NEEDED_ACCESS = (
    ("sale.sale", "Sales"),
    ("account.invoice", "Accounting"),
    ("product.product", "Sales"),
    ("party.party", "Sales"),
)


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
        customer_category: str | None = "Customer",
    ) -> None:
        self.rpc = TrytonRpc(
            base_url, database, login, password, timeout=timeout, language=language, client=client
        )
        self.company = Company(self.rpc)
        self._sales = Sales(self.rpc, self.company)
        self._pulls = Pulls(self.rpc, self.company, overlap, customer_category)

    @property
    def overlap(self) -> dt.timedelta:
        return self._pulls.overlap

    def close(self) -> None:
        self.rpc.close()

    def __enter__(self) -> TrytonConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def check(self) -> ErpFacts:
        """Reach the server, log in, and read what the sync depends on; every problem
        is raised with what to change (``ErpMisconfigured``)."""
        version = self.rpc.server_version()
        login = self.rpc.login
        self.rpc.user_id  # noqa: B018 - logs in (or raises why not)
        if not self.company.id:
            raise ErpMisconfigured(
                f"the Tryton user {login!r} has no current company: choose one in its "
                "preferences in Tryton (the sync works for that company)"
            )
        for model, group in _NEEDED_ACCESS:
            try:
                self.rpc.model(model, "search", [], 0, 1, None)
            except ErpRejected as exc:
                raise ErpMisconfigured(
                    f"the Tryton user {login!r} may not read {model} ({exc.reason}): add "
                    f"it to the group {group} (the sync needs Sales and Accounting)"
                ) from None
        warnings = []
        if not version.startswith(SUPPORTED_SERIES):
            warnings.append(
                f"Tryton {version}: this connector is made and tested for {SUPPORTED_SERIES}"
            )
        if "base_price" not in self._sales.line_fields():
            warnings.append(
                "the Tryton module sale_discount is not activated: sales carry only the "
                "net price of each line, not the price before discount"
            )
        if self._pulls.customer_category and not self._pulls.customer_categories():
            warnings.append(
                f"Tryton has no party category {self._pulls.customer_category!r}: only "
                "parties with a confirmed sale are pulled as customers (create the "
                "category, or set SFA_ERP_CUSTOMER_CATEGORY to the one you use)"
            )
        currency, rounding = self.company.currency()
        return ErpFacts(
            server_version=version,
            price_decimals=self._sales.price_decimals(),
            currency=currency,
            currency_rounding=rounding,
            warnings=tuple(warnings),
        )

    # -- orders out --------------------------------------------------------

    def cancel_sale(self, reference: str) -> ErpSaleRef | None:
        return self._sales.cancel_sale(reference)

    def find_sale(self, reference: str) -> ErpSaleRef | None:
        return self._sales.find_sale(reference)

    def push_sale(self, order: ErpSale) -> ErpSaleRef:
        return self._sales.push_sale(order)

    # -- master data and documents in ------------------------------------------

    def pull_products(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpProduct]:
        return self._pulls.products(since, limit)

    def pull_customers(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpCustomer]:
        return self._pulls.customers(since, limit)

    def pull_invoices(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpInvoice]:
        return self._pulls.invoices(since, limit)

    def pull_payments(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpPayment]:
        return self._pulls.payments(since, limit)
