"""Notifications over HTTP: the in-app inbox, the admin's outbox (filters, resend), rule
switches, announcements, targets with their progress, and delivery-date confirmation."""

import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from event_drain import drain_events
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.notifications import events as notification_events
from sfa.notifications import outbox, sender
from sfa.notifications.models import Channel, Notification, NotificationState
from sfa.orders.models import Order, OrderState
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn, Position

NOW = datetime.now(UTC)


@pytest.fixture
def session_factory(connection):
    """Sessions on the test's connection: the sender's commits release savepoints."""
    return lambda: Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


def enqueue(
    db,
    *,
    channel=Channel.in_app,
    user=None,
    customer=None,
    due_at=NOW,
    rule="order_placed",
    key=None,
) -> Notification:
    payload = {
        "order_id": 1,
        "order_ref": "#1",
        "customer_name": "Toko A001",
        "distributor_name": "Toko D",
        "rep_name": "Rep",
        "currency": "IDR",
        "net_amount": "1.00",
        "delivery_date": "2026-12-01",
    }
    row = outbox.enqueue(
        db,
        settings=company_service.get_company_settings(db),
        rule=rule,
        channel=channel,
        template="order_placed_rep" if channel is Channel.in_app else "delivery_confirmed",
        dedupe_key=key or f"test:{uuid.uuid4().hex}",
        language="en",
        payload=payload,
        due_at=due_at,
        recipient_user_id=user.id if user else None,
        recipient_customer_id=customer.id if customer else None,
        address=customer.phone if customer else None,
        entity="order",
        entity_id=1,
    )
    db.commit()
    return row


def deliver_in_app(session_factory, now=None):
    """The sender with no outside channel wired: it delivers in-app rows only."""
    return sender.run_sender(session_factory, channels={}, now=now or datetime.now(UTC))


def api_key(db, world, *scopes) -> dict[str, str]:
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(db, actor=admin, name="k", scopes=list(scopes))
    db.commit()
    return {"X-API-Key": plaintext}


def stored(db, **where) -> list[Notification]:
    """The outbox rows, once the workflows have handled the events emitted so far."""
    drain_events(db)
    db.expire_all()
    stmt = select(Notification).order_by(Notification.id)
    for column, value in where.items():
        stmt = stmt.where(getattr(Notification, column) == value)
    return list(db.scalars(stmt))


# Inbox --------------------------------------------------------------------------------


def test_inbox_lists_my_delivered_notifications_and_marks_them_read(
    client, db, world, session_factory
):
    first = enqueue(db, user=world.rep_a)
    second = enqueue(db, user=world.rep_a)
    foreign = enqueue(db, user=world.rep_b)
    later = enqueue(db, user=world.rep_a, due_at=NOW + timedelta(days=1))  # not yet due
    assert deliver_in_app(session_factory).sent == 3
    rep_a = world.headers("rep_a")

    page = client.get("/v1/me/notifications", headers=rep_a).json()
    assert page["total"] == 2
    assert [i["id"] for i in page["items"]] == [second.id, first.id]  # newest first
    item = page["items"][0]
    assert item["subject"] == "Order #1 passed to the distributor"
    assert item["read_at"] is None and item["sent_at"] is not None

    marked = client.post(f"/v1/me/notifications/{first.id}/read", headers=rep_a)
    assert marked.status_code == 200, marked.text
    read_at = marked.json()["read_at"]
    assert read_at is not None
    again = client.post(f"/v1/me/notifications/{first.id}/read", headers=rep_a)
    assert again.status_code == 200 and again.json()["read_at"] == read_at  # idempotent
    unread = client.get("/v1/me/notifications?unread_only=true", headers=rep_a).json()
    assert [i["id"] for i in unread["items"]] == [second.id]

    # Another rep's notification, or one not delivered yet, is not in my inbox.
    for notification_id in (foreign.id, later.id):
        response = client.post(f"/v1/me/notifications/{notification_id}/read", headers=rep_a)
        assert response.status_code == 404, response.text
    assert (
        client.post(
            f"/v1/me/notifications/{first.id}/read", headers=world.headers("rep_a2")
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/v1/me/notifications/{foreign.id}/read", headers=world.headers("manager_b")
        ).status_code
        == 404
    )
    assert stored(db, id=foreign.id)[0].read_at is None
    b_page = client.get("/v1/me/notifications", headers=world.headers("rep_b")).json()
    assert [i["id"] for i in b_page["items"]] == [foreign.id]
    assert client.get("/v1/me/notifications", headers=world.headers("rep_a2")).json()["total"] == 0
    # An API key has no inbox.
    key = api_key(db, world, "customers:read")
    assert client.get("/v1/me/notifications", headers=key).status_code == 403


