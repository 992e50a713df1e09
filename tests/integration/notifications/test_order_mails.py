"""Who is mailed about an order, when, and with which headers (issue 20 #8, #9).

Orders through the API, the sender job against the real SMTP server of conftest.py.
Customer B001 is served by the distributor BD01 (world): its orders concern BD01. The
rule is "notify on approval": a distributor hears of an order once it is approved, and
of its cancellation if it had heard of it — never of an order still waiting for, or
refused at, its discount approval.
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from event_drain import drain_events
from integrations.notify.smtp import SmtpChannel
from sfa.catalog.models import Product
from sfa.notifications import sender
from sfa.notifications.models import Channel, Notification, NotificationState


@pytest.fixture
def shop(db, world):
    world.distributor_b.email = "gudang@distributor.example"
    world.distributor_b.language = "id"
    product = Product(
        external_id="erp-mail-1",
        code="M1",
        name="Mi Instan",
        unit="dus",
        list_price=Decimal("100000"),
        currency="IDR",
    )
    db.add(product)
    db.commit()
    return product


@pytest.fixture
def deliver(smtp_server, session_factory, db):
    controller, received = smtp_server
    smtp = SmtpChannel(
        host=controller.hostname, port=controller.port, sender="SFA <sfa@sfa.example>"
    )
    clock = [datetime.now(UTC)]

    def run() -> list:
        clock[0] += timedelta(minutes=1)  # never held by the hourly rate limit
        drain_events(db)  # the built-in order workflows, as the drain-events job runs them
        sender.run_sender(session_factory, channels={Channel.email: smtp}, now=clock[0])
        return [m["Subject"] for m in received]

    run.received = received
    return run


def place(client, world, product, discount):
    response = client.post(
        "/v1/orders",
        json={
            "client_id": str(uuid.uuid4()),
            "customer_id": world.customer_b.id,
            "lines": [{"product_id": product.id, "quantity": 1, "discount_pct": discount}],
        },
        headers=world.headers("rep_b"),
    )
    assert response.status_code == 201, response.text
    return response.json()


def placed_notice(order):
    return select(Notification).where(
        Notification.template == "order_placed_distributor",
        Notification.entity == "order",
        Notification.entity_id == order["id"],
    )


def test_a_rejected_order_sends_its_distributor_nothing(client, world, shop, deliver):
    order = place(client, world, shop, discount=12)  # the manager decides
    assert order["state"] == "submitted"
    assert deliver() == []  # not at submission

    rejected = client.post(
        f"/v1/orders/{order['id']}/reject",
        json={"note": "12 % is too much"},
        headers=world.headers("manager_b"),
    )
    assert rejected.status_code == 200, rejected.text

    assert deliver() == []  # nor after the rejection: the distributor never heard of it


def test_an_approved_order_is_announced_once_approved(client, world, shop, deliver):
    order = place(client, world, shop, discount=12)
    assert deliver() == []
    client.post(f"/v1/orders/{order['id']}/approve", headers=world.headers("manager_b"))

    assert deliver() == [f"Pesanan baru #{order['id']} dari Toko B001"]
    assert deliver() == [f"Pesanan baru #{order['id']} dari Toko B001"]  # once


def test_an_approved_order_cancelled_later_sends_the_cancellation(client, world, shop, deliver):
    order = place(client, world, shop, discount=0)  # approved at once
    assert deliver() == [f"Pesanan baru #{order['id']} dari Toko B001"]

    cancelled = client.post(
        f"/v1/orders/{order['id']}/cancel",
        json={"reason": "stok habis"},
        headers=world.headers("admin"),
    )
    assert cancelled.status_code == 200, cancelled.text

    assert deliver() == [
        f"Pesanan baru #{order['id']} dari Toko B001",
        f"Pesanan #{order['id']} dari Toko B001 dibatalkan",
    ]
    assert "Mohon jangan kirimkan barangnya" in deliver.received[1].get_content()


def test_an_order_cancelled_before_its_mail_went_out_sends_nothing(
    client, world, shop, deliver, db
):
    order = place(client, world, shop, discount=0)
    client.post(f"/v1/orders/{order['id']}/cancel", headers=world.headers("rep_b"))

    assert deliver() == []
    withdrawn = db.scalar(placed_notice(order))
    assert withdrawn.state is NotificationState.cancelled


def test_emails_carry_their_language_and_a_message_id_from_our_reference(
    client, world, shop, deliver, db
):
    order = place(client, world, shop, discount=0)
    deliver()
    (mail,) = deliver.received
    row = db.scalar(placed_notice(order))
    assert mail["Content-Language"] == "id"
    assert mail["Message-ID"] == f"<sfa-notification-{row.id}@sfa.example>"
    assert mail["X-SFA-Reference"] == f"sfa-notification-{row.id}"

    resent = client.post(f"/v1/notifications/{row.id}/resend", headers=world.headers("admin"))
    assert resent.status_code == 201, resent.text
    deliver()

    again = deliver.received[1]
    copy_id = resent.json()["id"]
    assert again["Message-ID"] == f"<sfa-notification-{copy_id}@sfa.example>"
    assert again["References"] == mail["Message-ID"]  # recognisable as a resend of it
    assert again["X-SFA-Resend-Of"] == f"sfa-notification-{row.id}"
    assert again["Content-Language"] == "id"
