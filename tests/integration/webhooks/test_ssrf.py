"""The SSRF guard, at subscription and at delivery, with a stubbed resolver: no name
is looked up in a real DNS, and no test connects anywhere but 127.0.0.1 (a refused
address is refused before any connection)."""

from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from event_drain import emit_sample
from sfa.config import get_settings
from sfa.webhooks import service as webhook_service
from sfa.webhooks import ssrf
from sfa.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery

NAMES = {
    "intranet.example": ["10.1.2.3"],
    "metadata.example": ["169.254.169.254"],
    "mixed.example": ["93.184.216.34", "192.168.1.9"],
    "public.example": ["93.184.216.34"],
    "v6-private.example": ["fd12:3456::1"],
}


def _stub(names):
    def resolve(host, port):
        if host not in names:
            raise OSError(f"stub: no such name {host}")
        return names[host]

    return resolve


@pytest.fixture
def guard_on(monkeypatch):
    for name in ("SFA_WEBHOOKS_ALLOW_LOOPBACK", "SFA_WEBHOOKS_ALLOW_PRIVATE"):
        monkeypatch.delenv(name, raising=False)
    get_settings.cache_clear()
    with ssrf.use_resolver(_stub(NAMES)):
        yield
    get_settings.cache_clear()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("https://10.0.0.5/hook", "private"),
        ("https://172.16.0.1/hook", "private"),
        ("https://192.168.0.10/hook", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://169.254.10.1/", "link-local"),
        ("https://intranet.example/hook", "private"),
        ("https://metadata.example/hook", "metadata"),
        ("https://mixed.example/hook", "private"),
        ("https://v6-private.example/hook", "private"),
        ("http://[::ffff:10.0.0.1]/hook", "private"),
        ("https://nowhere.example/hook", "cannot be resolved"),
        ("ftp://public.example/file", "http(s)"),
        ("https://user:pw@public.example/", "user or password"),
    ],
)
def test_refused_urls(guard_on, url, why):
    with pytest.raises(ssrf.UnsafeUrl, match=why.replace("(", r"\(").replace(")", r"\)")):
        ssrf.check_url(url)


def test_a_public_name_passes_and_keeps_its_host(guard_on):
    target = ssrf.check_url("https://public.example/hooks/sfa?x=1")
    assert (target.address, target.host, target.port, target.path) == (
        "93.184.216.34",
        "public.example",
        443,
        "/hooks/sfa?x=1",
    )


def test_allow_private_never_allows_metadata(guard_on, monkeypatch):
    monkeypatch.setenv("SFA_WEBHOOKS_ALLOW_PRIVATE", "true")
    get_settings.cache_clear()
    assert ssrf.check_url("https://intranet.example/").address == "10.1.2.3"
    with pytest.raises(ssrf.UnsafeUrl, match="metadata"):
        ssrf.check_url("http://169.254.169.254/")


def test_a_subscription_to_a_private_address_is_refused(client, world, guard_on):
    response = client.post(
        "/v1/webhooks",
        json={"name": "x", "url": "https://intranet.example/h", "event_types": ["order.approved"]},
        headers=world.headers("admin"),
    )
    assert response.status_code == 422, response.text
    assert "10.1.2.3" in response.json()["error"]["message"]


def test_delivery_checks_the_address_again_before_connecting(
    db, receiver, admin, dispatcher, enqueue
):
    """A name that resolved to the receiver when subscribed, re-pointed to a private
    address later, is refused at delivery: nothing reaches any server."""
    port = urlsplit(receiver.url).port
    names = {"hooks.example": ["127.0.0.1"]}
    with ssrf.use_resolver(_stub(names)):
        endpoint, secret = webhook_service.create_endpoint(
            db,
            principal=admin,
            name="renamed",
            url=f"http://hooks.example:{port}/hook",
            event_types=["announcement.due"],
        )
        receiver.secrets.append(secret)
        db.commit()
        emit_sample(db, "first", key="first")
        enqueue()
        assert dispatcher.run_once().delivered == 1  # to 127.0.0.1, as resolved
        assert receiver.verified[0].headers["host"] == f"hooks.example:{port}"
        names["hooks.example"] = ["10.0.0.7"]
        emit_sample(db, "second", key="second")
        enqueue()
        assert dispatcher.run_once().retried == 1
    assert len(receiver.received) == 1
    db.expire_all()
    row = db.scalar(
        select(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
    )
    assert row.state is DeliveryState.pending
    attempt = db.scalar(select(WebhookAttempt).where(WebhookAttempt.delivery_id == row.id))
    assert attempt.status_code is None and "10.0.0.7" in attempt.error
    assert attempt.error.startswith("refused")
