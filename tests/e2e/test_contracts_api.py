"""Contracts over HTTP: visibility as for customers, CURE routing stored and shown, the
renewal chain, status rules, staff."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from crm_factories import make_contract, principal
from factories import make_user
from sfa.catalog.models import Product
from sfa.contracts import staff
from sfa.contracts.models import RenewalDecision
from sfa.users.models import Role


def body(world, **extra):
    return {
        "customer_id": world.customer_a.id,
        "title": "Listing fee 2026",
        "acv": "120000000",
        "start_date": "2026-01-01",
        "end_date": "2026-12-31",
    } | extra


@pytest.fixture
def account_manager(db, world):
    user = make_user(db, "am.sari", Role.manager)
    user.full_name = "Sari"
    staff.add_staff(
        db, principal=principal(db, world.admin), user_id=user.id, role="account_manager"
    )
    db.commit()
    return user


def test_manager_creates_a_contract_in_the_company_currency(client, world):
    response = client.post(
        "/v1/contracts",
        json=body(world, roles={"sales_rep": world.rep_a.id}, notice_days=30),
        headers=world.headers("manager_a"),
    )
    assert response.status_code == 201, response.text
    contract = response.json()
    assert contract["currency"] == "IDR" and Decimal(contract["acv"]) == Decimal(120_000_000)
    assert contract["status"] == "active"
    assert contract["roles"] == {"sales_rep": world.rep_a.id}
    assert contract["notice_deadline"] == "2026-12-01"
    assert contract["renewal"] is None


def test_other_currency_dates_and_foreign_customers_are_refused(client, world):
    headers = world.headers("manager_a")
    usd = client.post("/v1/contracts", json=body(world, currency="USD"), headers=headers)
    assert usd.status_code == 422 and "company currency IDR" in usd.json()["error"]["message"]
    backwards = client.post(
        "/v1/contracts", json=body(world, end_date="2025-12-31"), headers=headers
    )
    assert backwards.status_code == 422
    foreign = client.post(
        "/v1/contracts", json=body(world, customer_id=world.customer_b.id), headers=headers
    )
    assert foreign.status_code == 404
    foreign_rep = client.post(
        "/v1/contracts", json=body(world, roles={"sales_rep": world.rep_b.id}), headers=headers
    )
    assert foreign_rep.status_code == 404


def test_visibility_is_as_for_customers(client, db, world):
    mine = make_contract(db, world.admin, world.customer_a, 10_000_000)
    theirs = make_contract(db, world.admin, world.customer_b, 10_000_000)
    db.commit()
    for who in ("rep_a", "manager_a"):
        page = client.get("/v1/contracts", headers=world.headers(who)).json()
        assert [c["id"] for c in page["items"]] == [mine.id], who
        assert (
            client.get(f"/v1/contracts/{theirs.id}", headers=world.headers(who)).status_code == 404
        )
    assert client.get("/v1/contracts", headers=world.headers("admin")).json()["total"] == 2
    # Reps read their team's contracts but do not write them.
    refused = client.patch(
        f"/v1/contracts/{mine.id}", json={"title": "x"}, headers=world.headers("rep_a")
    )
    assert refused.status_code == 403


def test_routing_is_stored_with_its_reasons_and_shown_on_the_contract(
    client, db, world, account_manager
):
    contract = make_contract(db, world.admin, world.customer_a, 620_000_000)
    db.commit()
    routed = client.post(f"/v1/contracts/{contract.id}/route", headers=world.headers("manager_a"))
    assert routed.status_code == 201, routed.text
    decision = routed.json()
    assert decision["owner_id"] == account_manager.id
    assert (
        decision["summary"]
        == "ACV 620 M ≥ enterprise tier 500 M → account manager Sari (0 open renewals)"
    )
    assert decision["create_opportunity"] is True
    shown = client.get(
        f"/v1/contracts/{contract.id}?lang=id", headers=world.headers("manager_a")
    ).json()
    assert shown["renewal_owner_id"] == account_manager.id
    assert shown["renewal"]["summary"].startswith("ACV 620 jt ≥ batas enterprise 500 jt")
    assert [r["lens"] for r in shown["renewal"]["reasons"]] == [
        "size",
        "upsell",
        "enterprise",
        "resources",
    ]
    # The account manager of another team sees the contract they now own.
    mine = client.get("/v1/contracts", headers={"Authorization": _bearer(account_manager)})
    assert [c["id"] for c in mine.json()["items"]] == [contract.id]
    stored = db.scalar(select(RenewalDecision).where(RenewalDecision.contract_id == contract.id))
    assert stored.facts["pool"]["account_manager"][0]["user_id"] == account_manager.id
    assert stored.policy["enterprise_tier_min"] == "500000000"


def _bearer(user) -> str:
    from factories import auth_header

    return auth_header(user)["Authorization"]


def test_routing_follows_the_settings(client, db, world, account_manager):
    contract = make_contract(db, world.admin, world.customer_a, 620_000_000)
    db.commit()
    raised = client.patch(
        "/v1/settings",
        json={"renewal_enterprise_tier_min": "1000000000"},
        headers=world.headers("admin"),
    )
    assert raised.status_code == 200, raised.text
    decision = client.post(
        f"/v1/contracts/{contract.id}/route", headers=world.headers("admin")
    ).json()
    # Mid tier now; no renewal manager in the company: the account manager by fallback.
    assert decision["tier"] == "mid"
    assert (
        "no renewal manager in the company; fallback → account manager Sari"
        in (decision["summary"])
    )


def test_small_contract_with_upsell_products_goes_to_a_seller_with_the_products(client, db, world):
    product = Product(external_id="p-teh", code="TEH", name="Teh Botol", unit="pcs")
    db.add(product)
    db.flush()
    contract = make_contract(
        db,
        world.admin,
        world.customer_a,
        10_000_000,
        upsell_product_ids=[product.id],
        roles={"sales_rep": world.rep_a2.id},
    )
    db.commit()
    decision = client.post(
        f"/v1/contracts/{contract.id}/route", headers=world.headers("admin")
    ).json()
    # No account manager in the company: the contract's own sales rep.
    assert (decision["owner_role"], decision["owner_id"]) == ("sales_rep", world.rep_a2.id)
    assert decision["summary"].startswith("upsell potential (products: Teh Botol)")
    shown = client.get(f"/v1/contracts/{contract.id}", headers=world.headers("admin")).json()
    assert shown["upsell_products"] == [{"id": product.id, "code": "TEH", "name": "Teh Botol"}]


def test_balancing_counts_open_renewals_per_person(client, db, world):
    # Two renewal managers; the one who already owns an open renewal gets none more.
    first = make_user(db, "rm.one", Role.manager)
    second = make_user(db, "rm.two", Role.manager)
    admin = principal(db, world.admin)
    for user in (first, second):
        staff.add_staff(db, principal=admin, user_id=user.id, role="renewal_manager")
    contracts = [make_contract(db, world.admin, world.customer_a, 100_000_000) for _ in range(3)]
    db.commit()
    owners = [
        client.post(f"/v1/contracts/{c.id}/route", headers=world.headers("admin")).json()[
            "owner_id"
        ]
        for c in contracts
    ]
    assert owners == [first.id, second.id, first.id]
    # Re-routing a contract does not count it against its own owner.
    again = client.post(f"/v1/contracts/{contracts[0].id}/route", headers=world.headers("admin"))
    assert again.json()["owner_id"] == first.id
    history = client.get(
        f"/v1/contracts/{contracts[0].id}/decisions", headers=world.headers("admin")
    ).json()
    assert len(history) == 2


def test_renewing_makes_the_successor_once(client, db, world):
    contract = make_contract(
        db, world.admin, world.customer_a, 80_000_000, roles={"sales_rep": world.rep_a.id}
    )
    db.commit()
    headers = world.headers("manager_a")
    first = client.post(
        f"/v1/contracts/{contract.id}/renew", json={"acv": "90000000"}, headers=headers
    )
    assert first.status_code == 201, first.text
    successor = first.json()
    assert (successor["start_date"], successor["end_date"]) == ("2027-01-01", "2027-12-31")
    assert successor["renewal_of_id"] == contract.id and Decimal(successor["acv"]) == 90_000_000
    assert successor["roles"] == {"sales_rep": world.rep_a.id}
    retried = client.post(f"/v1/contracts/{contract.id}/renew", headers=headers)
    assert retried.status_code == 200 and retried.json()["id"] == successor["id"]
    old = client.get(f"/v1/contracts/{contract.id}", headers=headers).json()
    assert old["status"] == "renewed" and old["successor_id"] == successor["id"]
    steps = client.get(f"/v1/contracts/{contract.id}/history", headers=headers).json()
    assert [s["status"] for s in steps] == ["active", "renewed"]
    assert steps[0]["left_at"] == steps[1]["entered_at"]


def test_status_follows_the_lifecycle(client, db, world):
    contract = make_contract(db, world.admin, world.customer_a, 1_000_000)
    db.commit()
    headers = world.headers("manager_a")
    url = f"/v1/contracts/{contract.id}"
    assert client.patch(url, json={"status": "renewal_due"}, headers=headers).status_code == 200
    assert client.patch(url, json={"status": "churned"}, headers=headers).status_code == 200
    final = client.patch(url, json={"status": "active"}, headers=headers)
    assert final.status_code == 409
    assert client.post(f"{url}/route", headers=headers).status_code == 409
    nulls = client.patch(
        f"/v1/contracts/{make_contract(db, world.admin, world.customer_a, 1).id}",
        json={"title": None},
        headers=headers,
    )
    assert nulls.status_code == 422 and "cannot be null" in nulls.json()["error"]["message"]


def test_contracts_export_as_csv_with_the_routing_reason(client, db, world, account_manager):
    contract = make_contract(db, world.admin, world.customer_a, 700_000_000)
    other = make_contract(db, world.admin, world.customer_a, 1_000_000, end_date=date(2027, 6, 30))
    db.commit()
    client.post(f"/v1/contracts/{contract.id}/route", headers=world.headers("admin"))
    # Every matching contract, whatever the page size.
    response = client.get("/v1/contracts?format=csv&limit=1", headers=world.headers("manager_a"))
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [int(r["id"]) for r in rows] == [contract.id, other.id]
    assert rows[0]["routing_reason"].startswith("ACV 700 M ≥ enterprise tier 500 M")
    assert rows[0]["renewal_owner_id"] == str(account_manager.id)
    assert rows[1]["routing_reason"] == ""


def test_staff_is_kept_by_admins(client, db, world):
    headers = world.headers("admin")
    added = client.post(
        "/v1/contract-staff",
        json={"user_id": world.manager_a.id, "role": "renewal_manager"},
        headers=headers,
    )
    assert added.status_code == 201
    assert (
        client.post(
            "/v1/contract-staff",
            json={"user_id": world.manager_a.id, "role": "sales_rep"},
            headers=headers,
        ).status_code
        == 422
    )
    listed = client.get("/v1/contract-staff", headers=world.headers("manager_a")).json()
    assert [(s["user_id"], s["role"]) for s in listed] == [(world.manager_a.id, "renewal_manager")]
    refused = client.post(
        "/v1/contract-staff",
        json={"user_id": world.manager_a.id, "role": "account_manager"},
        headers=world.headers("manager_a"),
    )
    assert refused.status_code == 403
    gone = client.delete(
        f"/v1/contract-staff/{world.manager_a.id}/renewal_manager", headers=headers
    )
    assert gone.status_code == 204
    assert db.scalar(select(func.count()).select_from(RenewalDecision)) == 0
