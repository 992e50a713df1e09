"""/v1/webhooks: subscriptions (secret shown once), validation, pagination, rotation
(two signatures, then the old one expires), the delivery log and redelivery."""

from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from event_drain import emit_sample
from sfa.auth import service as auth_service
from sfa.webhooks.models import WebhookEndpoint

BODY = {"name": "crm", "event_types": ["announcement.due"], "description": "CRM sync"}


@pytest.fixture
def created(client, world, receiver):
    response = client.post(
        "/v1/webhooks", json=BODY | {"url": receiver.url}, headers=world.headers("admin")
    )
    assert response.status_code == 201, response.text
    receiver.secrets.append(response.json()["secret"])
    return response.json()


def test_create_shows_the_secret_once(client, world, created):
    assert created["secret"].startswith("whsec_") and created["active"] is True
    Webhook(created["secret"])  # the library takes it as it is
    again = client.get(f"/v1/webhooks/{created['id']}", headers=world.headers("admin"))
    assert again.status_code == 200 and "secret" not in again.json()
    page = client.get("/v1/webhooks?limit=1", headers=world.headers("admin")).json()
    assert (page["total"], page["next_offset"], page["items"][0]["name"]) == (1, None, "crm")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"event_types": ["order.aproved"]}, "order.aproved"),
        ({"event_types": []}, "event_types"),
        ({"url": "not a url"}, "http(s)"),
        ({"name": "has space"}, "name"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_bad_subscriptions_are_refused(client, world, receiver, change, message):
    response = client.post(
        "/v1/webhooks", json=BODY | {"url": receiver.url} | change, headers=world.headers("admin")
    )
    assert response.status_code == 422, response.text
    assert message in response.text


def test_a_second_webhook_of_the_same_name_conflicts(client, world, receiver, created):
    response = client.post(
        "/v1/webhooks", json=BODY | {"url": receiver.url}, headers=world.headers("admin")
    )
    assert response.status_code == 409, response.text


def test_patch_and_delete(client, world, created):
    url = f"/v1/webhooks/{created['id']}"
    patched = client.patch(
        url,
        json={"event_types": ["order.approved", "order.paid"], "active": False},
        headers=world.headers("admin"),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["event_types"] == ["order.approved", "order.paid"]
    assert patched.json()["active"] is False
    assert client.patch(url, json={"url": None}, headers=world.headers("admin")).status_code == 422
    assert client.delete(url, headers=world.headers("admin")).status_code == 204
    assert client.get(url, headers=world.headers("admin")).status_code == 404


def test_an_api_key_with_the_scope_manages_webhooks_and_others_may_not(client, db, world, receiver):
    admin = auth_service.principal_for_user(db, world.admin)
    _, key = auth_service.create_api_key(db, actor=admin, name="ops", scopes=["webhooks:write"])
    _, other = auth_service.create_api_key(db, actor=admin, name="ro", scopes=["customers:read"])
    db.commit()
    made = client.post(
        "/v1/webhooks", json=BODY | {"url": receiver.url}, headers={"X-API-Key": key}
    )
    assert made.status_code == 201, made.text
    assert made.json()["owner_user_id"] == world.admin.id  # the key's creator is told
    for headers in ({"X-API-Key": other}, world.headers("manager_a"), world.headers("rep_a")):
        assert client.get("/v1/webhooks", headers=headers).status_code == 403


def _verifies(secret: str, request) -> bool:
    try:
        Webhook(secret).verify(request.body, request.headers)
        return True
    except WebhookVerificationError:
        return False


def test_rotation_signs_twice_until_the_old_secret_expires(
    client, db, world, receiver, created, dispatcher, enqueue
):
    old = created["secret"]
    rotated = client.post(
        f"/v1/webhooks/{created['id']}/rotate-secret",
        json={"keep_old_for_hours": 24},
        headers=world.headers("admin"),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    receiver.secrets.append(new)
    assert new != old and rotated.json()["previous_secret_expires_at"] is not None
    emit_sample(db, "during", key="during")
    enqueue()
    dispatcher.run_once()
    during = receiver.verified[-1]
    assert len(during.signatures) == 2
    assert _verifies(old, during) and _verifies(new, during)
    # The overlap ends (moved into the past rather than waited for): one signature.
    db.get(WebhookEndpoint, created["id"]).previous_secret_expires_at = datetime.now(
        UTC
    ) - timedelta(seconds=1)
    db.commit()
    emit_sample(db, "after", key="after")
    enqueue()
    dispatcher.run_once()
    after = receiver.verified[-1]
    assert len(after.signatures) == 1
    assert _verifies(new, after) and not _verifies(old, after)


def test_the_log_and_a_manual_redelivery(client, db, world, receiver, created, dispatcher, enqueue):
    emit_sample(db, "again", key="again")
    enqueue()
    dispatcher.run_once()
    log_url = f"/v1/webhooks/{created['id']}/deliveries"
    page = client.get(log_url, headers=world.headers("admin")).json()
    [item] = page["items"]
    assert item["state"] == "delivered" and item["event_type"] == "announcement.due"
    assert [(a["attempt"], a["status_code"]) for a in item["log"]] == [(1, 200)]
    assert item["log"][0]["response_body"] == '{"status": 200}'
    again = client.post(f"{log_url}/{item['id']}/redeliver", headers=world.headers("admin"))
    assert again.status_code == 200 and again.json()["state"] == "pending"
    dispatcher.run_once()
    first, second = receiver.verified
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == item["message_id"]
    item = client.get(log_url, headers=world.headers("admin")).json()["items"][0]
    assert [a["attempt"] for a in item["log"]] == [1, 2] and item["state"] == "delivered"
    # Another webhook's id, or a delivery of another webhook: not found.
    assert (
        client.post(
            f"/v1/webhooks/{created['id'] + 1000}/deliveries/{item['id']}/redeliver",
            headers=world.headers("admin"),
        ).status_code
        == 404
    )
