import csv
import io
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import select

from sfa.audit.models import AuditEntry
from sfa.catalog.models import Product
from sfa.orders.models import ErpOutbox


@pytest.fixture
def product(db):
    row = Product(
        external_id="erp-25k",
        code="K25",
        name="Kopi 25K",
        unit="pcs",
        list_price=Decimal("25000"),
        currency="IDR",
    )
    db.add(row)
    db.commit()
    return row


def body(world, product, discount=10, quantity=3, **extra):
    return {
        "client_id": str(uuid.uuid4()),
        "customer_id": world.customer_a.id,
        "lines": [{"product_id": product.id, "quantity": quantity, "discount_pct": discount}],
    } | extra


def post(client, world, payload, who="rep_a"):
    return client.post("/v1/orders", json=payload, headers=world.headers(who))


def test_order_amounts_replay_and_conflict(client, world, product):
    payload = body(world, product, note="antar besok")
    first = post(client, world, payload)
    assert first.status_code == 201, first.text
    order = first.json()
    assert (order["gross_amount"], order["discount_amount"], order["net_amount"]) == (
        "75000.00",
        "7500.00",
        "67500.00",
    )
    assert order["discount_pct"] == "10.000"
    assert (order["state"], order["approval_tier"], order["currency"]) == (
        "submitted",
        "single",
        "IDR",
    )
    assert order["lines"] == [
        {
            "line_no": 1,
            "product_id": product.id,
            "quantity": "3.0000",
            "unit_price": "25000.00",
            "discount_pct": "10.000",
            "net_price": "22500.00",
            "net_amount": "67500.00",
        }
    ]
    [step] = order["approvals"]
    assert (step["level"], step["approver_id"], step["state"]) == (1, world.manager_a.id, "pending")
    replay = post(client, world, payload | {"sent_at": "2026-11-16T10:00:00+07:00"})
    assert replay.status_code == 200 and replay.json()["id"] == order["id"]
    changed = post(client, world, payload | {"note": "other"})
    assert changed.status_code == 409 and "client_id" in changed.json()["error"]["message"]


def test_client_cannot_set_prices_and_bad_lines_are_refused(client, world, product):
    priced = body(world, product)
    priced["lines"][0]["unit_price"] = 1
    assert post(client, world, priced).status_code == 422
    for line in (
        {"product_id": product.id, "quantity": 0},
        {"product_id": product.id, "quantity": 1, "discount_pct": 101},
    ):
        assert post(client, world, body(world, product) | {"lines": [line]}).status_code == 422
    unknown = post(
        client, world, body(world, product) | {"lines": [{"product_id": 999999, "quantity": 1}]}
    )
    assert unknown.status_code == 422
    assert "product 999999 does not exist" in unknown.json()["error"]["message"]
    foreign = post(client, world, body(world, product) | {"customer_id": world.customer_b.id})
    assert foreign.status_code == 404
    assert post(client, world, body(world, product), who="manager_a").status_code == 403


def test_two_level_approval_over_http(client, world, product, db):
    order = post(client, world, body(world, product, discount=20)).json()
    assert order["approval_tier"] == "double"
    url = f"/v1/orders/{order['id']}"
    assert client.post(f"{url}/approve", headers=world.headers("rep_a")).status_code == 403
    assert client.post(f"{url}/approve", headers=world.headers("manager_b")).status_code == 404
    queue = client.get("/v1/approvals", headers=world.headers("manager_a")).json()
    assert [(i["order_id"], i["level"], i["discount_pct"]) for i in queue["items"]] == [
        (order["id"], 1, "20.000")
    ]
    assert client.get("/v1/approvals", headers=world.headers("manager_b")).json()["total"] == 0
    step1 = client.post(
        f"{url}/approve", json={"note": "pelanggan lama"}, headers=world.headers("manager_a")
    )
    assert step1.status_code == 200 and step1.json()["state"] == "submitted"
    assert client.post(f"{url}/approve", headers=world.headers("manager_a")).status_code == 403
    done = client.post(f"{url}/approve", headers=world.headers("admin")).json()
    assert done["state"] == "approved"
    assert [(a["level"], a["state"]) for a in done["approvals"]] == [
        (1, "approved"),
        (2, "approved"),
    ]
    rows = db.scalars(select(ErpOutbox).where(ErpOutbox.order_id == order["id"])).all()
    assert [r.state for r in rows] == ["pending"]
    actions = db.scalars(
        select(AuditEntry.action).where(
            AuditEntry.entity == "order", AuditEntry.entity_id == str(order["id"])
        )
    ).all()
    assert actions.count("approve") == 2
    again = client.post(f"{url}/reject", headers=world.headers("admin"))
    assert again.status_code == 409


def test_rejection_over_http(client, world, product):
    order = post(client, world, body(world, product, discount=12)).json()
    rejected = client.post(
        f"/v1/orders/{order['id']}/reject",
        json={"note": "terlalu besar"},
        headers=world.headers("manager_a"),
    )
    assert rejected.status_code == 200
    assert rejected.json()["state"] == "rejected"
    assert rejected.json()["approvals"][0]["note"] == "terlalu besar"


