"""The ERP sync engine against a real Tryton (conftest.py) and the real PostGIS test DB.

The engine commits per outbox row and per pulled page, and takes its lock on its own
connection, so these tests use real sessions on the test database (``sessions``) and
delete what they committed afterwards.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import delete, func, select

from integrations.erp.tryton import TrytonConnector
from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.erp import sync, upserts
from sfa.erp.connector import ErpUnavailable
from sfa.erp.models import Invoice, Payment, SyncCursor, SyncRun
from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState, OutboxState
from sfa.users.models import Role, User


@pytest.fixture
def sessions(database_url):
    from sfa.db import get_sessionmaker

    factory = get_sessionmaker()
    yield factory
    with factory() as s:
        for model in (Payment, Invoice, ErpOutbox, OrderLine, Order, SyncRun, SyncCursor):
            s.execute(delete(model))
        s.execute(delete(Product))
        s.execute(delete(Customer).where(Customer.external_id.is_not(None)))
        s.execute(delete(User).where(User.username.like("sync-rep-%")))
        s.commit()


@pytest.fixture
def erp(tryton):
    """The connector as production builds it (default 5-minute overlap)."""
    conn = TrytonConnector(
        tryton.url,
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
        timeout=30,
    )
    yield conn
    conn.close()


@pytest.fixture
def shop(sessions, tryton_user):
    """A Tryton customer and two products, known to our database by external id."""
    tag = uuid.uuid4().hex[:6].upper()
    party = tryton_user.create_customer(f"Toko Sync {tag}", phone="+62 21 555 0101")
    coffee = tryton_user.create_product("Kopi 250g", f"K-{tag}", Decimal("25000"))
    tea = tryton_user.create_product("Teh 25s", f"T-{tag}", Decimal("12000"))
    with sessions() as s:
        rep = User(
            username=f"sync-rep-{tag.lower()}",
            full_name="Sync Rep",
            role=Role.rep,
            password_hash="x",
        )
        customer = Customer(code=f"S-{tag}", name=f"Toko Sync {tag}", external_id=str(party))
        products = [
            Product(
                external_id=str(pid),
                code=code,
                name=name,
                unit="u",
                list_price=price,
                currency="IDR",
            )
            for pid, code, name, price in (
                (coffee, f"K-{tag}", "Kopi 250g", Decimal("25000")),
                (tea, f"T-{tag}", "Teh 25s", Decimal("12000")),
            )
        ]
        s.add_all([rep, customer, *products])
        s.commit()
        return {
            "party": party,
            "coffee": coffee,
            "tea": tea,
            "rep_id": rep.id,
            "customer_id": customer.id,
            "product_ids": {p.external_id: p.id for p in products},
        }


def approved_order(sessions, shop, lines=None, customer_id=None):
    """An approved order with its outbox row, as the approval service writes it."""
    lines = lines or [
        (shop["coffee"], Decimal(3), Decimal("25000"), Decimal(10)),
        (shop["tea"], Decimal(2), Decimal("12000"), Decimal(0)),
    ]
    with sessions() as s:
        gross = sum(q * p for _, q, p, _ in lines)
        net = sum(q * p * (1 - d / 100) for _, q, p, d in lines)
        order = Order(
            client_id=uuid.uuid4(),
            request_hash="h" * 64,
            rep_id=shop["rep_id"],
            customer_id=customer_id or shop["customer_id"],
            state=OrderState.approved,
            currency="IDR",
            gross_amount=gross,
            discount_amount=gross - net,
            net_amount=net,
            discount_pct=(gross - net) / gross * 100,
            note="deliver Monday",
        )
        s.add(order)
        s.flush()
        for no, (pid, qty, price, disc) in enumerate(lines, start=1):
            product_id = shop["product_ids"].get(str(pid))
            if product_id is None:  # a product our catalogue has but the ERP does not
                product = Product(external_id=str(pid), name="ghost", unit="u")
                s.add(product)
                s.flush()
                product_id = shop["product_ids"][str(pid)] = product.id
            s.add(
                OrderLine(
                    order_id=order.id,
                    line_no=no,
                    product_id=product_id,
                    quantity=qty,
                    unit_price=price,
                    discount_pct=disc,
                    net_amount=qty * price * (1 - disc / 100),
                )
            )
        s.add(ErpOutbox(order_id=order.id, state=OutboxState.pending))
        s.commit()
        return order.id


def load(sessions, model, key):
    with sessions() as s:
        return s.get(model, key)


def outbox_of(sessions, order_id):
    with sessions() as s:
        return s.scalar(select(ErpOutbox).where(ErpOutbox.order_id == order_id))


def tryton_sales(tryton_user, reference):
    ids = tryton_user("sale.sale", "search", [("reference", "=", reference)], 0, None, None)
    return tryton_user("sale.sale", "read", ids, ["party", "state", "lines", "invoices"])


def cursors(sessions):
    with sessions() as s:
        return {e: c for e, c in s.execute(select(SyncCursor.entity, SyncCursor.cursor)).all()}


# -- push -----------------------------------------------------------------------------------


def test_an_approved_order_becomes_one_tryton_sale_with_its_lines(sessions, shop, erp, tryton_user):
    order_id = approved_order(sessions, shop)

    run = sync.run_sync(sessions, connector=erp, trigger="manual")

    assert run.status == "ok", run.errors
    assert run.counts["push"]["confirmed"] == 1
    reference = upserts.sale_reference(order_id)
    (sale,) = tryton_sales(tryton_user, reference)
    assert sale["party"] == shop["party"]
    lines = tryton_user(
        "sale.line",
        "read",
        sale["lines"],
        ["product", "quantity", "base_price", "unit_price", "discount_rate", "sequence"],
    )
    lines.sort(key=lambda ln: ln["sequence"])
    assert [
        (ln["product"], ln["quantity"], ln["base_price"], ln["discount_rate"]) for ln in lines
    ] == [
        (shop["coffee"], 3.0, Decimal("25000"), Decimal("0.1")),
        (shop["tea"], 2.0, Decimal("12000"), Decimal("0")),
    ]
    assert [ln["unit_price"] for ln in lines] == [Decimal("22500"), Decimal("12000")]
    order = load(sessions, Order, order_id)
    assert order.state == OrderState.confirmed
    assert order.erp_sale_id == str(sale["id"]) and order.erp_number
    box = outbox_of(sessions, order_id)
    assert box.state == OutboxState.done and box.attempts == 1 and box.last_error is None

    total = tryton_user("sale.sale", "search_count", [])
    again = sync.run_sync(sessions, connector=erp, trigger="manual")
    assert again.counts["push"]["due"] == 0
    assert tryton_user("sale.sale", "search_count", []) == total
    assert len(tryton_sales(tryton_user, reference)) == 1


def test_a_push_whose_local_update_was_lost_creates_no_second_sale(
    sessions, shop, erp, tryton_user
):
    order_id = approved_order(sessions, shop)
    sync.run_sync(sessions, connector=erp, push=True, pull=False)
    first = load(sessions, Order, order_id).erp_sale_id
    # The ERP accepted the sale, then our commit was "lost" (crash before it).
    with sessions() as s:
        s.get(Order, order_id).state = OrderState.approved
        s.get(Order, order_id).erp_sale_id = None
        box = s.scalar(select(ErpOutbox).where(ErpOutbox.order_id == order_id))
        box.state, box.done_at = OutboxState.pending, None
        s.commit()

    run = sync.run_sync(sessions, connector=erp, push=True, pull=False)

    assert run.counts["push"]["confirmed"] == 1
    assert len(tryton_sales(tryton_user, upserts.sale_reference(order_id))) == 1
    assert load(sessions, Order, order_id).erp_sale_id == first
    assert outbox_of(sessions, order_id).state == OutboxState.done


def test_rejected_orders_are_parked_with_the_reason_and_can_be_requeued(
    sessions, shop, erp, tryton_user
):
    unknown_product = approved_order(
        sessions, shop, lines=[(999999, Decimal(1), Decimal("1000"), Decimal(0))]
    )
    with sessions() as s:
        orphan = Customer(
            code=f"NOEXT-{uuid.uuid4().hex[:6]}", name="Toko tanpa ERP", external_id=None
        )
        s.add(orphan)
        s.commit()
        orphan_id = orphan.id
    no_external_id = approved_order(sessions, shop, customer_id=orphan_id)
    good = approved_order(sessions, shop)

    try:
        run = sync.run_sync(sessions, connector=erp, push=True, pull=False)

        assert run.status == "partial"
        assert run.counts["push"] | {"due": 3} == {
            "due": 3,
            "sent": 0,
            "confirmed": 1,
            "retry_later": 0,
            "parked": 2,
        }
        box = outbox_of(sessions, unknown_product)
        assert box.state == OutboxState.parked
        assert "unknown product" in box.last_error and "999999" in box.last_error
        box2 = outbox_of(sessions, no_external_id)
        assert box2.state == OutboxState.parked
        assert "has no ERP external id" in box2.last_error
        assert load(sessions, Order, good).state == OrderState.confirmed
        assert {e["order_id"] for e in run.errors if e["kind"] == "parked"} == {
            unknown_product,
            no_external_id,
        }
        assert tryton_sales(tryton_user, upserts.sale_reference(unknown_product)) == []

        # parked rows are not retried by later runs ...
        assert sync.run_sync(sessions, connector=erp, pull=False).counts["push"]["due"] == 0
        # ... until an admin re-queues them
        with sessions() as s:
            assert sync.requeue(s, outbox_ids=[box.id]) == 1
            s.commit()
        assert outbox_of(sessions, unknown_product).state == OutboxState.pending
        assert sync.run_sync(sessions, connector=erp, pull=False).counts["push"]["due"] == 1
    finally:
        with sessions() as s:
            s.execute(delete(ErpOutbox))
            s.execute(delete(Order).where(Order.customer_id == orphan_id))
            s.execute(delete(Customer).where(Customer.id == orphan_id))
            s.commit()


# -- pull -----------------------------------------------------------------------------------


def test_a_posted_then_paid_invoice_moves_the_order_to_invoiced_then_paid(
    sessions, shop, erp, tryton_user
):
    order_id = approved_order(sessions, shop)
    sync.run_sync(sessions, connector=erp)
    (sale,) = tryton_sales(tryton_user, upserts.sale_reference(order_id))
    (invoice_id,) = sale["invoices"]
    assert load(sessions, Order, order_id).state == OrderState.confirmed  # draft invoice

    tryton_user.post_invoice(invoice_id)
    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    assert load(sessions, Order, order_id).state == OrderState.invoiced
    with sessions() as s:
        invoice = s.scalar(select(Invoice).where(Invoice.external_id == str(invoice_id)))
        assert invoice.order_id == order_id and invoice.state == "posted"
        assert invoice.customer_id == shop["customer_id"]
        assert invoice.total_amount == Decimal("101565.00")  # (67 500 + 24 000) × 1.11
        assert not invoice.paid and invoice.amount_to_pay == invoice.total_amount

    tryton_user.pay_invoice(invoice_id, description="Cash at visit")
    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    assert load(sessions, Order, order_id).state == OrderState.paid
    with sessions() as s:
        invoice = s.scalar(select(Invoice).where(Invoice.external_id == str(invoice_id)))
        assert invoice.paid and invoice.amount_to_pay == 0
        (payment,) = s.scalars(select(Payment).where(Payment.invoice_id == invoice.id))
        assert payment.amount == invoice.total_amount
    # the same data again changes nothing
    sync.run_sync(sessions, connector=erp)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Payment)) == 1
        assert s.get(Order, order_id).state == OrderState.paid


def test_a_price_change_in_tryton_reaches_our_catalogue(sessions, shop, erp, tryton_user):
    sync.run_sync(sessions, connector=erp)
    template = tryton_user.template_of(shop["coffee"])

    tryton_user("product.template", "write", [template], {"list_price": Decimal("27500")})
    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    with sessions() as s:
        product = s.scalar(select(Product).where(Product.external_id == str(shop["coffee"])))
        assert product.list_price == Decimal("27500")
        assert product.taxes and product.taxes[0]["rate"] == "0.11"


def test_pulled_customers_are_created_or_updated_by_external_id(sessions, shop, erp, tryton_user):
    newcomer = tryton_user.create_customer("Toko Baru", city="Depok", phone="+62 21 777")
    tryton_user("party.party", "write", [shop["party"]], {"name": "Toko Sync Renamed"})

    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    with sessions() as s:
        known = s.get(Customer, shop["customer_id"])
        assert known.name == "Toko Sync Renamed" and known.phone == "+62 21 555 0101"
        created = s.scalar(select(Customer).where(Customer.external_id == str(newcomer)))
        assert created.name == "Toko Baru" and created.team_id is None
        assert created.code and "Depok" in created.address and created.phone == "+62 21 777"


# -- failures -------------------------------------------------------------------------------


class Flaky:
    """The real connector, failing on chosen calls (the ERP dying mid-run)."""

    def __init__(self, inner, fail_on):
        self.inner, self.fail_on, self.calls = inner, fail_on, {}

    def __getattr__(self, name):
        method = getattr(self.inner, name)

        def call(*args, **kwargs):
            n = self.calls[name] = self.calls.get(name, 0) + 1
            if (name, n) in self.fail_on:
                raise ErpUnavailable(f"{name} call {n}: connection reset")
            return method(*args, **kwargs)

        return call


def test_an_unreachable_erp_loses_nothing_and_duplicates_nothing_once_back(
    sessions, shop, erp, tryton, tryton_user, free_port
):
    sync.run_sync(sessions, connector=erp)  # cursors caught up
    before = cursors(sessions)
    order_id = approved_order(sessions, shop)
    down = TrytonConnector(
        f"http://127.0.0.1:{free_port}",
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
        timeout=2,
    )
    t0 = dt.datetime.now(dt.UTC)

    run = sync.run_sync(sessions, connector=down)
    down.close()

    assert run.status == "failed"
    assert {(e["phase"], e["kind"]) for e in run.errors} == {
        ("push", "unavailable"),
        ("pull", "unavailable"),
    }
    box = outbox_of(sessions, order_id)
    assert box.state == OutboxState.pending and box.attempts == 1 and box.last_error
    assert t0 + dt.timedelta(seconds=55) < box.next_attempt_at < t0 + dt.timedelta(minutes=2)
    assert cursors(sessions) == before
    # not due yet: the next run leaves it alone
    assert sync.run_sync(sessions, connector=erp).counts["push"]["due"] == 0

    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    run = sync.run_sync(sessions, connector=erp, now=lambda: later)

    assert run.status == "ok", run.errors
    assert run.counts["push"]["confirmed"] == 1
    assert len(tryton_sales(tryton_user, upserts.sale_reference(order_id))) == 1
    assert outbox_of(sessions, order_id).state == OutboxState.done


def test_failures_mid_run_block_no_other_order_and_keep_the_pulled_pages(
    sessions, shop, erp, tryton_user
):
    orders = [approved_order(sessions, shop) for _ in range(3)]
    flaky = Flaky(erp, fail_on={("push_sale", 2), ("pull_products", 2)})

    run = sync.run_sync(sessions, connector=flaky, page_size=2)

    assert run.status == "partial"
    assert run.counts["push"] == {
        "due": 3,
        "sent": 0,
        "confirmed": 2,
        "retry_later": 1,
        "parked": 0,
    }
    states = [outbox_of(sessions, o).state for o in orders]
    assert states == [OutboxState.done, OutboxState.pending, OutboxState.done]
    assert run.counts["pull"]["products"] == {"pages": 1, "items": 2}
    after_one_page = cursors(sessions)["products"]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Product)) >= 2

    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)
    run = sync.run_sync(sessions, connector=erp, page_size=2, now=lambda: later)

    assert run.status == "ok", run.errors
    assert run.counts["push"]["confirmed"] == 1
    assert cursors(sessions)["products"] != after_one_page
    for order_id in orders:
        assert len(tryton_sales(tryton_user, upserts.sale_reference(order_id))) == 1
    erp_products = tryton_user(
        "product.product", "search_count", [], context={"active_test": False}
    )
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Product)) == erp_products


def test_two_runs_at_once_one_works_the_other_is_skipped(sessions, shop, erp):
    approved_order(sessions, shop)
    inside, release = threading.Event(), threading.Event()

    class Gate:
        def __getattr__(self, name):
            return getattr(erp, name)

        def push_sale(self, sale):
            inside.set()
            release.wait(30)
            return erp.push_sale(sale)

    results = {}

    def first():
        results["first"] = sync.run_sync(sessions, connector=Gate())

    thread = threading.Thread(target=first)
    thread.start()
    try:
        assert inside.wait(30)
        results["second"] = sync.run_sync(sessions, connector=erp)
    finally:
        release.set()
        thread.join(60)

    assert results["second"].status == "skipped"
    assert results["second"].counts == {}
    assert results["first"].status == "ok", results["first"].errors
    assert results["first"].counts["push"]["confirmed"] == 1
    with sessions() as s:
        statuses = sorted(s.scalars(select(SyncRun.status)))
    assert statuses == ["ok", "skipped"]


def test_backoff_is_exponential_with_a_cap():
    assert [sync.backoff(n).total_seconds() / 60 for n in range(1, 9)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
    ]


@pytest.fixture
def free_port():
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