# Admin outbox ---------------------------------------------------------------------------


def test_admin_lists_filters_and_resends(client, db, world, session_factory):
    world.customer_b.phone = "+6281100000001"
    db.commit()
    in_app = enqueue(db, user=world.rep_a)
    sms = enqueue(
        db,
        channel=Channel.sms,
        customer=world.customer_b,
        rule="delivery_confirmed",
        due_at=NOW + timedelta(days=2),
    )
    deliver_in_app(session_factory)
    admin = world.headers("admin")

    def ids(query: str) -> list[int]:
        response = client.get(f"/v1/notifications{query}", headers=admin)
        assert response.status_code == 200, response.text
        return [i["id"] for i in response.json()["items"]]

    assert ids("") == [sms.id, in_app.id]
    assert ids("?channel=sms") == [sms.id]
    assert ids("?state=sent") == [in_app.id]
    assert ids("?state=pending&rule=delivery_confirmed") == [sms.id]
    assert ids(f"?recipient_user_id={world.rep_a.id}") == [in_app.id]
    assert ids(f"?recipient_customer_id={world.customer_b.id}") == [sms.id]
    due_from = (NOW + timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert ids(f"?due_from={due_from}") == [sms.id]
    assert ids(f"?due_to={due_from}") == [in_app.id]
    assert ids("?channel=push") == []
    assert client.get("/v1/notifications?state=nonsense", headers=admin).status_code == 422
    for who in ("rep_a", "manager_a"):
        assert client.get("/v1/notifications", headers=world.headers(who)).status_code == 403
        assert (
            client.post(
                f"/v1/notifications/{sms.id}/resend", headers=world.headers(who)
            ).status_code
            == 403
        )
    key = api_key(db, world, "customers:read", "orders:read", "reports:read")
    assert client.get("/v1/notifications", headers=key).status_code == 403

    resent = client.post(f"/v1/notifications/{in_app.id}/resend", headers=admin)
    assert resent.status_code == 201, resent.text
    copy = resent.json()
    assert copy["id"] not in (in_app.id, sms.id)
    assert (copy["resend_of_id"], copy["state"], copy["channel"], copy["attempts"]) == (
        in_app.id,
        "pending",
        "in_app",
        0,
    )
    assert copy["recipient_user_id"] == world.rep_a.id and copy["payload"] == in_app.payload
    # The original keeps its history; both are listed.
    [original] = stored(db, id=in_app.id)
    assert original.state == NotificationState.sent and original.resend_of_id is None
    assert ids(f"?recipient_user_id={world.rep_a.id}") == [copy["id"], in_app.id]
    # Resending twice makes two copies.
    assert client.post(f"/v1/notifications/{in_app.id}/resend", headers=admin).status_code == 201
    assert len(stored(db, resend_of_id=in_app.id)) == 2
    assert client.post("/v1/notifications/999999/resend", headers=admin).status_code == 404


# Rules ----------------------------------------------------------------------------------


def _order(
    db,
    world,
    *,
    rep=None,
    customer=None,
    state=OrderState.approved,
    net="100000.00",
    submitted_at=None,
) -> Order:
    order = Order(
        client_id=uuid.uuid4(),
        request_hash="x" * 64,
        rep_id=(rep or world.rep_b).id,
        customer_id=(customer or world.customer_b).id,
        state=state,
        currency="IDR",
        gross_amount=Decimal(net),
        discount_amount=Decimal(0),
        net_amount=Decimal(net),
        discount_pct=Decimal(0),
        submitted_at=submitted_at,
    )
    db.add(order)
    db.commit()
    return order


def test_rules_list_switch_off_and_effect(client, db, world):
    world.customer_b.phone = "+6281100000002"
    order = _order(db, world)
    admin = world.headers("admin")
    rules = client.get("/v1/notification-rules", headers=admin)
    assert rules.status_code == 200, rules.text
    by_rule = {r["rule"]: r for r in rules.json()}
    assert set(by_rule) == {
        "order_placed",
        "order_changed",
        "invoice_overdue",
        "delivery_confirmed",
        "announcement",
        "target_progress",
    }
    assert all(r["enabled"] for r in by_rule.values())
    assert by_rule["invoice_overdue"]["params"] == {"every_days": 3, "max_reminders": 3}

    off = client.patch(
        "/v1/notification-rules/delivery_confirmed", json={"enabled": False}, headers=admin
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    listed = {
        r["rule"]: r["enabled"] for r in client.get("/v1/notification-rules", headers=admin).json()
    }
    assert listed["delivery_confirmed"] is False and listed["order_placed"] is True
    # Switched off: confirming a delivery date enqueues nothing.
    put = client.put(
        f"/v1/orders/{order.id}/delivery-date", json={"delivery_date": "2026-12-01"}, headers=admin
    )
    assert put.status_code == 200, put.text
    assert stored(db, entity="order", entity_id=order.id) == []
    # On again: the next confirmation does.
    assert (
        client.patch(
            "/v1/notification-rules/delivery_confirmed", json={"enabled": True}, headers=admin
        ).json()["enabled"]
        is True
    )
    client.put(
        f"/v1/orders/{order.id}/delivery-date", json={"delivery_date": "2026-12-02"}, headers=admin
    )
    assert len(stored(db, entity="order", entity_id=order.id, channel=Channel.sms)) == 1

    params = client.patch(
        "/v1/notification-rules/invoice_overdue", json={"params": {"every_days": 7}}, headers=admin
    )
    assert params.status_code == 200
    assert params.json()["params"] == {"every_days": 7, "max_reminders": 3}
    for rule, body in (
        ("invoice_overdue", {"params": {"every_days": 0}}),
        ("invoice_overdue", {"params": {"often": 2}}),
        ("no_such_rule", {"enabled": False}),
        ("order_placed", {"enabled": False, "extra": 1}),
    ):
        response = client.patch(f"/v1/notification-rules/{rule}", json=body, headers=admin)
        assert response.status_code == 422, (rule, body, response.text)
    for who in ("rep_a", "manager_a"):
        headers = world.headers(who)
        assert client.get("/v1/notification-rules", headers=headers).status_code == 403
        assert (
            client.patch(
                "/v1/notification-rules/order_placed", json={"enabled": False}, headers=headers
            ).status_code
            == 403
        )
    assert {
        r["rule"]: r["enabled"] for r in client.get("/v1/notification-rules", headers=admin).json()
    }["order_placed"] is True


# Announcements --------------------------------------------------------------------------

EFFECTIVE = "2026-12-01T09:00:00+07:00"
EFFECTIVE_AT = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)


def announcement(**extra) -> dict:
    return {
        "kind": "promotion",
        "title": "Kopi 2+1",
        "body": "Beli 2 gratis 1 minggu ini",
        "effective_at": EFFECTIVE,
    } | extra


def test_manager_announces_to_own_team_at_effective_time(client, db, world, session_factory):
    response = client.post(
        "/v1/announcements", json=announcement(), headers=world.headers("manager_a")
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["team_ids"] == [world.team_a.id] and created["reps"] == 2
    assert created["notifications"] == 0
    # Queued when it is due: the minute job emits announcement.due, the workflow follows.
    assert stored(db, entity="announcement", entity_id=created["id"]) == []
    assert notification_events.emit_due_announcements(db, now=EFFECTIVE_AT) == 1
    rows = stored(db, entity="announcement", entity_id=created["id"])
    assert sorted((r.recipient_user_id, r.channel.value) for r in rows) == sorted(
        (rep.id, channel) for rep in (world.rep_a, world.rep_a2) for channel in ("in_app", "push")
    )
    assert all(r.due_at == EFFECTIVE_AT and r.next_attempt_at == EFFECTIVE_AT for r in rows)
    assert all(r.state == NotificationState.pending for r in rows)
    push = next(r for r in rows if r.channel == Channel.push)
    assert push.address == f"/topics/user-{push.recipient_user_id}"

    # Nothing before the effective time; the in-app rows appear at it.
    deliver_in_app(session_factory, now=EFFECTIVE_AT - timedelta(minutes=1))
    assert client.get("/v1/me/notifications", headers=world.headers("rep_a")).json()["total"] == 0
    deliver_in_app(session_factory, now=EFFECTIVE_AT)
    inbox = client.get("/v1/me/notifications", headers=world.headers("rep_a")).json()
    assert [i["subject"] for i in inbox["items"]] == ["Promosi: Kopi 2+1"]  # company: id
    assert inbox["items"][0]["body"] == "Beli 2 gratis 1 minggu ini"
    assert client.get("/v1/me/notifications", headers=world.headers("rep_b")).json()["total"] == 0


def test_announcements_to_foreign_teams_are_refused(client, db, world):
    before = len(stored(db))
    foreign = client.post(
        "/v1/announcements",
        json=announcement(team_ids=[world.team_b.id]),
        headers=world.headers("manager_a"),
    )
    assert foreign.status_code == 403, foreign.text
    mixed = client.post(
        "/v1/announcements",
        json=announcement(team_ids=[world.team_a.id, world.team_b.id]),
        headers=world.headers("manager_a"),
    )
    assert mixed.status_code == 403
    assert (
        client.post(
            "/v1/announcements", json=announcement(), headers=world.headers("rep_a")
        ).status_code
        == 403
    )
    naive = client.post(
        "/v1/announcements",
        json=announcement(effective_at="2026-12-01T09:00:00"),
        headers=world.headers("manager_a"),
    )
    assert naive.status_code == 422
    assert len(stored(db)) == before
    # The admin may address every team (no team_ids: all reps).
    everyone = client.post(
        "/v1/announcements", json=announcement(kind="price_change"), headers=world.headers("admin")
    )
    assert everyone.status_code == 201 and everyone.json()["reps"] == 3
    notification_events.emit_due_announcements(db, now=EFFECTIVE_AT)
    assert len(stored(db, entity_id=everyone.json()["id"], entity="announcement")) == 6
    assert {
        r.recipient_user_id
        for r in stored(db, entity_id=everyone.json()["id"], entity="announcement")
    } == {world.rep_a.id, world.rep_a2.id, world.rep_b.id}


# Targets --------------------------------------------------------------------------------

JAKARTA = timedelta(hours=7)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    """A November 2026 instant given in Jakarta time, as UTC."""
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC) - JAKARTA


def visit(db, world, rep, at: datetime):
    principal = auth_service.principal_for_user(db, rep)
    visit_service.check_in(
        db,
        principal=principal,
        now=at + timedelta(minutes=1),
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=world.customer_a.id,
            position=Position(at=at, lat=-6.2, lon=106.8),
        ),
    )
    db.commit()


