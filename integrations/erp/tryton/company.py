"""What the connector reads about the user's company and currencies (cached codes)."""

from __future__ import annotations

from decimal import Decimal

from integrations.erp.tryton.records import many2one_id, related
from integrations.erp.tryton.rpc import TrytonRpc
from sfa.erp.connector import ErpRejected


class Company:
    def __init__(self, rpc: TrytonRpc) -> None:
        self.rpc = rpc
        self._currency_codes: dict[int, str | None] = {}

    @property
    def id(self) -> int | None:
        return self.rpc.context.get("company")

    def currency_code(self) -> str | None:
        company = self.id
        if not company:
            return None
        if company not in self._currency_codes:
            (record,) = self.rpc.model("company.company", "read", [company], ["currency.code"])
            self._currency_codes[company] = related(record, "currency").get("code")
        return self._currency_codes[company]

    def currency(self) -> tuple[str | None, Decimal | None]:
        """The company currency's code and rounding (Tryton's ``currency.rounding``)."""
        company = self.id
        if not company:
            return None, None
        (record,) = self.rpc.model(
            "company.company", "read", [company], ["currency.code", "currency.rounding"]
        )
        currency = related(record, "currency")
        return currency.get("code"), currency.get("rounding")

    def currency_id(self) -> int | None:
        company = self.id
        if not company:
            return None
        (record,) = self.rpc.model("company.company", "read", [company], ["currency"])
        return many2one_id(record["currency"])

    def currency_id_of(self, code: str) -> int:
        ids = self.rpc.model("currency.currency", "search", [("code", "=", code)], 0, 1, None)
        if not ids:
            raise ErpRejected(f"currency {code} is not defined in Tryton", code="unknown_currency")
        return ids[0]
