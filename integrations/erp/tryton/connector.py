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
    ErpInvoice,
    ErpPage,
    ErpPayment,
    ErpProduct,
    ErpSale,
    ErpSaleRef,
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
    ) -> None:
        self.rpc = TrytonRpc(
            base_url, database, login, password, timeout=timeout, language=language, client=client
        )
        company = Company(self.rpc)
        self._sales = Sales(self.rpc, company)
        self._pulls = Pulls(self.rpc, company, overlap)

    @property
    def overlap(self) -> dt.timedelta:
        return self._pulls.overlap

    def close(self) -> None:
        self.rpc.close()

    def __enter__(self) -> TrytonConnector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- orders out --------------------------------------------------------

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
