"""The fuzzer's 500s, one per class of input (issue 12): each is now a clear 4xx.

Integers beyond 64 bits, NUL in text, nulls for required fields, extreme dates and
weeks, lax types on the mobile and tracker payloads, LIKE wildcards in searches. The
walker in tests/unit/test_schema_bounds.py keeps every route on the shared types; the
fuzzer (tests/e2e/test_fuzz_api.py) tries them all.
"""

from decimal import Decimal

import pytest

from crm_factories import make_opportunity, make_pipeline, make_survey

BIG = str(2**63)


def _refused(response, status=422):
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] in {"invalid_input", "unauthenticated"}, response.text
    return response.json()["error"]


@pytest.mark.parametrize(
    "url",
    [
        f"/v1/products/{BIG}",
        f"/v1/teams?offset={BIG}",
        f"/v1/customers?team_id={BIG}",
        f"/v1/visits/{BIG}",
        f"/v1/users/{BIG}",
    ],
)
def test_integers_beyond_64_bits_in_paths_and_queries(client, world, url):
    _refused(client.get(url, headers=world.headers("admin")))


def test_integers_beyond_64_bits_in_bodies(client, world):
    check_in = {
        "client_id": "6f1c1c1e-0000-4000-8000-000000000001",
        "customer_id": 2**63,
        "at": "2026-11-16T09:00:00+07:00",
        "lat": -6.2,
        "lon": 106.8,
    }
    _refused(client.post("/v1/visits/check-in", json=check_in, headers=world.headers("rep_a")))
    device = {"id": "phone-0001", "rep_id": 2**64}
    _refused(client.post("/v1/devices", json=device, headers=world.headers("admin")))


@pytest.mark.parametrize("url", ["/v1/customers?q=%00", "/v1/users?q=a%00", "/v1/products?q=%00"])
def test_nul_in_queries(client, world, url):
    _refused(client.get(url, headers=world.headers("admin")))


def test_nul_in_bodies_and_tracker_ids(client, world):
    customer = {"code": "NUL1", "name": "a\u0000b"}
    _refused(client.post("/v1/customers", json=customer, headers=world.headers("admin")))
    check_in = {
        "client_id": "6f1c1c1e-0000-4000-8000-000000000002",
        "customer_id": world.customer_a.id,
        "at": "2026-11-16T09:00:00+07:00",
        "device_id": "a\u0000b",
    }
    _refused(client.post("/v1/visits/check-in", json=check_in, headers=world.headers("rep_a")))
    # Anonymous: the device id is the tracker's credential, refused before any lookup.
    response = client.get("/v1/osmand?id=a%00b&timestamp=1&lat=1&lon=1")
    _refused(response)


def test_null_for_a_required_field_is_a_422_not_a_conflict(client, world):
    url = f"/v1/users/{world.rep_a.id}"
    error = _refused(client.patch(url, json={"role": None}, headers=world.headers("admin")))
    assert "role cannot be null" in error["message"]
    _refused(client.patch(url, json={"full_name": None}, headers=world.headers("admin")))
    customer = f"/v1/customers/{world.customer_a.id}"
    _refused(client.patch(customer, json={"name": None}, headers=world.headers("admin")))
    # null still clears what may be empty
    response = client.patch(url, json={"email": None}, headers=world.headers("admin"))
    assert response.status_code == 200, response.text


def test_null_for_a_required_crm_field_is_a_422(client, world, db):
    # Were 409 "conflicts with existing data" (NOT NULL) and, for a pipeline's stages
    # and a survey's questions, 500s.
    pipeline, _ = make_pipeline(db, world.admin)
    opportunity = make_opportunity(db, world.rep_a)
    survey = make_survey(db, world.manager_a, world.team_a)
    db.commit()
    admin = world.headers("admin")
    for url, fields in (
        (f"/v1/opportunities/{opportunity.id}", ("title", "kind", "amount", "currency")),
        (f"/v1/pipelines/{pipeline.id}", ("name", "stages")),
        (f"/v1/surveys/{survey.id}", ("title", "active", "starts_on", "questions")),
    ):
        for field in fields:
            error = _refused(client.patch(url, json={field: None}, headers=admin))
            assert f"{field} cannot be null" in error["message"], (url, error)
    # What may be empty is still cleared by null.
    cleared = client.patch(
        f"/v1/opportunities/{opportunity.id}", json={"expected_close": None}, headers=admin
    )
    assert cleared.status_code == 200, cleared.text
    # An opportunity of no stated amount is worth 0 (was a NOT NULL 409).
    created = client.post(
        "/v1/opportunities", json={"title": "t", "prospect_name": "p"}, headers=admin
    )
    assert created.status_code == 201, created.text
    assert Decimal(created.json()["amount"]) == 0


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_extreme_days(client, world, day):
    _refused(client.get(f"/v1/reps/{world.rep_a.id}/days/{day}", headers=world.headers("admin")))


@pytest.mark.parametrize(
    "query",
    ["week_from=0001-W01&week_to=9999-W52", "week=9999-W52", "date_from=0001-01-01"],
)
def test_extreme_weeks_and_dates_in_reports(client, world, query):
    url = f"/v1/reports/weekly-anomalies?{query}"
    _refused(client.get(url, headers=world.headers("admin")))


@pytest.mark.parametrize(
    ("field", "value"),
    [("lat", True), ("mock", "yes"), ("at", 1700000000), ("customer_id", "5"), ("lon", "106.8")],
)
def test_the_mobile_contract_takes_no_lax_coercion(client, world, field, value):
    body = {
        "client_id": "6f1c1c1e-0000-4000-8000-000000000003",
        "customer_id": world.customer_a.id,
        "at": "2026-11-16T09:00:00+07:00",
        "lat": -6.2,
        "lon": 106.8,
    } | {field: value}
    error = _refused(client.post("/v1/visits/check-in", json=body, headers=world.headers("rep_a")))
    assert field in error["message"]


def test_pings_take_no_lax_coercion_item_by_item(client, world):
    good = {"at": "2026-11-16T09:00:00+07:00", "lat": -6.2, "lon": 106.8}
    batch = [
        good,
        good | {"at": "2026-11-16T09:00:10+07:00", "lat": True},
        good | {"at": "2026-11-16T09:00:20+07:00", "mock": "yes"},
        good | {"at": 1763258400},
    ]
    body = client.post("/v1/pings", json=batch, headers=world.headers("rep_a")).json()
    assert body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1, 2, 3]


def test_like_wildcards_are_taken_literally(client, world):
    headers = world.headers("admin")
    everyone = client.get("/v1/customers", headers=headers).json()["total"]
    assert everyone >= 3
    assert client.get("/v1/customers?q=%25", headers=headers).json()["total"] == 0
    assert client.get("/v1/customers?q=_", headers=headers).json()["total"] == 0
    assert client.get("/v1/users?q=%25", headers=headers).json()["total"] == 0
    assert client.get("/v1/customers?q=B00", headers=headers).json()["total"] == 1
    client.post(
        "/v1/customers", json={"code": "P100", "name": "Toko 100%"}, headers=headers
    ).raise_for_status()
    found = client.get("/v1/customers?q=100%25", headers=headers).json()["items"]
    assert [c["code"] for c in found] == ["P100"]
