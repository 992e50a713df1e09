"""Webhooks under test: receivers on 127.0.0.1 (the only addresses any test reaches),
the loopback allowed by the setting a development machine would use, and a dispatcher
on the test's connection."""

import pytest
import webhook_receiver

from sfa.auth import service as auth_service
from sfa.config import get_settings
from sfa.webhooks import jobs as webhook_jobs
from sfa.webhooks import service as webhook_service
from sfa.webhooks.dispatcher import Dispatcher


@pytest.fixture
def loopback(monkeypatch):
    monkeypatch.setenv("SFA_WEBHOOKS_ALLOW_LOOPBACK", "true")
    get_settings.cache_clear()
    yield
    monkeypatch.delenv("SFA_WEBHOOKS_ALLOW_LOOPBACK")
    get_settings.cache_clear()


@pytest.fixture
def receiver(loopback):
    made = webhook_receiver.start(webhook_receiver.Receiver())
    yield made
    webhook_receiver.stop(made)


@pytest.fixture
def admin(db, world):
    return auth_service.principal_for_user(db, world.admin)


@pytest.fixture
def subscribe(db, admin):
    """subscribe(receiver, name=..., event_types=[...]) -> the endpoint; the receiver
    learns the secret."""

    def make(receiver, name="crm", event_types=("announcement.due",)):
        endpoint, secret = webhook_service.create_endpoint(
            db, principal=admin, name=name, url=receiver.url, event_types=list(event_types)
        )
        receiver.secrets.append(secret)
        db.commit()
        return endpoint

    return make


@pytest.fixture
def dispatcher(make_session):
    made = Dispatcher(make_session, workers=4)
    yield made
    made.close()


@pytest.fixture
def enqueue(db):
    """Drain the webhooks consumer (what the dispatcher loop does before each pass)."""
    from event_drain import drain_events

    def drain():
        result = drain_events(db, webhook_jobs.CONSUMER)
        db.commit()
        return result

    return drain
