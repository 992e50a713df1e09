"""GET /v1/event-types: every type with its description and its payload's JSON schema,
for any signed-in user or API key."""

import jsonschema_rs  # comes with schemathesis (the dev dependencies)
import pytest

from sfa.events import service as event_service

REQUIRED = {
    "visit.checked_in",
    "visit.checked_out",
    "visit.flagged",
    "customer.created",
    "customer.location_changed",
    "order.submitted",
    "order.approved",
    "order.rejected",
    "order.cancelled",
    "order.corrected",
    "order.sent_to_erp",
    "order.invoiced",
    "order.paid",
    "invoice.overdue",
    "delivery.confirmed",
    "anomaly.detected",
    "planned_visit.missed",
    "announcement.due",
    "target.progress",
}


@pytest.mark.parametrize("who", ["rep_a", "manager_a", "admin"])
def test_every_type_is_published_with_its_schema(client, world, who):
    response = client.get("/v1/event-types", headers=world.headers(who))
    assert response.status_code == 200, response.text
    page = response.json()
    types = {t["name"]: t for t in page["items"]}
    assert set(types) >= REQUIRED
    assert page["total"] == len(types) == len(event_service.event_types())
    approved = types["order.approved"]
    assert approved["subject_kind"] == "order"
    assert approved["description"]
    schema = approved["payload_schema"]
    assert schema["type"] == "object"
    assert {"order_id", "rep_id", "customer_id", "net_amount", "discount_pct", "currency"} <= set(
        schema["required"]
    )
    assert schema["additionalProperties"] is False
    for item in page["items"]:
        assert jsonschema_rs.meta.is_valid(item["payload_schema"]), item["name"]


def test_the_published_schema_accepts_what_is_emitted_and_refuses_the_rest(client, world):
    page = client.get("/v1/event-types", headers=world.headers("rep_a")).json()
    schema = {t["name"]: t["payload_schema"] for t in page["items"]}["invoice.overdue"]
    good = {
        "invoice_id": 1,
        "customer_id": 2,
        "number": "INV/1",
        "currency": "IDR",
        "amount_to_pay": "150000.00",
        "due_date": "2026-11-20",
        "days_overdue": 3,
    }
    validator = jsonschema_rs.validator_for(schema)
    assert validator.is_valid(good)
    assert not validator.is_valid(good | {"extra": 1})
    assert not validator.is_valid({k: v for k, v in good.items() if k != "invoice_id"})


def test_anonymous_is_refused(client):
    response = client.get("/v1/event-types")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
