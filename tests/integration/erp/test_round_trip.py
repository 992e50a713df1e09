"""Orders through the API to a real Tryton 8.2 and back, as a company runs them (issue 20).

Everything goes through HTTP: the admin runs the sync (``POST /v1/sync/run``), assigns
the new customers, the rep orders; Tryton is then read over JSON-RPC as a Tryton user
would see it. The API's transaction is the test's (rolled back afterwards); Tryton keeps
what it got, so every test makes its own parties and products.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from event_drain import drain_events
from sfa.catalog.models import Product
from sfa.notifications.models import Notification
from sfa.orders.models import Order


def new_customer_in_team(client, world, party: int) -> int:
    """The admin finds the customer the sync created in the unassigned queue and gives
    it team A."""
    admin = world.headers("admin")
    queue = client.get("/v1/customers?unassigned=true&limit=1000", headers=admin).json()
    (customer,) = [c for c in queue["items"] if c["external_id"] == str(party)]
    assert customer["team_id"] is None and customer["language"] == "id"
    patched = client.patch(
        f"/v1/customers/{customer['id']}", json={"team_id": world.team_a.id}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    return customer["id"]


def product_id(client, world, code: str) -> dict:
    found = client.get(f"/v1/products?q={code}", headers=world.headers("rep_a")).json()
    (product,) = found["items"]
    return product


def order(client, world, customer_id, lines):
    return client.post(
        "/v1/orders",
        json={
            "client_id": str(uuid.uuid4()),
            "customer_id": customer_id,
            "lines": [
                {"product_id": pid, "quantity": qty, "discount_pct": disc}
                for pid, qty, disc in lines
            ],
        },
        headers=world.headers("rep_a"),
    )


def sale_lines(tryton_user, order_id) -> tuple[dict, list[dict]]:
    ids = tryton_user("sale.sale", "search", [("reference", "=", f"SFA-{order_id}")], 0, None, None)
    (sale,) = tryton_user(
        "sale.sale", "read", ids, ["state", "lines", "untaxed_amount", "currency.code"]
    )
    lines = tryton_user(
        "sale.line",
        "read",
        sale["lines"],
        ["sequence", "quantity", "unit.symbol", "base_price", "unit_price", "amount"],
    )
    return sale, sorted(lines, key=lambda ln: ln["sequence"])


@pytest.fixture
def tag():
    return uuid.uuid4().hex[:6].upper()


def test_a_quantity_must_fit_its_unit_and_travels_exactly(
    client, world, tryton_user, erp_env, sync_now, tag
):
    party = tryton_user.create_customer(f"Toko Satuan {tag}")
    tryton_user.create_product("Sabun Batang", f"SB-{tag}", Decimal("5000"))  # unit "u"
    tryton_user.create_product("Gula Pasir", f"GP-{tag}", Decimal("15500"), unit="kg")
    assert sync_now()["status"] == "ok"
    customer_id = new_customer_in_team(client, world, party)
    soap, sugar = product_id(client, world, f"SB-{tag}"), product_id(client, world, f"GP-{tag}")
    assert (soap["unit"], soap["unit_digits"], soap["unit_rounding"]) == ("u", 0, "1")
    assert (sugar["unit"], sugar["unit_digits"], sugar["unit_rounding"]) == ("kg", 2, "0.01")

    refused = order(client, world, customer_id, [(soap["id"], "2.5", "0")])

    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["message"] == (
        f"lines[0]: product {soap['id']} (Sabun Batang) is sold in whole 'u': "
        "quantity 2.5 is not possible"
    )
    assert "unit_digits" in error["hint"]

    taken = order(client, world, customer_id, [(sugar["id"], "2.5", "0"), (soap["id"], "2", "0")])

    assert taken.status_code == 201, taken.text
    assert taken.json()["state"] == "approved"
    run = sync_now()
    assert run["status"] == "ok" and run["counts"]["push"]["confirmed"] == 1, run
    _, lines = sale_lines(tryton_user, taken.json()["id"])
    assert [(ln["quantity"], ln["unit."]["symbol"]) for ln in lines] == [(2.5, "kg"), (2.0, "u")]
    got = client.get(f"/v1/orders/{taken.json()['id']}", headers=world.headers("rep_a")).json()
    assert (got["state"], got["erp_status"]) == ("confirmed", "done")


def test_a_four_decimal_price_is_the_same_on_both_sides(
    client, world, tryton_user, erp_env, sync_now, tag
):
    party = tryton_user.create_customer(f"Toko Harga {tag}")
    tryton_user.create_product("Kopi Luwak 100g", f"KL-{tag}", Decimal("12345.6789"))
    tryton_user.create_product("Teh Melati", f"TM-{tag}", Decimal("3100.1250"))
    sync_now()
    customer_id = new_customer_in_team(client, world, party)
    coffee, tea = product_id(client, world, f"KL-{tag}"), product_id(client, world, f"TM-{tag}")
    # Not cut to cents: 3100.1250 is shown with its significant decimals.
    assert (coffee["list_price"], tea["list_price"]) == ("12345.6789", "3100.125")

    placed = order(client, world, customer_id, [(coffee["id"], "3", "10"), (tea["id"], "20", "0")])

    assert placed.status_code == 201, placed.text
    mine = placed.json()
    assert mine["state"] == "approved"  # 3.74 % overall: approved at once
    assert [(ln["net_price"], ln["net_amount"]) for ln in mine["lines"]] == [
        ("11111.111", "33333.33"),  # 12,345.6789 less 10 % = 11,111.1110; × 3, to the cent
        ("3100.125", "62002.50"),
    ]
    assert mine["net_amount"] == "95335.83"

    assert sync_now()["counts"]["push"]["confirmed"] == 1

    sale, lines = sale_lines(tryton_user, mine["id"])
    assert [(ln["base_price"], ln["unit_price"], ln["amount"]) for ln in lines] == [
        (Decimal("12345.6789"), Decimal("11111.1110"), Decimal("33333.33")),
        (Decimal("3100.1250"), Decimal("3100.1250"), Decimal("62002.50")),
    ]
    assert sale["untaxed_amount"] == Decimal(mine["net_amount"])
    assert [Decimal(ln["net_amount"]) for ln in mine["lines"]] == [ln["amount"] for ln in lines]


def test_a_parked_order_is_corrected_or_cancelled_never_stuck(
    client, world, db, tryton_user, erp_env, sync_now, tag
):
    """A product synced before units were kept (unit_digits unknown): Tryton refuses
    2.5 of it, the order is parked; the admin corrects one order and cancels another."""
    party = tryton_user.create_customer(f"Toko Parkir {tag}")
    tryton_user.create_product("Lilin", f"LL-{tag}", Decimal("2000"))
    sync_now()
    customer_id = new_customer_in_team(client, world, party)
    candle = product_id(client, world, f"LL-{tag}")
    stored = db.scalar(select(Product).where(Product.id == candle["id"]))
    stored.unit_digits, stored.unit_rounding = None, None
    db.flush()
    first = order(client, world, customer_id, [(candle["id"], "2.5", "0")]).json()
    second = order(client, world, customer_id, [(candle["id"], "1.5", "0")]).json()
    # the second one left a draft in Tryton, as a push interrupted half-way would
    (address,) = tryton_user("party.address", "search", [("party", "=", party)], 0, 1, None)
    tryton_user(
        "sale.sale",
        "create",
        [{"party": party, "invoice_address": address, "reference": f"SFA-{second['id']}"}],
    )

    run = sync_now()

    assert run["counts"]["push"]["parked"] == 2, run
    rep, admin = world.headers("rep_a"), world.headers("admin")
    seen = client.get(f"/v1/orders/{first['id']}", headers=rep).json()
    assert (seen["state"], seen["erp_status"]) == ("approved", "parked")
    assert "Quantity" in seen["erp_problem"]  # Tryton's own digits message

    corrected = client.post(
        f"/v1/orders/{first['id']}/correct",
        json={"lines": [{"line_no": 1, "quantity": "2"}], "note": "lilin dijual per batang"},
        headers=admin,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["lines"][0]["quantity"] == "2.0000"
    assert (corrected.json()["net_amount"], corrected.json()["erp_status"]) == (
        "4000.00",
        "pending",
    )
    cancelled = client.post(
        f"/v1/orders/{second['id']}/cancel", json={"reason": "pelanggan batal"}, headers=admin
    )
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["state"] == "cancelled"

    run = sync_now()

    assert (run["counts"]["push"]["confirmed"], run["counts"]["push"]["cancelled"]) == (1, 1), run
    sale, lines = sale_lines(tryton_user, first["id"])
    assert [ln["quantity"] for ln in lines] == [2.0] and sale["state"] == "processing"
    drafts = tryton_user(
        "sale.sale",
        "search_read",
        [("reference", "=", f"SFA-{second['id']}")],
        0,
        None,
        None,
        ["state"],
    )
    assert [d["state"] for d in drafts] == ["cancelled"]
    assert db.get(Order, first["id"]).state.value == "confirmed"
    drain_events(db)  # the built-in workflows order-corrected and order-cancelled
    told = {
        (n.template, n.payload.get("note"))
        for n in db.scalars(
            select(Notification).where(Notification.recipient_user_id == world.rep_a.id)
        )
    }
    assert ("order_corrected_rep", "lilin dijual per batang") in told
    assert ("order_cancelled_rep", "pelanggan batal") in told
