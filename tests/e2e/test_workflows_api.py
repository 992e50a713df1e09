"""Workflow authoring over HTTP: create, list, edit the draft while the published version
runs on, publish, roll back, versions with who and when, diffs, dry runs without a side
effect, bad definitions refused by path, and who may do what."""

import copy
import uuid
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.events import service as event_service
from sfa.notifications.models import Notification
from sfa.orders import service as order_service
from sfa.orders.models import Order
from sfa.orders.service import LineIn, NewOrder
from sfa.workflows import runtime_defaults
from sfa.workflows.runtime_models import Task, WorkflowApproval, WorkflowRun

KEY = "discount-api-test"


def _default() -> dict:
    return runtime_defaults.definition("discount_approval")


def _create(client, world, definition=None, key=KEY, enabled=True):
    body = {"key": key, "definition": definition or _default(), "enabled": enabled}
    response = client.post("/v1/workflows", json=body, headers=world.headers("admin"))
    assert response.status_code == 201, response.text
    return response.json()


def _publish(client, world, workflow_id, version):
    return client.post(
        f"/v1/workflows/{workflow_id}/publish",
        json={"version": version},
        headers=world.headers("admin"),
    )


def _with_overdue_path() -> dict:
    """The company's edit of docs/workflows.md: overdue invoices → manager then finance."""
    edited = _default()
    overdue = {"when": {">": [{"var": "customer.overdue_invoices"}, 0]}, "next": "double"}
    edited["steps"]["tier"]["paths"].insert(0, overdue)
    return edited


def test_create_list_and_get(client, world):
    created = _create(client, world)
    assert created["key"] == KEY and created["name"] == "Discount approval"
    assert created["active"] is None
    assert created["draft"]["number"] == 1 and created["draft"]["state"] == "draft"
    assert created["draft"]["definition"] == _default()
    assert created["draft"]["created_by"] == f"user:{world.admin.id}"
    _create(client, world, key="switched-off", enabled=False)
    admin = world.headers("admin")

    page = client.get("/v1/workflows", params={"q": "api-test"}, headers=admin).json()
    assert [w["key"] for w in page["items"]] == [KEY] and page["total"] == 1
    off = client.get("/v1/workflows", params={"enabled": "false"}, headers=admin).json()
    assert "switched-off" in [w["key"] for w in off["items"]]
    assert KEY not in [w["key"] for w in off["items"]]
    limited = client.get("/v1/workflows", params={"limit": 1}, headers=admin).json()
    assert len(limited["items"]) == 1 and limited["next_offset"] == 1

    got = client.get(f"/v1/workflows/{created['id']}", headers=admin)
    assert got.status_code == 200 and got.json() == created
    again = client.post("/v1/workflows", json={"key": KEY, "definition": _default()}, headers=admin)
    assert again.status_code == 409
    assert client.get("/v1/workflows/999999999", headers=admin).status_code == 404


def test_a_draft_edit_leaves_the_published_version_untouched(client, world):
    workflow = _create(client, world)
    url, admin = f"/v1/workflows/{workflow['id']}", world.headers("admin")
    published = _publish(client, world, workflow["id"], 1)
    assert published.status_code == 200, published.text
    assert published.json()["state"] == "published"
    assert published.json()["published_by"] == f"user:{world.admin.id}"

    edited = client.put(url, json={"definition": _with_overdue_path()}, headers=admin)
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["active"]["number"] == 1 and body["active"]["definition"] == _default()
    assert body["draft"]["number"] == 2
    assert body["draft"]["definition"] == _with_overdue_path()
    # Saving the draft again edits the same draft, no new version.
    again = client.put(url, json={"definition": _with_overdue_path()}, headers=admin).json()
    assert again["draft"]["number"] == 2

    switched = client.put(url, json={"enabled": False}, headers=admin).json()
    assert switched["enabled"] is False and switched["active"]["number"] == 1
    nothing = client.put(url, json={}, headers=admin)
    assert nothing.status_code == 422


