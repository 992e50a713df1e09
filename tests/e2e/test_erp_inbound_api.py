"""Inbound ERP data over HTTP (`/v1/erp/*`, scope `erp:write`) and the sync admin routes."""

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.auth import service as auth_service
from sfa.catalog.models import CustomerPrice, Product
from sfa.customers.models import Customer
from sfa.erp.models import Invoice, Payment, SyncRun
from sfa.orders.models import Order, OrderState


@pytest.fixture
def erp_key(db, world):
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(db, actor=admin, name="tryton", scopes=["erp:write"])
    db.commit()
    return {"X-API-Key": plaintext}


def product(external_id, price="25000.00", **extra):
    return {
        "external_id": external_id,
        "code": f"P-{external_id}",
        "name": "Kopi 250g",
        "unit": "u",
        "list_price": price,
        "currency": "IDR",
        "taxes": [{"external_id": "1", "name": "PPN 11%", "type": "percentage", "rate": "0.11"}],
        **extra,
    }


def test_products_are_upserted_by_external_id_and_bad_items_reported(client, db, erp_key):
    body = [
        product("9001"),
        {"external_id": "9002", "name": "no unit"},
        product("9003", price="-5"),
    ]

    response = client.post("/v1/erp/products", json=body, headers=erp_key)

    assert response.status_code == 200, response.text
    out = response.json()
    assert out["upserted"] == 1
    assert [r["index"] for r in out["rejected"]] == [1, 2]
    assert "unit" in out["rejected"][0]["reason"]
    # again, with a new price: one row, updated
    again = client.post("/v1/erp/products", json=[product("9001", price="27500")], headers=erp_key)
    assert again.json() == {"upserted": 1, "rejected": []}
    rows = db.scalars(select(Product).where(Product.external_id == "9001")).all()
    assert len(rows) == 1 and rows[0].list_price == Decimal("27500")
    assert rows[0].taxes[0]["rate"] == "0.11"


def test_customers_are_created_without_territory_or_updated(client, db, world, erp_key):
    world.customer_a.external_id = "501"
    db.commit()
    body = [
        {
            "external_id": "501",
            "name": "Toko A Baru",
            "phone": "+62 21 1",
            "street": "Jl. Merdeka 1",
            "city": "Jakarta",
        },
        {"external_id": "777", "code": "C777", "name": "Toko Tujuh", "email": "tujuh@example.com"},
        {"external_id": "778", "name": ""},
    ]

    out = client.post("/v1/erp/customers", json=body, headers=erp_key).json()

    assert out["upserted"] == 2 and [r["index"] for r in out["rejected"]] == [2]
    db.expire_all()
    known = db.get(Customer, world.customer_a.id)
    assert (known.name, known.phone, known.address) == (
        "Toko A Baru",
        "+62 21 1",
        "Jl. Merdeka 1, Jakarta",
    )
    assert known.team_id == world.team_a.id  # territory untouched
    new = db.scalar(select(Customer).where(Customer.external_id == "777"))
    assert new.code == "C777" and new.team_id is None and new.email == "tujuh@example.com"


def test_a_new_customer_with_a_position_joins_the_nearest_team_else_the_queue(
    client, db, world, erp_key
):
    """customer_a (team A) is at -6.2000, 106.8000; BD01 / B001 (team B) near -6.3, 106.9."""
    body = [
        # ~110 m from customer_a: team A's territory
        {"external_id": "801", "name": "Toko Dekat A", "latitude": -6.2010, "longitude": 106.8},
        # ~1.4 km from B001: team B
        {"external_id": "802", "name": "Toko Dekat B", "latitude": -6.2900, "longitude": 106.905},
        # far from everyone (Bandung): no team within the radius
        {"external_id": "803", "name": "Toko Jauh", "latitude": -6.9175, "longitude": 107.6191},
        # no position (as every Tryton party): the queue, in the ERP's language
        {"external_id": "804", "name": "Toko Tanpa Peta", "language": "en"},
    ]

    out = client.post("/v1/erp/customers", json=body, headers=erp_key).json()

    assert out == {"upserted": 4, "rejected": []}
    by_id = {
        c.external_id: c
        for c in db.scalars(
            select(Customer).where(Customer.external_id.in_(["801", "802", "803", "804"]))
        )
    }
    assert by_id["801"].team_id == world.team_a.id
    assert by_id["802"].team_id == world.team_b.id
    assert by_id["803"].team_id is None and by_id["804"].team_id is None
    assert by_id["801"].location_status == "imported"
    assert {c.language for key, c in by_id.items() if key != "804"} == {"id"}  # the company's
    assert by_id["804"].language == "en"
    queue = client.get("/v1/customers?unassigned=true", headers=world.headers("admin")).json()
    assert {c["external_id"] for c in queue["items"]} == {"803", "804"}
    # a manager sees no one else's queue: the unassigned customers are nobody's team
    theirs = client.get("/v1/customers?unassigned=true", headers=world.headers("manager_a"))
    assert theirs.status_code == 200 and theirs.json()["items"] == []


