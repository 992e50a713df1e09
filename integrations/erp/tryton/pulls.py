"""Master data and documents in: incremental scans of products, customers, invoices and
payments (see the package docstring for how a scan pages and where the next one starts).

Each pull names its model, the domain of "changed since", the fields it reads and a
``convert`` that fetches the related records a page needs (in one call per model) and
hands everything to the pure converters of ``convert.py``.

Customers: Tryton 8.2 has no "is a customer" flag on a party (the modules party, company,
account, account_invoice, sale and stock add none: payment terms, receivable accounts and
customer locations have company-wide defaults that every party gets). A party is pulled
as a customer when it is not one of the company's own parties (the company's party, its
employees) and either

* carries the party category named ``customer_category`` ("Customer" by default) or one
  of its sub-categories — how a new customer is announced before its first order; or
* has bought: it has a confirmed (or processing, done) sale.

Suppliers, the company itself and any other party are passed over (counted in
``ErpPage.skipped``). A party becomes a customer either by a change of its own (a
category is a field of the party) or by a sale: the incremental scan also takes the
parties of sales changed since its lower bound.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from integrations.erp.tryton import convert
from integrations.erp.tryton.company import Company
from integrations.erp.tryton.cursors import Scan
from integrations.erp.tryton.records import many2one_id
from integrations.erp.tryton.rpc import TrytonRpc
from sfa.erp.connector import (
    ErpCursor,
    ErpCustomer,
    ErpInvoice,
    ErpPage,
    ErpPayment,
    ErpProduct,
    ErpTax,
)

T = TypeVar("T")
Records = list[dict[str, Any]]

PRODUCT_FIELDS = [
    "code",
    "name",
    "type",
    "salable",
    "active",
    "list_price_used",
    "default_uom.symbol",
    "default_uom.digits",
    "default_uom.rounding",
    "account_category",
    "template.active",
    "last_modified_at",
    "template.last_modified_at",
]
PARTY_FIELDS = [
    "code",
    "name",
    "active",
    "phone",
    "mobile",
    "email",
    "tax_identifier.code",
    "customer_payment_term.name",
    "addresses",
    "categories",
    "lang.code",
    "last_modified_at",
]
ADDRESS_FIELDS = [
    "party",
    "sequence",
    "active",
    "street",
    "postal_code",
    "city",
    "country.code",
    "subdivision.name",
    "last_modified_at",
]
INVOICE_FIELDS = [
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
PAYMENT_FIELDS = [
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
_INACTIVE_TOO = {"active_test": False}
_BOUGHT = ("confirmed", "processing", "done")  # a sale in these states: a customer


def _changed(*paths: str) -> Callable[[dt.datetime], list[Any]]:
    """The domain "this record, or one of these related records, changed since"."""

    def domain(after: dt.datetime) -> list[Any]:
        return ["OR", *((f"{path}last_modified_at", ">=", after) for path in ("", *paths))]

    return domain


class Pulls:
    def __init__(
        self,
        rpc: TrytonRpc,
        company: Company,
        overlap: dt.timedelta,
        customer_category: str | None = "Customer",
    ) -> None:
        self.rpc = rpc
        self.company = company
        self.overlap = overlap
        self.customer_category = customer_category
        self._customer_categories: set[int] | None = None
        self._own_parties: set[int] | None = None

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
        convert: Callable[[Records], list[T]],
        context: Mapping[str, Any] | None = None,
    ) -> ErpPage[T]:
        if limit < 1:
            raise ValueError("limit must be >= 1")
        scan = Scan.decode(kind, cursor)
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
            next_scan = Scan(kind, scan.started, None, 0)
        return ErpPage(tuple(items), next_scan.encode(), has_more, len(records) - len(items))

    def _read(
        self, model: str, ids: Iterable[int], fields: list[str], **kwargs: Any
    ) -> dict[int, dict[str, Any]]:
        """Records by id, in one call (none for no ids)."""
        wanted = sorted(set(ids))
        if not wanted:
            return {}
        return {r["id"]: r for r in self.rpc.model(model, "read", wanted, fields, **kwargs)}

    # -- products ------------------------------------------------------------

    def products(self, since: ErpCursor | None, limit: int) -> ErpPage[ErpProduct]:
        def page(records: Records) -> list[ErpProduct]:
            categories = {c for r in records if (c := many2one_id(r.get("account_category")))}
            taxes = self._category_taxes(categories)
            currency = self.company.currency_code()
            return [convert.product(r, taxes=taxes, currency=currency) for r in records]

        return self._scan(
            "products",
            since,
            limit,
            model="product.product",
            domain=[],
            changed_since=_changed("template.", "template.account_category."),
            fields=PRODUCT_FIELDS,
            convert=page,
            context=_INACTIVE_TOO,
        )

    def _category_taxes(self, categories: Iterable[int]) -> dict[int | None, tuple[ErpTax, ...]]:
        records = self._read("product.category", categories, ["customer_taxes_used"])
        tax_ids = {t for r in records.values() for t in r["customer_taxes_used"]}
        taxes = {
            t["id"]: convert.tax(t)
            for t in self._read(
                "account.tax", tax_ids, ["name", "type", "rate", "amount"], context=_INACTIVE_TOO
            ).values()
        }
        return {
            r["id"]: tuple(taxes[t] for t in r["customer_taxes_used"] if t in taxes)
            for r in records.values()
        }

    # -- customers -----------------------------------------------------------

    def customers(self, since: ErpCursor | None, limit: int) -> ErpPage[ErpCustomer]:
        def page(records: Records) -> list[ErpCustomer]:
            records = self._only_customers(records)
            address_ids = {a for r in records for a in (r.get("addresses") or [])}
            addresses = self._read(
                "party.address", address_ids, ADDRESS_FIELDS, context=_INACTIVE_TOO
            )
            return [convert.customer(r, addresses) for r in records]

        own_changes = _changed("addresses.", "contact_mechanisms.", "identifiers.")

        def changed(after: dt.datetime) -> list[Any]:
            # a party that bought for the first time has not changed itself
            return ["OR", own_changes(after), ("id", "in", self._recent_buyers(after))]

        return self._scan(
            "customers",
            since,
            limit,
            model="party.party",
            domain=[],
            changed_since=changed,
            fields=PARTY_FIELDS,
            convert=page,
            context=_INACTIVE_TOO,
        )

    def _only_customers(self, records: Records) -> Records:
        """The parties of a page that are customers (module docstring)."""
        own = self.own_parties()
        categories = self.customer_categories()
        candidates = [r for r in records if r["id"] not in own]
        flagged = {r["id"] for r in candidates if categories & set(r.get("categories") or [])}
        others = [r["id"] for r in candidates if r["id"] not in flagged]
        buyers = self._buyers([("party", "in", others)]) if others else set()
        return [r for r in candidates if r["id"] in flagged or r["id"] in buyers]

    def _buyers(self, domain: list[Any]) -> set[int]:
        """Parties of the confirmed (processing, done) sales matching ``domain``. Tryton
        offers no "distinct": this reads the party of each such sale (a few bytes each;
        the sale module's own sale.reporting.customer would aggregate, but it joins on
        currency rates and is empty without them)."""
        sales = self.rpc.model(
            "sale.sale",
            "search_read",
            [*domain, ("state", "in", _BOUGHT)],
            0,
            None,
            None,
            ["party"],
        )
        return {p for s in sales if (p := many2one_id(s.get("party")))}

    def _recent_buyers(self, after: dt.datetime) -> list[int]:
        return sorted(self._buyers([("last_modified_at", ">=", after)]))

    def customer_categories(self) -> set[int]:
        """Ids of the customer category and its sub-categories (read once)."""
        if self._customer_categories is None:
            found: list[int] = []
            if self.customer_category:
                roots = self.rpc.model(
                    "party.category", "search", [("name", "=", self.customer_category)]
                )
                if roots:
                    found = self.rpc.model(
                        "party.category", "search", [("parent", "child_of", roots)]
                    )
            self._customer_categories = set(found)
        return self._customer_categories

    def own_parties(self) -> set[int]:
        """The parties of the companies and their employees (read once)."""
        if self._own_parties is None:
            companies = self.rpc.model(
                "company.company", "search_read", [], 0, None, None, ["party"]
            )
            employees = self.rpc.model(
                "company.employee",
                "search_read",
                [],
                0,
                None,
                None,
                ["party"],
                context=_INACTIVE_TOO,
            )
            self._own_parties = {
                p for r in (*companies, *employees) if (p := many2one_id(r.get("party")))
            }
        return self._own_parties

    # -- invoices and payments -------------------------------------------------

    def invoices(self, since: ErpCursor | None, limit: int) -> ErpPage[ErpInvoice]:
        def page(records: Records) -> list[ErpInvoice]:
            maturities = self._read(
                "account.move.line",
                (i for r in records for i in (r.get("lines_to_pay") or [])),
                ["maturity_date", "reconciliation"],
            )
            sales = self._read(
                "sale.sale", (i for r in records for i in (r.get("sales") or [])), ["reference"]
            )
            references = {i: s.get("reference") for i, s in sales.items()}
            return [
                convert.invoice(r, maturities=maturities, references=references) for r in records
            ]

        return self._scan(
            "invoices",
            since,
            limit,
            model="account.invoice",
            domain=[("type", "=", "out")],
            changed_since=_changed("payment_lines."),
            fields=INVOICE_FIELDS,
            convert=page,
        )

    def payments(self, since: ErpCursor | None, limit: int) -> ErpPage[ErpPayment]:
        """Payment lines of customer invoices (``account.move.line`` added to
        an invoice's payment lines, e.g. by the "Pay" wizard)."""

        def page(records: Records) -> list[ErpPayment]:
            currency = self.company.currency_code()
            return [convert.payment(r, company_currency=currency) for r in records]

        return self._scan(
            "payments",
            since,
            limit,
            model="account.move.line",
            domain=[("invoice_payment.type", "=", "out")],
            changed_since=_changed("move."),
            fields=PAYMENT_FIELDS,
            convert=page,
        )