def test_targets_create_list_and_progress_with_real_numbers(client, db, world):
    manager_a = world.headers("manager_a")
    body = {
        "rep_id": world.rep_a.id,
        "period_start": "2026-11-16",
        "period_end": "2026-11-22",
        "visits_target": 4,
        "sales_target": "1000000",
    }
    created = client.post("/v1/targets", json=body, headers=manager_a)
    assert created.status_code == 201, created.text
    target = created.json()
    assert (target["rep_id"], target["visits_target"], Decimal(target["sales_target"])) == (
        world.rep_a.id,
        4,
        Decimal(1000000),
    )

    # In the period (company-local days 16..22): 3 visits, 2 counted orders.
    for at in (local(16, 9), local(18, 10), local(22, 23, 30)):
        visit(db, world, world.rep_a, at)
    visit(db, world, world.rep_a, local(23, 0, 30))  # the 23rd in Jakarta: outside
    visit(db, world, world.rep_a, local(15, 23, 59))  # the 15th: outside
    visit(db, world, world.rep_a2, local(17, 9))  # another rep
    a, a2 = world.rep_a, world.rep_a2
    _order(
        db,
        world,
        rep=a,
        customer=world.customer_a,
        state=OrderState.approved,
        net="300000.00",
        submitted_at=local(17, 10),
    )
    _order(
        db,
        world,
        rep=a,
        customer=world.customer_a,
        state=OrderState.paid,
        net="200000.50",
        submitted_at=local(22, 23),
    )
    for state, net, at, rep in (
        (OrderState.submitted, "999.00", local(18, 10), a),  # awaiting approval
        (OrderState.rejected, "888.00", local(18, 10), a),
        (OrderState.cancelled, "777.00", local(18, 10), a),
        (OrderState.approved, "666.00", local(23, 0, 30), a),  # after the period
        (OrderState.approved, "555.00", local(18, 10), a2),
    ):  # another rep
        _order(db, world, rep=rep, customer=world.customer_a, state=state, net=net, submitted_at=at)

    progress = client.get(f"/v1/targets/{target['id']}/progress", headers=manager_a)
    assert progress.status_code == 200, progress.text
    p = progress.json()
    assert (p["visits_done"], p["visits_pct"]) == (3, 75.0)
    assert (Decimal(p["sales_done"]), p["sales_pct"]) == (Decimal("500000.50"), 50.0)
    assert (p["days_total"], p["days_elapsed"]) == (7, 7)  # the period is over
    assert p["target"]["id"] == target["id"]
    mine = client.get("/v1/me/targets", headers=world.headers("rep_a"))
    assert mine.status_code == 200
    assert [
        (t["target"]["id"], t["visits_done"], Decimal(t["sales_done"])) for t in mine.json()
    ] == [(target["id"], 3, Decimal("500000.50"))]
    assert client.get("/v1/me/targets", headers=world.headers("rep_a2")).json() == []
    assert (
        client.get(
            f"/v1/targets/{target['id']}/progress", headers=world.headers("rep_a")
        ).status_code
        == 200
    )

    # Lists and progress are scoped like users.
    listed = client.get("/v1/targets", headers=manager_a).json()
    assert [t["id"] for t in listed["items"]] == [target["id"]]
    assert client.get("/v1/targets", headers=world.headers("manager_b")).json()["total"] == 0
    assert (
        client.get(f"/v1/targets?rep_id={world.rep_a2.id}", headers=manager_a).json()["total"] == 0
    )
    for who in ("manager_b", "rep_b", "rep_a2"):
        response = client.get(f"/v1/targets/{target['id']}/progress", headers=world.headers(who))
        assert response.status_code == 404, (who, response.text)

    # Refusals: a duplicate period, a rep setting targets, a foreign rep, bad bodies.
    assert client.post("/v1/targets", json=body, headers=manager_a).status_code == 409
    assert (
        client.post(
            "/v1/targets",
            json=body | {"period_start": "2026-11-23", "period_end": "2026-11-29"},
            headers=world.headers("rep_a"),
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/targets", json=body | {"rep_id": world.rep_b.id}, headers=manager_a
        ).status_code
        == 404
    )
    assert client.post(
        "/v1/targets",
        json=body
        | {"rep_id": world.manager_a.id, "period_start": "2026-12-01", "period_end": "2026-12-31"},
        headers=manager_a,
    ).status_code in (404, 422)
    for bad in (
        {"period_start": "2026-11-30", "period_end": "2026-11-29"},
        {"visits_target": -1},
        {"sales_target": "-5"},
    ):
        response = client.post("/v1/targets", json=body | bad, headers=manager_a)
        assert response.status_code == 422, (bad, response.text)