def test_prices_need_a_known_customer_and_product(client, db, world, erp_key):
    world.customer_a.external_id = "601"
    db.commit()
    client.post("/v1/erp/products", json=[product("9101")], headers=erp_key)
    body = [
        {"customer_external_id": "601", "product_external_id": "9101", "price": "24000"},
        {"customer_external_id": "nope", "product_external_id": "9101", "price": "1"},
        {"customer_external_id": "601", "product_external_id": "nope", "price": "1"},
    ]

    out = client.post("/v1/erp/prices", json=body, headers=erp_key).json()

    assert out["upserted"] == 1
    assert [(r["index"], r["reason"].split(" external")[0]) for r in out["rejected"]] == [
        (1, "unknown customer"),
        (2, "unknown product"),
    ]
    price = db.scalar(select(CustomerPrice).where(CustomerPrice.customer_id == world.customer_a.id))
    assert price.price == Decimal("24000")


def test_invoices_and_payments_move_the_order_to_invoiced_then_paid(client, db, world, erp_key):
    world.customer_a.external_id = "701"
    order = Order(
        client_id=uuid.uuid4(),
        request_hash="h" * 64,
        rep_id=world.rep_a.id,
        customer_id=world.customer_a.id,
        state=OrderState.confirmed,
        currency="IDR",
        gross_amount=Decimal(100000),
        discount_amount=0,
        net_amount=Decimal(100000),
        discount_pct=0,
        erp_sale_id="55",
    )
    db.add(order)
    db.commit()
    invoice = {
        "external_id": "I-1",
        "number": "INV/1",
        "state": "posted",
        "customer_external_id": "701",
        "sale_references": [f"SFA-{order.id}"],
        "currency": "IDR",
        "invoice_date": "2026-11-20",
        "due_date": "2026-12-20",
        "total_amount": "111000",
        "amount_to_pay": "111000",
    }

    out = client.post("/v1/erp/invoices", json=[invoice], headers=erp_key).json()

    assert out == {"upserted": 1, "rejected": []}
    db.expire_all()
    assert db.get(Order, order.id).state == OrderState.invoiced
    stored = db.scalar(select(Invoice).where(Invoice.external_id == "I-1"))
    assert stored.order_id == order.id and stored.customer_id == world.customer_a.id

    payments = [
        {
            "external_id": "P-1",
            "invoice_external_id": "I-1",
            "amount": "111000",
            "currency": "IDR",
            "date": "2026-11-25",
            "method": "Cash",
        },
        {"external_id": "P-2", "invoice_external_id": "I-404", "amount": "5"},
    ]
    out = client.post("/v1/erp/payments", json=payments, headers=erp_key).json()
    assert out["upserted"] == 1 and out["rejected"][0]["index"] == 1
    paid = dict(invoice, state="paid", amount_to_pay="0")
    client.post("/v1/erp/invoices", json=[paid], headers=erp_key)
    db.expire_all()
    assert db.get(Order, order.id).state == OrderState.paid
    payment = db.scalar(select(Payment).where(Payment.external_id == "P-1"))
    assert payment.invoice_id == stored.id and payment.amount == Decimal("111000")


def test_batches_are_limited_and_need_the_erp_scope(client, world, erp_key):
    too_many = client.post("/v1/erp/products", json=[{}] * 1001, headers=erp_key)
    assert too_many.status_code == 422
    assert too_many.json()["error"]["code"] == "invalid_input"
    not_a_list = client.post("/v1/erp/products", json={"x": 1}, headers=erp_key)
    assert not_a_list.status_code == 422
    for who in ("rep_a", "manager_a"):
        refused = client.post("/v1/erp/products", json=[product("1")], headers=world.headers(who))
        assert refused.status_code == 403


def test_sync_routes_are_for_admins(client, db, world, erp_key):
    db.add(
        SyncRun(
            trigger="schedule", status="ok", counts={"push": {"due": 0}}, errors=[], duration_ms=12
        )
    )
    db.commit()

    page = client.get("/v1/sync/runs", headers=world.headers("admin")).json()

    assert page["total"] >= 1 and page["items"][0]["status"] == "ok"
    assert page["items"][0]["counts"] == {"push": {"due": 0}}
    assert client.get("/v1/sync/runs", headers=erp_key).status_code == 403
    assert client.get("/v1/sync/runs", headers=world.headers("manager_a")).status_code == 403
    # no SFA_ERP_URL in the test settings: running now says how to enable it
    response = client.post("/v1/sync/run", headers=world.headers("admin"))
    assert response.status_code == 409
    assert "SFA_ERP_URL" in response.json()["error"]["hint"]