def test_publish_rollback_versions_and_diff(client, world):
    workflow = _create(client, world)
    url, admin = f"/v1/workflows/{workflow['id']}", world.headers("admin")
    assert _publish(client, world, workflow["id"], 1).status_code == 200
    client.put(url, json={"definition": _with_overdue_path()}, headers=admin)
    assert _publish(client, world, workflow["id"], 2).json()["number"] == 2
    # Publishing the active version again changes nothing.
    assert _publish(client, world, workflow["id"], 2).json()["number"] == 2

    rollback = _publish(client, world, workflow["id"], 1)
    assert rollback.status_code == 200, rollback.text
    assert (rollback.json()["number"], rollback.json()["copied_from"]) == (3, 1)
    current = client.get(url, headers=admin).json()
    assert current["active"]["number"] == 3 and current["active"]["definition"] == _default()
    assert _publish(client, world, workflow["id"], 9).status_code == 404

    versions = client.get(f"{url}/versions", headers=admin).json()
    assert [(v["number"], v["state"]) for v in versions["items"]] == [
        (3, "published"),
        (2, "archived"),
        (1, "archived"),
    ]
    for version in versions["items"]:
        assert version["created_by"] == version["published_by"] == f"user:{world.admin.id}"
        assert version["created_at"] and version["published_at"]
    page = client.get(f"{url}/versions", params={"limit": 1, "offset": 1}, headers=admin).json()
    assert [v["number"] for v in page["items"]] == [2] and page["total"] == 3

    diff = client.get(f"{url}/diff", params={"from": 1, "to": 2}, headers=admin)
    assert diff.status_code == 200, diff.text
    found = diff.json()
    assert (found["from"], found["to"]) == (1, 2)
    assert found["steps_changed"] == ["tier"] and found["steps_added"] == []
    # A path inserted: the list of paths changed as a whole.
    (change,) = found["changes"]
    assert (change["path"], change["change"]) == ("steps.tier.paths", "changed")
    assert change["to"] == _with_overdue_path()["steps"]["tier"]["paths"]
    latest = client.get(f"{url}/diff", headers=admin).json()
    assert (latest["from"], latest["to"]) == (2, 3) and latest["steps_changed"] == ["tier"]
    bad = client.get(f"{url}/diff", params={"from": 1, "to": 7}, headers=admin)
    assert bad.status_code == 404


def _counts(db) -> dict:
    db.expire_all()
    return {
        model.__tablename__: db.scalar(select(func.count()).select_from(model))
        for model in (WorkflowRun, Task, WorkflowApproval, Notification, Order)
    }


@pytest.fixture
def order(db, world):
    product = Product(
        external_id="erp-wfapi",
        code="WFAPI",
        name="Produk",
        unit="pcs",
        list_price=Decimal("100000"),
        currency="IDR",
    )
    db.add(product)
    db.flush()
    made, _ = order_service.create_order(
        db,
        principal=auth_service.principal_for_user(db, world.rep_a),
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=world.customer_a.id,
            lines=(LineIn(product.id, Decimal(1), Decimal(20)),),
        ),
    )
    db.commit()
    return made


def test_the_dry_run_has_no_side_effect(client, db, world, order):
    workflow = _create(client, world)
    url, admin = f"/v1/workflows/{workflow['id']}/test", world.headers("admin")
    before = _counts(db)
    sample = {"order": {"id": order.id, "risk_pct": 10}, "rep": {"id": world.rep_a.id}}
    response = client.post(url, json={"context": sample}, headers=admin)
    assert response.status_code == 200, response.text
    trace = response.json()
    # The company's settings fill in what the sample leaves out (5 % / 15 %).
    assert trace["path"] == ["tier", "single", "manager", "approved", "end"]
    assert trace["outcome"] == "ended" and trace["version"] == 1
    assert [a["action"] for a in trace["actions"]] == [
        "update_record",
        "require_approval",
        "update_record",
    ]
    assert trace["actions"][1]["escalate_after_hours"] == 24
    rejected = client.post(
        url, json={"context": sample, "assume_approval": "rejected"}, headers=admin
    ).json()
    assert rejected["path"][-2:] == ["rejected", "end"]
    assert _counts(db) == before

    event_id = uuid.uuid4()
    payload = {
        "order_id": order.id,
        "rep_id": order.rep_id,
        "customer_id": order.customer_id,
        "state": str(order.state),
        "currency": order.currency,
        "gross_amount": str(order.gross_amount),
        "net_amount": str(order.net_amount),
        "discount_pct": str(order.discount_pct),
        "approval_tier": None,
    }
    actor = event_service.Actor("user", str(world.rep_a.id))
    event_service.emit(
        db,
        "order.submitted",
        subject_kind="order",
        subject_id=order.id,
        actor=actor,
        payload=payload,
        event_id=event_id,
    )
    db.commit()
    before = _counts(db)
    past = client.post(url, json={"event_id": str(event_id)}, headers=admin)
    assert past.status_code == 200, past.text
    assert past.json()["path"][:3] == ["tier", "double", "manager_then_finance"]
    assert past.json()["context"]["order"]["id"] == order.id
    assert _counts(db) == before
    missing = client.post(url, json={"event_id": str(uuid.uuid4())}, headers=admin)
    assert missing.status_code == 404
    both = client.post(url, json={"event_id": str(event_id), "context": {}}, headers=admin)
    assert both.status_code == 422