# Delivery date --------------------------------------------------------------------------


def test_delivery_date_confirmation_enqueues_one_sms_per_date(client, db, world):
    world.customer_b.phone = "+6281100000003"
    order = _order(db, world)
    url = f"/v1/orders/{order.id}/delivery-date"
    for who in ("rep_b", "manager_b", "rep_a"):
        response = client.put(url, json={"delivery_date": "2026-12-01"}, headers=world.headers(who))
        assert response.status_code == 403, (who, response.text)
    readonly = api_key(db, world, "customers:read", "orders:read")
    assert (
        client.put(url, json={"delivery_date": "2026-12-01"}, headers=readonly).status_code == 403
    )
    assert stored(db, entity="order", entity_id=order.id) == []

    admin = world.headers("admin")
    for _ in range(2):  # the same date twice: one SMS
        response = client.put(url, json={"delivery_date": "2026-12-01"}, headers=admin)
        assert response.status_code == 200, response.text
        assert response.json() == {"order_id": order.id, "delivery_date": "2026-12-01"}
    [sms] = stored(db, entity="order", entity_id=order.id)
    assert (sms.channel, sms.rule, sms.address, sms.recipient_customer_id) == (
        Channel.sms,
        "delivery_confirmed",
        "+6281100000003",
        world.customer_b.id,
    )
    assert sms.payload["delivery_date"] == "01-12-2026"  # company language: Indonesian
    assert sms.state == NotificationState.pending

    # The ERP's key (scope erp:write) moves the date: that is news, a second SMS.
    erp = api_key(db, world, "erp:write")
    moved = client.put(url, json={"delivery_date": "2026-12-03"}, headers=erp)
    assert moved.status_code == 200, moved.text
    assert client.put(url, json={"delivery_date": "2026-12-03"}, headers=erp).status_code == 200
    rows = stored(db, entity="order", entity_id=order.id)
    assert [r.payload["delivery_date"] for r in rows] == ["01-12-2026", "03-12-2026"]
    db.expire_all()
    assert db.get(Order, order.id).delivery_date == date(2026, 12, 3)

    assert (
        client.put(
            "/v1/orders/999999/delivery-date", json={"delivery_date": "2026-12-01"}, headers=admin
        ).status_code
        == 404
    )
    assert client.put(url, json={"delivery_date": "soon"}, headers=admin).status_code == 422
