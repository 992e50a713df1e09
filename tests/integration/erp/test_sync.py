"""The ERP sync engine against a real Tryton (conftest.py) and the real PostGIS test DB.

The engine commits per outbox row and per pulled page, and takes its lock on its own
connection, so these tests use real sessions on the test database (``sessions``) and
delete what they committed afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import uuid
from decimal import Decimal

import pytest
from polling import wait_until
from sqlalchemy import delete, func, select

from integrations.erp.tryton import TrytonConnector
from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.erp import runs, sync, upserts
from sfa.erp.connector import ErpSale, ErpSaleLine, ErpUnavailable
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
                    net_price=price * (1 - disc / 100),
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
        assert run.counts["push"] == {
            "due": 3,
            "sent": 0,
            "confirmed": 1,
            "retry_later": 0,
            "parked": 2,
            "cancelled": 0,
            "waiting": 0,
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


def test_only_customer_parties_are_pulled_with_a_language_and_a_queue_for_their_team(
    sessions, shop, erp, tryton_user, tryton
):
    """Suppliers, parties without a customer role and the company itself stay out; a
    party that buys for the first time comes in with the next incremental pull."""
    (english_lang,) = tryton_user("ir.lang", "search", [("code", "=", "en")], 0, 1, None)
    supplier = tryton_user.create_customer("CV Pemasok Kopi", category="supplier")
    stranger = tryton_user.create_customer("Tanpa Peran", category=None)
    english = tryton_user.create_customer("Toko English", lang=english_lang)
    plain = tryton_user.create_customer("Toko Biasa")
    buyer = tryton_user.create_customer("Toko Pembeli", category=None)

    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    pulled = run.counts["pull"]["customers"]
    assert pulled["not_customers"] >= 4  # those three, the company's own party, ...
    assert pulled["unassigned"] >= 1
    with sessions() as s:
        by_party = {c.external_id: c for c in s.scalars(select(Customer))}
    for outsider in (supplier, stranger, buyer, tryton.meta["company_party_id"]):
        assert str(outsider) not in by_party
    assert by_party[str(english)].language == "en"
    assert by_party[str(plain)].language == "id"  # the company's
    # Tryton addresses have no position: new customers wait in the queue for a team
    assert by_party[str(english)].team_id is None and by_party[str(plain)].team_id is None

    erp.push_sale(
        ErpSale(
            f"TRYTON-{uuid.uuid4().hex[:8]}",
            str(buyer),
            (ErpSaleLine(str(shop["coffee"]), Decimal(1), Decimal("25000")),),
        )
    )
    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    with sessions() as s:
        arrived = s.scalar(select(Customer).where(Customer.external_id == str(buyer)))
        assert arrived is not None and arrived.name == "Toko Pembeli"
        assert s.scalar(select(Customer).where(Customer.external_id == str(supplier))) is None


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


def test_an_unreachable_erp_loses_nothing_and_charges_no_order_an_attempt(
    sessions, shop, erp, tryton, tryton_user, free_port
):
    sync.run_sync(sessions, connector=erp)  # cursors caught up
    before = cursors(sessions)
    order_id = approved_order(sessions, shop)
    queued_at = outbox_of(sessions, order_id).next_attempt_at
    down = TrytonConnector(
        f"http://127.0.0.1:{free_port}",
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
        timeout=2,
    )

    run = sync.run_sync(sessions, connector=down)
    down.close()

    # The check finds the ERP down: the run says so once and touches nothing.
    assert run.status == "failed"
    assert [(e["phase"], e["kind"]) for e in run.errors] == [("check", "unavailable")]
    assert "cannot reach Tryton" in run.errors[0]["message"]
    box = outbox_of(sessions, order_id)
    assert box.state == OutboxState.pending and box.attempts == 0 and box.last_error is None
    assert box.next_attempt_at == queued_at
    assert cursors(sessions) == before

    run = sync.run_sync(sessions, connector=erp)

    assert run.status == "ok", run.errors
    assert run.counts["push"]["confirmed"] == 1
    assert len(tryton_sales(tryton_user, upserts.sale_reference(order_id))) == 1
    assert outbox_of(sessions, order_id).state == OutboxState.done


def test_an_order_waiting_to_retry_is_shown_and_an_admins_run_sends_it(
    sessions, shop, erp, tryton_user
):
    """The ERP failed on this order mid-run: it backs off. A scheduled run says what
    waits and until when; a manual run (the admin's) sends it at once."""
    order_id = approved_order(sessions, shop)
    flaky = Flaky(erp, fail_on={("push_sale", 1)})
    t0 = dt.datetime.now(dt.UTC)
    first = sync.run_sync(sessions, connector=flaky, pull=False)
    assert first.counts["push"]["retry_later"] == 1
    box = outbox_of(sessions, order_id)
    assert box.attempts == 1 and "connection reset" in box.last_error
    assert t0 + dt.timedelta(seconds=55) < box.next_attempt_at < t0 + dt.timedelta(minutes=2)

    scheduled = sync.run_sync(sessions, connector=erp, trigger="schedule", pull=False)

    assert scheduled.counts["push"]["due"] == 0
    assert scheduled.counts["push"]["waiting"] == 1
    until = dt.datetime.fromisoformat(scheduled.counts["push"]["waiting_until"])
    assert until == box.next_attempt_at
    (note,) = runs.run_notes(scheduled)
    assert "1 order(s) wait to be sent again" in note and "POST /v1/sync/run" in note

    manual = sync.run_sync(sessions, connector=erp, trigger="manual", pull=False, push_waiting=True)

    assert manual.status == "ok", manual.errors
    assert (manual.counts["push"]["due"], manual.counts["push"]["confirmed"]) == (1, 1)
    assert manual.counts["push"]["waiting"] == 0
    assert len(tryton_sales(tryton_user, upserts.sale_reference(order_id))) == 1


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
        "cancelled": 0,
        "waiting": 0,
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


_DYING_SYNC = """
import pathlib, sys, time
from integrations.erp.tryton import TrytonConnector
from sfa.db import get_sessionmaker
from sfa.erp import sync

url, database, login, password, marker = sys.argv[1:]
erp = TrytonConnector(url, database, login, password)


class DiesHoldingTheSale:
    def __getattr__(self, name):
        return getattr(erp, name)

    def push_sale(self, sale):
        ref = erp.push_sale(sale)  # Tryton holds the sale now
        pathlib.Path(marker).write_text(ref.external_id)
        time.sleep(600)  # killed here, before anything of ours commits


sync.run_sync(get_sessionmaker(), connector=DiesHoldingTheSale(), trigger="schedule")
"""


def test_a_run_whose_process_died_shows_interrupted_at_once(
    sessions, shop, tryton, tryton_user, erp, database_url, tmp_path
):
    order_id = approved_order(sessions, shop)
    marker = tmp_path / "sale-created"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            _DYING_SYNC,
            tryton.url,
            tryton.database,
            tryton.meta["connector_login"],
            tryton.meta["connector_password"],
            str(marker),
        ],
        env=os.environ | {"SFA_DATABASE_URL": database_url},
    )
    try:
        wait_until(marker.exists, seconds=120)

        def newest():
            with sessions() as s:
                run = sync.list_runs(s, limit=1, offset=0).items[0]
                s.commit()
                return run

        assert newest().status == "running"  # alive: its lock is held
    finally:
        child.kill()  # by pid: the process this test started
        child.wait(timeout=30)

    wait_until(lambda: newest().status == "interrupted", seconds=10)
    dead = newest()
    assert dead.finished_at is not None
    assert [e["kind"] for e in dead.errors] == ["interrupted"]

    run = sync.run_sync(sessions, connector=erp, pull=False)

    assert run.status == "ok", run.errors
    (sale,) = tryton_sales(tryton_user, upserts.sale_reference(order_id))
    assert str(sale["id"]) == marker.read_text()  # the dead run's sale, not a second one
    assert load(sessions, Order, order_id).state == OrderState.confirmed


def test_a_new_run_closes_the_row_a_dead_run_left_running(sessions, erp):
    with sessions() as s:
        dead = SyncRun(trigger="schedule", status="running", counts={}, errors=[])
        s.add(dead)
        s.commit()

    run = sync.run_sync(sessions, connector=erp, push=False, pull=False)

    assert run.status == "ok", run.errors
    closed = load(sessions, SyncRun, dead.id)
    assert closed.status == "interrupted" and closed.finished_at is not None


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
