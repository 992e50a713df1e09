"""TrytonConnector against a real Tryton 8.2 server (see conftest.py)."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import uuid
from decimal import Decimal

import httpx
import pytest

from integrations.erp.tryton import TrytonConnector
from sfa.erp.connector import (
    ErpConnector,
    ErpCustomer,
    ErpInvoice,
    ErpPage,
    ErpPayment,
    ErpProduct,
    ErpRejected,
    ErpSale,
    ErpSaleLine,
    ErpUnavailable,
)


def session_header(login: str, user_id: int, token: str) -> str:
    raw = f"{login}:{user_id}:{token}".encode()
    return "Session " + base64.b64encode(raw).decode()


def rpc_post(url, method, params, authorization=None):
    headers = {"Content-Type": "application/json"}
    if authorization:
        headers["Authorization"] = authorization
    return httpx.post(
        url,
        content=json.dumps({"id": 1, "method": method, "params": params}),
        headers=headers,
        timeout=30,
    )


def new_ref() -> str:
    return f"SFA-{uuid.uuid4().hex[:12].upper()}"


def drain(pull, cursor=None, limit=100):
    """Pull pages until caught up; return (items, caught-up cursor, pages)."""
    items, pages = [], 0
    while True:
        page = pull(cursor, limit=limit)
        pages += 1
        items.extend(page.items)
        cursor = page.next_cursor
        if not page.has_more:
            return items, cursor, pages


def by_id(items):
    return {item.external_id: item for item in items}


def wait_past_second():
    """The ERP clock (HTTP Date header) has a one-second resolution: make
    sure what happened before is strictly older than the next scan start."""
    time.sleep(1.1)


@pytest.fixture
def customer(tryton_user):
    return tryton_user.create_customer(
        f"Toko {uuid.uuid4().hex[:6]}", phone="+62 22 4201234", email="toko@example.com"
    )


@pytest.fixture
def products(tryton_user):
    suffix = uuid.uuid4().hex[:6].upper()
    coffee = tryton_user.create_product("Kopi Bubuk 250g", f"KB-{suffix}", Decimal("25000"))
    tea = tryton_user.create_product("Teh Celup 25s", f"TC-{suffix}", Decimal("12345.50"))
    return coffee, tea


def sale_count(tryton_user, reference=None):
    domain = [("reference", "=", reference)] if reference else []
    return tryton_user("sale.sale", "search_count", domain)


# -- interface -------------------------------------------------------------------


def test_connector_implements_the_domain_protocol(connector):
    assert isinstance(connector, ErpConnector)


# -- push ---------------------------------------------------------------------


def test_push_sale_creates_a_confirmed_sale_with_party_lines_prices_discount(
    connector, tryton_user, tryton, customer, products
):
    coffee, tea = products
    ref = new_ref()
    order = ErpSale(
        reference=ref,
        customer_external_id=str(customer),
        lines=(
            ErpSaleLine(str(coffee), Decimal(3), Decimal("25000"), discount=Decimal("0.10")),
            ErpSaleLine(str(tea), Decimal(2), Decimal("12345.50")),
        ),
        description="Field order",
    )

    result = connector.push_sale(order)

    assert result.created is True
    assert result.reference == ref
    assert result.confirmed
    assert result.currency == "IDR"
    # 3 x 22 500 (25 000 less 10 %) + 2 x 12 345.50, PPN 11 %
    assert result.untaxed_amount == Decimal("92191.00")
    assert result.tax_amount == Decimal("10141.01")
    assert result.total_amount == Decimal("102332.01")

    (sale,) = tryton_user(
        "sale.sale",
        "read",
        [int(result.external_id)],
        [
            "party",
            "reference",
            "state",
            "number",
            "currency.code",
            "invoice_address",
            "payment_term",
            "warehouse",
            "lines",
            "invoices",
            "invoice_state",
            "description",
        ],
    )
    assert sale["party"] == customer
    assert sale["reference"] == ref
    assert sale["number"] == result.number
    # confirmed, then processed by Tryton (invoice method "on order")
    assert sale["state"] == "processing"
    assert sale["description"] == "Field order"
    assert sale["invoice_address"] is not None
    assert sale["payment_term"] == tryton.meta["payment_term_net30_id"]
    assert sale["warehouse"] == tryton.meta["warehouse_id"]
    assert len(sale["invoices"]) == 1
    assert sale["invoice_state"] == "pending"

    lines = tryton_user(
        "sale.line",
        "read",
        sale["lines"],
        [
            "product",
            "quantity",
            "unit.symbol",
            "unit_price",
            "base_price",
            "discount_rate",
            "amount",
            "taxes",
            "sequence",
        ],
    )
    lines.sort(key=lambda line: line["sequence"])
    assert [(ln["product"], ln["quantity"]) for ln in lines] == [(coffee, 3.0), (tea, 2.0)]
    assert [ln["unit."]["symbol"] for ln in lines] == ["u", "u"]
    assert [ln["base_price"] for ln in lines] == [Decimal("25000"), Decimal("12345.50")]
    assert [ln["unit_price"] for ln in lines] == [Decimal("22500"), Decimal("12345.50")]
    assert [ln["discount_rate"] for ln in lines] == [Decimal("0.1"), Decimal("0")]
    assert [ln["amount"] for ln in lines] == [Decimal("67500.00"), Decimal("24691.00")]
    assert all(ln["taxes"] == [tryton.meta["tax_id"]] for ln in lines)


def test_pushing_the_same_reference_again_creates_nothing(
    connector, tryton_user, tryton, customer, products
):
    coffee, _ = products
    ref = new_ref()
    order = ErpSale(ref, str(customer), (ErpSaleLine(str(coffee), Decimal(1), Decimal("25000")),))
    assert connector.find_sale(ref) is None

    first = connector.push_sale(order)
    total_sales = sale_count(tryton_user)
    total_invoices = tryton_user("account.invoice", "search_count", [])

    again = connector.push_sale(order)
    # a fresh connector (e.g. after a restart of our worker) as well
    other = TrytonConnector(
        tryton.url,
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
    )
    try:
        third = other.push_sale(order)
    finally:
        other.close()

    assert first.created and not again.created and not third.created
    assert again.external_id == third.external_id == first.external_id
    assert sale_count(tryton_user, ref) == 1
    assert sale_count(tryton_user) == total_sales
    assert tryton_user("account.invoice", "search_count", []) == (total_invoices)
    found = connector.find_sale(ref)
    assert found is not None
    assert found.external_id == first.external_id
    assert found.confirmed and found.created is False


def test_push_completes_a_sale_left_in_draft_by_an_interrupted_push(
    connector, tryton_user, customer, products
):
    """A crash between create and confirm leaves a draft with our reference:
    the next push completes that sale (with the order's lines) instead of
    creating a second one."""
    coffee, tea = products
    ref = new_ref()
    (draft_id,) = tryton_user(
        "sale.sale",
        "create",
        [
            {
                "party": customer,
                "reference": ref,
                "invoice_address": tryton_user(
                    "party.address", "search", [("party", "=", customer)], 0, 1, None
                )[0],
                "lines": [
                    (
                        "create",
                        [
                            {
                                "type": "line",
                                "product": coffee,
                                "quantity": 99.0,
                                "unit": tryton_user.unit_id,
                                "unit_price": Decimal(1),
                            }
                        ],
                    )
                ],
            }
        ],
    )
    order = ErpSale(ref, str(customer), (ErpSaleLine(str(tea), Decimal(4), Decimal("12000")),))

    result = connector.push_sale(order)

    assert result.external_id == str(draft_id)
    assert result.created is False
    assert result.confirmed
    assert sale_count(tryton_user, ref) == 1
    (sale,) = tryton_user("sale.sale", "read", [draft_id], ["lines"])
    lines = tryton_user("sale.line", "read", sale["lines"], ["product", "quantity", "unit_price"])
    assert [(ln["product"], ln["quantity"], ln["unit_price"]) for ln in lines] == [
        (tea, 4.0, Decimal("12000"))
    ]


def test_push_rejects_an_unknown_product_and_leaves_nothing_in_tryton(
    connector, tryton_user, customer
):
    ref = new_ref()
    order = ErpSale(ref, str(customer), (ErpSaleLine("99999999", Decimal(1), Decimal(1000)),))
    with pytest.raises(ErpRejected) as info:
        connector.push_sale(order)
    assert info.value.code == "unknown_product"
    assert "99999999" in info.value.reason
    assert sale_count(tryton_user, ref) == 0


def test_push_rejects_a_customer_without_address(connector, tryton_user, products):
    coffee, _ = products
    (party_id,) = tryton_user("party.party", "create", [{"name": "No Address"}])
    ref = new_ref()
    with pytest.raises(ErpRejected) as info:
        connector.push_sale(
            ErpSale(ref, str(party_id), (ErpSaleLine(str(coffee), Decimal(1), Decimal(1)),))
        )
    assert info.value.code == "customer_without_address"
    assert sale_count(tryton_user, ref) == 0


def test_a_tryton_user_error_becomes_erp_rejected_with_the_reason(connector, tryton_user, customer):
    """Tryton validates the sale line domain (product must be salable)."""
    suffix = uuid.uuid4().hex[:6].upper()
    not_for_sale = tryton_user.create_product(
        "Internal Pallet", f"PAL-{suffix}", Decimal(1), salable=False
    )
    ref = new_ref()
    with pytest.raises(ErpRejected) as info:
        connector.push_sale(
            ErpSale(ref, str(customer), (ErpSaleLine(str(not_for_sale), Decimal(1), Decimal(1)),))
        )
    assert info.value.code == "user_error"
    assert info.value.reason  # Tryton's message, for a person to read
    assert sale_count(tryton_user, ref) == 0


# -- pull products ---------------------------------------------------------------


def test_pull_products_pages_with_a_cursor_and_returns_price_changes(
    connector, tryton_user, products
):
    coffee, tea = products
    wait_past_second()

    items, cursor, pages = drain(connector.pull_products, limit=1)

    assert pages >= 2  # really paginated
    assert len(items) == len(by_id(items))  # no duplicates within a scan
    catalogue = by_id(items)
    coffee_item = catalogue[str(coffee)]
    assert isinstance(coffee_item, ErpProduct)
    assert coffee_item.name == "Kopi Bubuk 250g"
    assert coffee_item.code.startswith("KB-")
    assert coffee_item.unit == "u"
    assert coffee_item.list_price == Decimal("25000")
    assert coffee_item.currency == "IDR"
    assert coffee_item.salable and coffee_item.active
    assert [(t.name, t.type, t.rate) for t in coffee_item.taxes] == [
        ("PPN 11%", "percentage", Decimal("0.11"))
    ]
    assert catalogue[str(tea)].list_price == Decimal("12345.50")

    # nothing changed: the next pull is empty
    page = connector.pull_products(cursor)
    assert page.items == () and not page.has_more
    cursor = page.next_cursor

    # a price change made in Tryton
    tryton_user(
        "product.template",
        "write",
        [tryton_user.template_of(coffee)],
        {"list_price": Decimal("27500")},
    )
    wait_past_second()

    page = connector.pull_products(cursor)
    changed = by_id(page.items)
    assert set(changed) == {str(coffee)}
    assert changed[str(coffee)].list_price == Decimal("27500")

    # ... and it is not returned again once applied
    assert connector.pull_products(page.next_cursor).items == ()


def test_pull_products_reports_deactivated_products(connector, tryton_user, products):
    coffee, _ = products
    wait_past_second()
    _, cursor, _ = drain(connector.pull_products)
    tryton_user("product.product", "write", [coffee], {"active": False})
    wait_past_second()
    page = connector.pull_products(cursor)
    assert by_id(page.items)[str(coffee)].active is False


def test_a_cursor_is_opaque_and_bound_to_its_pull(connector):
    page = connector.pull_products(None, limit=1)
    assert isinstance(page, ErpPage)
    with pytest.raises(ValueError):
        connector.pull_invoices(page.next_cursor)
    with pytest.raises(ValueError):
        connector.pull_products("not-a-cursor")


# -- pull customers --------------------------------------------------------------


def test_pull_customers_returns_contact_data_and_address_changes(connector, tryton_user, customer):
    wait_past_second()
    items, cursor, _ = drain(connector.pull_customers)
    found = by_id(items)[str(customer)]
    assert isinstance(found, ErpCustomer)
    assert found.city == "Bandung"
    assert found.street == "Jl. Asia Afrika 8"
    assert found.phone == "+62 22 4201234"
    assert found.email == "toko@example.com"
    assert found.payment_term == "Net 30"

    (address_id,) = tryton_user("party.address", "search", [("party", "=", customer)], 0, 1, None)
    tryton_user("party.address", "write", [address_id], {"city": "Cimahi"})
    wait_past_second()
    page = connector.pull_customers(cursor)
    assert set(by_id(page.items)) == {str(customer)}
    assert page.items[0].city == "Cimahi"


# -- pull invoices and payments -------------------------------------------------


def test_an_invoice_posted_and_paid_in_tryton_is_pulled_as_paid(
    connector, tryton_user, customer, products
):
    coffee, tea = products
    ref = new_ref()
    sale = connector.push_sale(
        ErpSale(
            ref,
            str(customer),
            (
                ErpSaleLine(str(coffee), Decimal(2), Decimal("25000"), discount=Decimal("0.05")),
                ErpSaleLine(str(tea), Decimal(1), Decimal("12345.50")),
            ),
        )
    )
    wait_past_second()

    items, invoice_cursor, _ = drain(connector.pull_invoices)
    drafts = [i for i in items if ref in i.sale_references]
    assert len(drafts) == 1
    draft = drafts[0]
    assert isinstance(draft, ErpInvoice)
    assert draft.state == "draft" and not draft.paid
    assert draft.total_amount == sale.total_amount
    assert draft.customer_external_id == str(customer)
    _, payment_cursor, _ = drain(connector.pull_payments)

    # a Tryton user posts the invoice and records the cash payment
    invoice_id = int(draft.external_id)
    tryton_user.post_invoice(invoice_id)
    tryton_user.pay_invoice(invoice_id, description="Cash at visit")
    wait_past_second()

    page = connector.pull_invoices(invoice_cursor)
    invoice = by_id(page.items)[draft.external_id]
    assert invoice.state == "paid"
    assert invoice.paid is True
    assert invoice.amount_to_pay == Decimal(0)
    assert invoice.untaxed_amount == Decimal("59845.50")  # 2 x 23 750 + 12 345.50
    assert invoice.total_amount == sale.total_amount
    assert invoice.sale_references == (ref,)
    assert invoice.number and invoice.number.startswith("INV/")
    assert invoice.currency == "IDR"
    assert invoice.invoice_date is not None
    # payment term Net 30
    assert invoice.due_date == invoice.invoice_date + dt.timedelta(days=30)

    payments = connector.pull_payments(payment_cursor).items
    mine = [p for p in payments if p.invoice_external_id == draft.external_id]
    assert len(mine) == 1
    payment = mine[0]
    assert isinstance(payment, ErpPayment)
    assert payment.amount == sale.total_amount
    assert payment.currency == "IDR"
    assert payment.customer_external_id == str(customer)
    assert payment.method == "Cash"
    assert payment.description == "Cash at visit"
    assert payment.date == invoice.invoice_date

    # the ERP's view of our sale follows
    (sale_state,) = tryton_user("sale.sale", "read", [int(sale.external_id)], ["invoice_state"])
    assert sale_state["invoice_state"] == "paid"


def test_a_partly_paid_invoice_keeps_its_open_amount(connector, tryton_user, customer, products):
    coffee, _ = products
    ref = new_ref()
    connector.push_sale(
        ErpSale(ref, str(customer), (ErpSaleLine(str(coffee), Decimal(4), Decimal("25000")),))
    )
    (invoice_id,) = tryton_user(
        "account.invoice", "search", [("sales.reference", "=", ref)], 0, None, None
    )
    tryton_user.post_invoice(invoice_id)
    wait_past_second()
    _, cursor, _ = drain(connector.pull_invoices)

    tryton_user.pay_invoice(invoice_id, amount=Decimal("40000"))
    wait_past_second()

    invoice = by_id(connector.pull_invoices(cursor).items)[str(invoice_id)]
    assert invoice.state == "posted" and not invoice.paid
    assert invoice.total_amount == Decimal("111000.00")
    assert invoice.amount_to_pay == Decimal("71000.00")


# -- availability ----------------------------------------------------------------


def test_a_stopped_server_raises_erp_unavailable_and_recovers(start_tryton, tryton_meta):
    """Uses its own server: stops it, then starts it again on the same port."""
    server = start_tryton()
    conn = TrytonConnector(
        server.url,
        server.database,
        tryton_meta["connector_login"],
        tryton_meta["connector_password"],
        timeout=5,
    )
    try:
        assert conn.pull_products(None).next_cursor  # logged in, working
        order = ErpSale(new_ref(), "1", (ErpSaleLine("1", Decimal(1), Decimal(1)),))

        server.stop()

        with pytest.raises(ErpUnavailable):
            conn.pull_products(None)
        with pytest.raises(ErpUnavailable):
            conn.find_sale(order.reference)
        with pytest.raises(ErpUnavailable):
            conn.push_sale(order)
        with pytest.raises(ErpUnavailable):
            conn.pull_invoices(None)

        server.start()
        assert conn.find_sale(order.reference) is None
    finally:
        conn.close()


def test_unreachable_erp_and_wrong_password_are_unavailable(tryton):
    closed = TrytonConnector("http://127.0.0.1:9", tryton.database, "sfa", "whatever", timeout=2)
    with pytest.raises(ErpUnavailable):
        closed.find_sale("X")
    closed.close()

    wrong = TrytonConnector(tryton.url, tryton.database, "sfa", "not-the-password", timeout=10)
    with pytest.raises(ErpUnavailable, match="login"):
        wrong.find_sale("X")
    wrong.close()


def test_an_expired_session_is_renewed_transparently(connector, tryton):
    assert connector.find_sale("none-such") is None
    user_id, token = connector.rpc._session
    response = rpc_post(
        f"{tryton.url}/{tryton.database}/rpc/",
        "common.db.logout",
        [],
        session_header(tryton.meta["connector_login"], user_id, token),
    )
    assert response.status_code == 200
    # the old session is gone on the server: the connector logs in again
    assert connector.find_sale("none-such") is None
    assert connector.rpc._session[1] != token