def _bad(definition_change) -> dict:
    raw = _default()
    definition_change(raw)
    return raw


BAD = {
    "unknown event": (
        lambda r: r["trigger"].update(event="order.teleported"),
        "trigger.event",
        "unknown event type",
    ),
    "unknown variable": (
        lambda r: r["steps"]["tier"]["paths"][0]["when"]["<="][0].update(var="order.risk"),
        "steps.tier.paths.0.when.<=.0.var",
        'unknown variable "order.risk"',
    ),
    "unknown field": (
        lambda r: r["steps"]["end"].update(colour="red"),
        "steps.end.colour",
        "unknown field",
    ),
    "unknown action": (
        lambda r: r["steps"].update(auto={"type": "launch_rocket", "next": "end"}),
        "steps.auto.type",
        'unknown action "launch_rocket"',
    ),
    "unreachable step": (
        lambda r: r["steps"].update(orphan={"type": "end"}),
        "steps.orphan",
        "unreachable from start",
    ),
    "cycle without a wait": (
        lambda r: (
            r["steps"]["auto"].update(next="again"),
            r["steps"].update(
                again={"type": "condition", "if": True, "then": "auto", "else": "end"}
            ),
        ),
        "steps.again → steps.auto → steps.again",
        "a cycle without a wait",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_definitions_are_refused_with_the_path(client, world, case):
    change, path, message = BAD[case]
    admin = world.headers("admin")
    created = client.post(
        "/v1/workflows", json={"key": "bad", "definition": _bad(change)}, headers=admin
    )
    assert created.status_code == 422, created.text
    error = created.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(
        e["path"] == path and e["message"].startswith(message) for e in error["details"]["errors"]
    ), error
    workflow = _create(client, world)
    edited = client.put(
        f"/v1/workflows/{workflow['id']}", json={"definition": _bad(change)}, headers=admin
    )
    assert edited.status_code == 422
    assert {"path": path} in [
        {"path": e["path"]} for e in edited.json()["error"]["details"]["errors"]
    ]
    # The draft is as it was.
    kept = client.get(f"/v1/workflows/{workflow['id']}", headers=admin).json()
    assert kept["draft"]["definition"] == _default()


def test_who_may_do_what(client, world):
    workflow = _create(client, world)
    assert _publish(client, world, workflow["id"], 1).status_code == 200
    url = f"/v1/workflows/{workflow['id']}"
    reads = [
        ("GET", "/v1/workflows", None),
        ("GET", url, None),
        ("GET", f"{url}/versions", None),
        ("GET", f"{url}/diff?from=1&to=1", None),
    ]
    writes = [
        ("POST", "/v1/workflows", {"key": "mine", "definition": _default()}),
        ("PUT", url, {"enabled": False}),
        ("POST", f"{url}/publish", {"version": 1}),
        ("POST", f"{url}/test", {"context": {"order": {"risk_pct": 1}}}),
    ]
    for method, path, body in reads + writes:
        rep = client.request(method, path, json=body, headers=world.headers("rep_a"))
        assert rep.status_code == 403, (method, path, rep.text)
    for method, path, body in reads:
        manager = client.request(method, path, json=body, headers=world.headers("manager_a"))
        assert manager.status_code == 200, (method, path, manager.text)
    for method, path, body in writes:
        manager = client.request(method, path, json=body, headers=world.headers("manager_a"))
        assert manager.status_code == 403, (method, path, manager.text)
    admin_headers = world.headers("admin")
    for method, path, body in writes:
        admin = client.request(method, path, json=copy.deepcopy(body), headers=admin_headers)
        assert admin.status_code < 300, (method, path, admin.text)
