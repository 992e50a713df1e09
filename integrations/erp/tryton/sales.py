"""Orders out: find a sale by our reference, create, complete, quote and confirm it.

Idempotent on the reference (``sfa.erp.connector``): the sale is looked up before
anything is created, a draft left by an interrupted push is completed with the order's
lines, and two pushes racing each other keep the lowest sale id.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from integrations.erp.tryton import convert
from integrations.erp.tryton.company import Company
from integrations.erp.tryton.records import int_id, many2one_id, plain_changes, x2many_ids
from integrations.erp.tryton.rpc import TrytonRpc
from sfa import money
from sfa.erp.connector import ErpRejected, ErpSale, ErpSaleLine, ErpSaleRef, ErpUnavailable

log = logging.getLogger("integrations.erp.tryton")

SALE_FIELDS = [
    "reference",
    "number",
    "state",
    "currency.code",
    "untaxed_amount",
    "tax_amount",
    "total_amount",
]
SALE_HEADER_FIELDS = (
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
CONFIRMED = ("confirmed", "processing", "done")
# The sale's header fields a line's on_change reads (``_parent_sale.<name>``).
_LINE_PARENT_FIELDS = (
    "party",
    "invoice_party",
    "currency",
    "company",
    "sale_date",
    "warehouse",
    "shipment_address",
    "state",
)


class Sales:
    def __init__(self, rpc: TrytonRpc, company: Company) -> None:
        self.rpc = rpc
        self.company = company
        self._line_fields: dict[str, Any] | None = None

    def find_sale(self, reference: str) -> ErpSaleRef | None:
        found = self._find_sales(reference)
        return convert.pick(found) if found else None

    def _find_sales(self, reference: str) -> list[ErpSaleRef]:
        ids = self.rpc.model(
            "sale.sale", "search", [("reference", "=", reference)], 0, None, [("id", "ASC")]
        )
        if not ids:
            return []
        records = self.rpc.model("sale.sale", "read", ids, SALE_FIELDS)
        return [convert.sale_ref(r) for r in sorted(records, key=lambda r: r["id"])]

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
            existing = convert.pick(self._find_sales(order.reference))
            if int(existing.external_id) != sale_id:
                self._delete_draft(sale_id)
                created = False
        elif existing.state in ("draft", "quotation"):
            # left half-way by an earlier attempt: make it match the order
            sale_id = int(existing.external_id)
            if existing.state == "quotation":
                self.rpc.model("sale.sale", "draft", [sale_id])
            self._replace_draft(sale_id, order)
        if existing.state in CONFIRMED or existing.state == "cancelled":
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

    def cancel_sale(self, reference: str) -> ErpSaleRef | None:
        """Cancel the drafts and quotations carrying our reference (Tryton's "Cancel"
        button); a confirmed sale is refused: cancelling it is a decision for the ERP's
        users (stock moves, invoices)."""
        found = self._find_sales(reference)
        alive = [s for s in found if s.state != "cancelled"]
        confirmed = [s for s in alive if s.state in CONFIRMED]
        if confirmed:
            sale = confirmed[0]
            raise ErpRejected(
                f"the ERP sale {sale.number or sale.external_id} of {reference} is "
                f"{sale.state}: cancel it in the ERP",
                code="confirmed_in_erp",
            )
        if alive:
            self.rpc.model("sale.sale", "cancel", [int(s.external_id) for s in alive])
            return self._read_sale(int(alive[0].external_id))
        return convert.pick(found) if found else None

    def _read_sale(self, sale_id: int) -> ErpSaleRef:
        (record,) = self.rpc.model("sale.sale", "read", [sale_id], SALE_FIELDS)
        return convert.sale_ref(record)

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

    def _header(self, order: ErpSale, party_id: int) -> dict[str, Any]:
        """The sale header as the Tryton client completes it on choosing the party."""
        header: dict[str, Any] = dict.fromkeys(SALE_HEADER_FIELDS)
        header.update(
            {
                "party": party_id,
                "company": self.company.id,
                "invoice_method": None,
                "shipment_method": None,
                "lines": [],
            }
        )
        if order.currency:
            header["currency"] = self.company.currency_id_of(order.currency)
        changes = self.rpc.model("sale.sale", "on_change", header, ["party"])
        header.update(plain_changes(changes))
        if order.currency:
            header["currency"] = self.company.currency_id_of(order.currency)
        if header.get("currency") is None:
            header["currency"] = self.company.currency_id()
        if not header.get("invoice_address"):
            raise ErpRejected(
                f"customer {order.customer_external_id} has no address in "
                "Tryton (needed to invoice)",
                code="customer_without_address",
            )
        return header

    def _check_party(self, order: ErpSale) -> int:
        party_id = int_id(order.customer_external_id, "customer")
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
        return party_id

    def _sale_values(self, order: ErpSale) -> dict[str, Any]:
        party_id = self._check_party(order)
        header = self._header(order, party_id)
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
        ids = sorted({int_id(line.product_external_id, "product") for line in lines})
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
        product_id = int_id(line.product_external_id, "product")
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
        for name in _LINE_PARENT_FIELDS:
            values[f"_parent_sale.{name}"] = header.get(name)
        values["_parent_sale.state"] = "draft"
        changes = plain_changes(self.rpc.model("sale.line", "on_change", values, ["product"]))
        with_discount = "base_price" in self.line_fields()
        if line.discount and not with_discount:
            log.info(
                "sale_discount is not activated in Tryton: only the net price of %s is recorded",
                line.product_external_id,
            )
        return convert.sale_line(
            sequence,
            line,
            product_id=product_id,
            unit_id=many2one_id(products[product_id]["default_uom"]),
            tax_ids=x2many_ids(changes.get("taxes")),
            with_base_price=with_discount,
            price_decimals=self.price_decimals(),
        )

    def line_fields(self) -> dict[str, Any]:
        """``fields_get`` of the sale line's price fields (``base_price`` exists only
        with the ``sale_discount`` module), read once."""
        if self._line_fields is None:
            self._line_fields = self.rpc.model(
                "sale.line", "fields_get", ["base_price", "unit_price"]
            )
        return self._line_fields

    def price_decimals(self) -> int:
        """The decimals Tryton keeps for sale prices (``[product] price_decimal``)."""
        digits = self.line_fields().get("unit_price", {}).get("digits")
        if isinstance(digits, str):  # fields_get sends it PYSON-encoded: "[null, 4]"
            try:
                digits = json.loads(digits)
            except ValueError:
                digits = None
        if isinstance(digits, list | tuple) and len(digits) == 2 and isinstance(digits[1], int):
            return digits[1]
        return money.DEFAULT_PRICE_DECIMALS
