"""`sfa run-job NAME`: any scheduled job once by hand, under the scheduler's own lock.

The command runs in this process (typer's CliRunner) against the test database with
committed rows, and delivers to the real SMTP server of conftest.py.
"""

from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, text
from typer.testing import CliRunner

from api.cli import app
from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.db import advisory_key, get_engine, session_scope
from sfa.notifications import outbox
from sfa.notifications.models import Channel, Notification, NotificationState


@pytest.fixture
def smtp_env(monkeypatch, smtp_server, database_url):
    from sfa.config import get_settings

    controller, received = smtp_server
    monkeypatch.setenv("SFA_SMTP_HOST", controller.hostname)
    monkeypatch.setenv("SFA_SMTP_PORT", str(controller.port))
    monkeypatch.setenv("SFA_SMTP_FROM", "SFA <sfa@sfa.example>")
    get_settings.cache_clear()
    yield received
    monkeypatch.undo()
    get_settings.cache_clear()


@pytest.fixture
def queued_email(database_url):
    """A committed email notification, due now, to a committed customer."""
    with session_scope() as session:
        customer = Customer(code="RUNJOB1", name="Toko Run Job", email="toko@runjob.example")
        session.add(customer)
        session.flush()
        row = outbox.enqueue(
            session,
            settings=company_service.get_company_settings(session),
            rule="order_placed",
            channel=Channel.email,
            template="order_placed_distributor",
            dedupe_key="test:run-job:1",
            language="en",
            payload={
                "order_ref": "#1",
                "customer_name": "Toko A",
                "currency": "IDR",
                "net_amount": "1.00",
                "rep_name": "Rep",
            },
            due_at=datetime.now(UTC),
            recipient_customer_id=customer.id,
            address=customer.email,
        )
        ids = row.id, customer.id
    yield ids[0]
    with session_scope() as session:
        session.execute(delete(Notification).where(Notification.id == ids[0]))
        session.execute(delete(Customer).where(Customer.id == ids[1]))


def test_run_job_sends_the_due_notifications_now(smtp_env, queued_email):
    result = CliRunner().invoke(app, ["run-job", "send-notifications"])

    assert result.exit_code == 0, result.output
    assert "job 'send-notifications' done" in result.output and "sent=1" in result.output
    (mail,) = smtp_env
    assert mail["To"] == "toko@runjob.example"
    assert mail["Message-ID"] == f"<sfa-notification-{queued_email}@sfa.example>"
    with session_scope() as session:
        assert session.get(Notification, queued_email).state is NotificationState.sent


def test_run_job_waits_its_turn_behind_the_scheduler(smtp_env, queued_email):
    with get_engine().connect() as scheduler:
        key = advisory_key("job:send-notifications")
        scheduler.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
        try:
            result = CliRunner().invoke(app, ["run-job", "send-notifications"])
        finally:
            scheduler.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            scheduler.commit()

    assert result.exit_code == 1
    assert "is running elsewhere" in result.output
    assert smtp_env == []
    with session_scope() as session:
        assert session.get(Notification, queued_email).state is NotificationState.pending


def test_run_job_lists_the_jobs_for_a_wrong_name(database_url):
    result = CliRunner().invoke(app, ["run-job", "send-notification"])

    assert result.exit_code == 2
    assert "no job 'send-notification'" in result.output
    for name in ("erp-sync", "send-notifications", "overdue-invoice-reminders", "expand-plans"):
        assert name in result.output
