"""The renewal audit lists exactly the N largest and N smallest open contracts, with
owner, routing reason, days to the end and the time spent in each step."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from crm_factories import make_contract, principal
from sfa.contracts import routing, staff
from sfa.contracts.models import ContractStatusSpan
from sfa.plans.service import company_today


def test_exactly_the_ten_largest_and_ten_smallest(client, db, world):
    today = company_today(db)
    acvs = [Decimal(1_000_000 * (i + 1)) for i in range(25)]  # 1 M ... 25 M
    made = [
        make_contract(
            db, world.admin, world.customer_a, acv, end_date=today + timedelta(days=30 + i)
        )
        for i, acv in enumerate(acvs)
    ]
    # Not among them: a churned giant, and team B's contracts for team A's manager.
    giant = make_contract(db, world.admin, world.customer_a, 900_000_000)
    giant.status = "churned"
    make_contract(db, world.admin, world.customer_b, 800_000_000)
    make_contract(db, world.admin, world.customer_b, 1)
    db.commit()
    audit = client.get("/v1/reports/renewals", headers=world.headers("manager_a")).json()
    by_id = {c.id: c for c in made}
    largest = [Decimal(r["acv"]) for r in audit["largest"]]
    smallest = [Decimal(r["acv"]) for r in audit["smallest"]]
    assert largest == sorted(acvs, reverse=True)[:10]
    assert smallest == sorted(acvs)[:10]
    assert [r["rank"] for r in audit["largest"]] == list(range(1, 11))
    first = audit["largest"][0]
    assert first["days_to_end"] == (by_id[first["contract_id"]].end_date - today).days == 54
    assert first["current_step"] == "active" and first["steps"][0]["step"] == "active"
    assert first["owner_id"] is None and first["routing_reason"] is None
    three = client.get(
        "/v1/reports/renewals?largest=3&smallest=0", headers=world.headers("manager_a")
    ).json()
    assert [Decimal(r["acv"]) for r in three["largest"]] == [25_000_000, 24_000_000, 23_000_000]
    assert three["smallest"] == []


def test_owner_reason_and_time_in_each_step(client, db, world):
    staff.add_staff(
        db,
        principal=principal(db, world.admin),
        user_id=world.manager_a.id,
        role="renewal_manager",
    )
    contract = make_contract(db, world.admin, world.customer_a, 150_000_000)
    # The contract was active for 30 days, then became due 12 days ago.
    (span,) = db.query(ContractStatusSpan).filter_by(contract_id=contract.id).all()
    now = datetime.now(UTC)
    span.entered_at, span.left_at = now - timedelta(days=42), now - timedelta(days=12)
    db.add(
        ContractStatusSpan(
            contract_id=contract.id,
            status="renewal_due",
            entered_at=now - timedelta(days=12),
            actor="test",
        )
    )
    contract.status = "renewal_due"
    routing.route(db, contract, actor="test")
    db.commit()
    (row,) = client.get("/v1/reports/renewals", headers=world.headers("admin")).json()["largest"]
    assert row["owner_id"] == world.manager_a.id and row["owner_role"] == "renewal_manager"
    assert row["routing_reason"].startswith("ACV 150 M ≥ low tier 50 M and < enterprise tier")
    assert row["current_step"] == "renewal_due"
    assert [(s["step"], round(s["days"])) for s in row["steps"]] == [
        ("active", 30),
        ("renewal_due", 12),
    ]
    response = client.get("/v1/reports/renewals?format=csv&lang=id", headers=world.headers("admin"))
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["group"] for r in rows] == ["largest", "smallest"]
    assert rows[0]["steps"].startswith("active 30")
    assert rows[0]["routing_reason"].startswith("ACV 150 jt ≥ batas tier rendah 50 jt")


def test_a_rep_without_reports_of_contracts_is_refused_nothing_extra(client, world):
    assert client.get("/v1/reports/renewals", headers=world.headers("rep_a")).status_code == 200
    too_many = client.get("/v1/reports/renewals?largest=101", headers=world.headers("admin"))
    assert too_many.status_code == 422