def test_auto_approved_order_cancelled_before_sending(client, world, product, db):
    order = post(client, world, body(world, product, discount=5)).json()
    assert (order["state"], order["approval_tier"]) == ("approved", "auto")
    url = f"/v1/orders/{order['id']}/cancel"
    assert client.post(url, headers=world.headers("rep_a2")).status_code == 404
    assert client.post(url, headers=world.headers("manager_a")).status_code == 403
    cancelled = client.post(url, headers=world.headers("rep_a"))
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    row = db.scalars(select(ErpOutbox).where(ErpOutbox.order_id == order["id"])).one()
    db.refresh(row)
    assert (row.state, row.last_error) == ("done", "cancelled before sending")


def test_draft_then_submit(client, world, product):
    draft = post(client, world, body(world, product, discount=0, submit=False)).json()
    assert (draft["state"], draft["approval_tier"], draft["approvals"]) == ("draft", None, [])
    submitted = client.post(f"/v1/orders/{draft['id']}/submit", headers=world.headers("rep_a"))
    assert submitted.status_code == 200
    assert (submitted.json()["state"], submitted.json()["approval_tier"]) == ("approved", "auto")


def test_visibility_filters_and_csv(client, world, product):
    mine = post(client, world, body(world, product, discount=0)).json()
    other = post(client, world, body(world, product, discount=10), who="rep_a2").json()
    rep_view = client.get("/v1/orders", headers=world.headers("rep_a")).json()
    assert [o["id"] for o in rep_view["items"]] == [mine["id"]]
    assert (
        client.get(f"/v1/orders/{other['id']}", headers=world.headers("rep_a")).status_code == 404
    )
    manager = client.get("/v1/orders", headers=world.headers("manager_a")).json()
    assert {o["id"] for o in manager["items"]} == {mine["id"], other["id"]}
    assert client.get("/v1/orders", headers=world.headers("manager_b")).json()["total"] == 0
    submitted = client.get("/v1/orders?state=submitted", headers=world.headers("admin")).json()
    assert [o["id"] for o in submitted["items"]] == [other["id"]]
    by_rep = client.get(
        f"/v1/orders?rep_id={world.rep_a2.id}&date_from=2000-01-01",
        headers=world.headers("manager_a"),
    ).json()
    assert [o["id"] for o in by_rep["items"]] == [other["id"]]
    assert (
        client.get("/v1/orders?date_to=2000-01-01", headers=world.headers("admin")).json()["total"]
        == 0
    )
    response = client.get("/v1/orders?format=csv", headers=world.headers("manager_a"))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["net_amount"] for r in rows) == ["67500.00", "75000.00"]


@pytest.mark.parametrize(
    ("discount", "state", "tier", "levels"),
    [
        ("5.00", "approved", "auto", []),
        ("5.01", "submitted", "single", [(1, "manager")]),
        ("15.00", "submitted", "single", [(1, "manager")]),
        ("15.01", "submitted", "double", [(1, "manager")]),
    ],
)
def test_tier_boundaries_are_decided_in_the_submit_response(
    client, world, product, discount, state, tier, levels
):
    """The Discount approval workflow runs in the POST's transaction: no drain needed."""
    order = post(client, world, body(world, product, discount=discount, quantity=1)).json()
    assert (order["discount_pct"], order["state"], order["approval_tier"]) == (
        f"{Decimal(discount):.3f}",
        state,
        tier,
    )
    assert order["erp_status"] == ("pending" if state == "approved" else None)
    approvers = {world.manager_a.id: "manager"}
    assert [(a["level"], approvers[a["approver_id"]]) for a in order["approvals"]] == levels


def test_an_undecided_level_escalates_to_the_admins(client, world, product, db):
    from datetime import UTC, datetime, timedelta

    from sfa.workflows import timers

    order = post(client, world, body(world, product, discount=12)).json()
    url = f"/v1/orders/{order['id']}"
    (level,) = order["approvals"]
    due = datetime.fromisoformat(level["due_at"])
    assert due - datetime.fromisoformat(order["submitted_at"]) == timedelta(hours=24)
    assert timers.wake_due(db, now=datetime.now(UTC) + timedelta(hours=23)) == 0
    assert timers.wake_due(db, now=due) == 1
    db.commit()
    escalated = client.get(url, headers=world.headers("manager_a")).json()
    assert [(a["state"], a["approver_id"], a["approver_role"]) for a in escalated["approvals"]] == [
        ("escalated", world.manager_a.id, None),
        ("pending", None, "admin"),
    ]
    assert client.post(f"{url}/approve", headers=world.headers("manager_a")).status_code == 403
    done = client.post(f"{url}/approve", headers=world.headers("admin"))
    assert done.status_code == 200 and done.json()["state"] == "approved"
