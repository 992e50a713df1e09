"""ERP connector interface used by the domain (orders out, master data in).

The ERP is the system of record for products, prices, customers (as accounting
parties), invoices and payments; we are the system of record for field orders.
Implementations live in ``integrations/erp`` (e.g. ``TrytonConnector``); the
domain only sees this protocol, the plain frozen dataclasses and the two
exceptions below.

Contract
--------
* Orders: ``push_sale`` is idempotent on ``ErpSale.reference`` (our order
  id). It checks by reference before it creates anything, so calling it again
  after a timeout or a crash never creates a second sale. An order that is
  already confirmed (or cancelled) in the ERP is returned as it is.
* Pulls are incremental. ``pull_*(since=None)`` starts a full load; every
  page returns ``next_cursor``: store it (after applying the page) and pass it
  to the next call. Delivery is at least once: the same record may come back
  on a later page (apply pages as upserts keyed on ``external_id``), but a
  change is never skipped. When ``has_more`` is false the caught-up cursor is
  still returned: use it on the next scheduled sync.
* Cursors are opaque strings; they belong to one pull (a product cursor is
  not valid for invoices).
* ``ErpUnavailable`` means "try again later, nothing is wrong with what you
  sent" (network, timeout, ERP down or overloaded, session or other ERP-side
  problem). Its subclass ``ErpMisconfigured`` says that the connection settings
  themselves are wrong (URL, database, login, password): no request can succeed
  until a person fixes them, so callers stop at once rather than try each item.
  ``ErpRejected`` means the ERP refused this request for a reason that will not
  go away by retrying (``reason`` says why).
* ``check()`` logs in and reports what the ERP is (version, price precision,
  currency rounding), or raises ``ErpMisconfigured`` / ``ErpUnavailable`` with a
  message that says what to fix.
* ``cancel_sale`` removes the sale of an order we cancelled after an attempt to
  send it (a draft or quotation left in the ERP); a sale the ERP confirmed
  meanwhile is refused (``ErpRejected``): it must be cancelled in the ERP.

External ids are the ERP's record ids as strings; amounts are ``Decimal`` in
the document's currency (ISO 4217 code); quantities are ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from sfa import money

__all__ = [
    "ErpConnector",
    "ErpCursor",
    "ErpCustomer",
    "ErpError",
    "ErpFacts",
    "ErpInvoice",
    "ErpInvoiceState",
    "ErpMisconfigured",
    "ErpPage",
    "ErpPayment",
    "ErpProduct",
    "ErpRejected",
    "ErpSale",
    "ErpSaleLine",
    "ErpSaleRef",
    "ErpSaleState",
    "ErpTax",
    "ErpUnavailable",
]

ErpCursor = str
"""Opaque position in an incremental pull (store it as text)."""


# -- errors -------------------------------------------------------------------


class ErpError(Exception):
    """Base class of ERP connector errors."""


class ErpUnavailable(ErpError):
    """Transient: the ERP could not be reached or could not serve the request
    now (connection refused, timeout, 5xx, database locked, concurrent
    update, expired or refused session). Retry later with backoff."""


class ErpMisconfigured(ErpUnavailable):
    """The connection settings are wrong (ERP URL, database, login or password): the
    message says which and how to fix it. Nothing succeeds until a person fixes them;
    callers stop their work at once instead of charging each item a failed attempt."""


class ErpRejected(ErpError):
    """Permanent: the ERP refused the request (validation or business rule,
    unknown customer or product, ...). Retrying the same request will fail
    again; a person has to fix the data.

    ``reason`` is a one-line human message, ``code`` a short machine code
    (e.g. ``unknown_product``, ``user_error``, ``warning``) and ``detail`` any
    further text the ERP gave.
    """

    def __init__(self, reason: str, *, code: str = "rejected", detail: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code
        self.detail = detail

    def __str__(self) -> str:
        if self.detail:
            return f"{self.reason} ({self.detail})"
        return self.reason


# -- orders out -----------------------------------------------------------------


@dataclass(frozen=True)
class ErpSaleLine:
    """One order line.

    ``quantity`` and ``unit_price`` are in the product's catalogue unit
    (``ErpProduct.unit``). ``unit_price`` is the price before discount,
    excluding tax; ``discount`` is a rate between 0 and 1
    (``Decimal('0.05')`` = 5 %). ``net_price`` is the price per unit sent to
    the ERP: the order's own (``sfa.money.net_unit_price`` at the company's
    price precision), else computed here at the ERP's default precision.
    """

    product_external_id: str
    quantity: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal(0)
    description: str | None = None
    net_price: Decimal | None = None

    def __post_init__(self) -> None:
        if not Decimal(0) <= self.discount <= Decimal(1):
            raise ValueError(f"discount must be a rate between 0 and 1, got {self.discount}")
        if self.unit_price < 0:
            raise ValueError(f"unit_price must be >= 0, got {self.unit_price}")
        if self.net_price is None:
            object.__setattr__(
                self, "net_price", money.net_unit_price(self.unit_price, self.discount)
            )


@dataclass(frozen=True)
class ErpSale:
    """A field order to create in the ERP; ``reference`` is our order id."""

    reference: str
    customer_external_id: str
    lines: tuple[ErpSaleLine, ...]
    currency: str | None = None  # ISO code; None: the ERP company's currency
    sale_date: dt.date | None = None  # company-local day of the order
    description: str | None = None
    comment: str | None = None

    def __post_init__(self) -> None:
        if not self.reference or not self.reference.strip():
            raise ValueError("reference must not be empty")
        object.__setattr__(self, "lines", tuple(self.lines))


ErpSaleState = Literal["draft", "quotation", "confirmed", "processing", "done", "cancelled"]


@dataclass(frozen=True)
class ErpSaleRef:
    """What the ERP holds for one of our orders."""

    external_id: str
    reference: str
    number: str | None
    state: str  # an ErpSaleState
    currency: str | None
    untaxed_amount: Decimal | None
    tax_amount: Decimal | None
    total_amount: Decimal | None
    created: bool = False  # True only when this very call created it

    @property
    def confirmed(self) -> bool:
        return self.state in ("confirmed", "processing", "done")


# -- master data and documents in ----------------------------------------------


@dataclass(frozen=True)
class ErpTax:
    external_id: str
    name: str
    type: str  # 'percentage' or 'fixed'
    rate: Decimal | None = None  # for 'percentage': 0.11 = 11 %
    amount: Decimal | None = None  # for 'fixed', per unit


@dataclass(frozen=True)
class ErpProduct:
    external_id: str
    code: str | None
    name: str
    unit: str  # symbol of the unit quantities and list_price refer to
    list_price: Decimal | None  # excluding tax, per ``unit``, at the ERP's precision
    currency: str | None
    taxes: tuple[ErpTax, ...]
    salable: bool
    active: bool
    type: str | None = None  # 'goods', 'service', ...
    updated_at: dt.datetime | None = None  # ERP change time, UTC
    # What a quantity in ``unit`` may be: at most ``unit_digits`` decimals, a multiple of
    # ``unit_rounding`` (Tryton's product.uom digits and rounding). None: not known.
    unit_digits: int | None = None
    unit_rounding: Decimal | None = None


@dataclass(frozen=True)
class ErpCustomer:
    external_id: str
    code: str | None
    name: str
    active: bool
    tax_identifier: str | None = None
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    subdivision: str | None = None
    country: str | None = None  # ISO 3166 code
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    payment_term: str | None = None
    updated_at: dt.datetime | None = None
    language: str | None = None  # ISO 639-1 code of the party's language, if set
    # WGS84 position of the address, when the ERP has one (Tryton 8.2 addresses do not).
    latitude: float | None = None
    longitude: float | None = None


ErpInvoiceState = Literal["draft", "validated", "posted", "paid", "cancelled"]


@dataclass(frozen=True)
class ErpInvoice:
    """A customer invoice (or credit note: negative total)."""

    external_id: str
    number: str | None
    state: str  # an ErpInvoiceState
    customer_external_id: str
    sale_references: tuple[str, ...]  # our order ids it invoices
    currency: str | None
    invoice_date: dt.date | None
    due_date: dt.date | None  # earliest maturity still open (else earliest)
    untaxed_amount: Decimal
    tax_amount: Decimal
    total_amount: Decimal
    amount_to_pay: Decimal  # what is still open
    paid: bool
    updated_at: dt.datetime | None = None


@dataclass(frozen=True)
class ErpPayment:
    """Money received against a customer invoice."""

    external_id: str
    invoice_external_id: str
    customer_external_id: str | None
    amount: Decimal  # positive: received; negative: refunded
    currency: str | None
    date: dt.date | None
    method: str | None = None  # journal / payment method name
    description: str | None = None
    updated_at: dt.datetime | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class ErpPage(Generic[T]):
    items: tuple[T, ...]
    next_cursor: ErpCursor
    has_more: bool = False
    # Records the scan passed over without delivering them (e.g. parties that are not
    # customers): counted so that a run can say so.
    skipped: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "items", tuple(self.items))


@dataclass(frozen=True)
class ErpFacts:
    """What ``check()`` found: the ERP answers, the login works, and how it rounds."""

    server_version: str
    price_decimals: int | None = None  # decimals of unit prices on sale lines
    currency: str | None = None  # the company currency (ISO code)
    currency_rounding: Decimal | None = None  # its rounding, e.g. 0.01
    warnings: tuple[str, ...] = ()


@runtime_checkable
class ErpConnector(Protocol):
    """What the domain needs from an ERP."""

    def check(self) -> ErpFacts:
        """Reach the ERP and log in; raise ``ErpMisconfigured`` or ``ErpUnavailable``
        with a message that says what to fix."""
        ...

    def cancel_sale(self, reference: str) -> ErpSaleRef | None:
        """Cancel the draft or quotation the ERP holds for our order, if any; returns
        it (cancelled) or None. A confirmed sale is refused with ``ErpRejected``."""
        ...

    def find_sale(self, reference: str) -> ErpSaleRef | None:
        """The ERP sale whose reference is our order id, if any."""
        ...

    def push_sale(self, order: ErpSale) -> ErpSaleRef:
        """Create (if absent), quote and confirm the sale for ``order``.

        Idempotent on ``order.reference``: an existing sale is never
        duplicated; one still being drafted is completed.
        """
        ...

    def pull_products(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpProduct]: ...

    def pull_customers(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpCustomer]: ...

    def pull_invoices(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpInvoice]: ...

    def pull_payments(
        self, since: ErpCursor | None = None, *, limit: int = 100
    ) -> ErpPage[ErpPayment]: ...
