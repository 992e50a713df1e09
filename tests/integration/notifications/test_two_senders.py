"""Two sender processes at once, each with its own engine, against one committed outbox.

Unlike the other tests here, the rows are committed for real (a subprocess cannot see the
test's open transaction), and deleted again at the end.
"""

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, delete, func, select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.notifications import outbox
from sfa.notifications.channels import reference_for
from sfa.notifications.models import Channel, Notification, NotificationState

ROOT = Path(__file__).resolve().parents[3]
ROWS = 200
# 2026-11-23 10:00 in Jakarta: outside quiet hours.
MORNING = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)

# One sender process: its own engine and sessions; waits for the go file so that both
# processes start claiming together, then passes until nothing due is left.
SENDER = r"""
import json, os, sys, time
from datetime import datetime
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import sessionmaker
import sfa.models  # every mapper, as the scheduler process has them
from integrations.notify.sms_http import HttpSmsChannel
from sfa.notifications import sender
from sfa.notifications.models import Channel, Notification, NotificationState

url, gateway_url, go_file, now = sys.argv[1:5]
now = datetime.fromisoformat(now)
engine = create_engine(url, pool_size=2)
factory = sessionmaker(bind=engine, expire_on_commit=False)
sms = {Channel.sms: HttpSmsChannel(url=gateway_url, api_key=None, sender_id="SFA")}
print("ready", flush=True)
while not os.path.exists(go_file):
    time.sleep(0.01)
total = sender.SendReport()
passes = 0
while True:
    report = sender.run_sender(factory, channels=sms, now=now, batch_size=7,
                               rate_limit_per_hour=10_000)
    passes += 1
    for field in ("sent", "retried", "parked", "cancelled", "held", "lost_claims"):
        setattr(total, field, getattr(total, field) + getattr(report, field))
    if report.sent == 0:
        with factory() as session:
            left = session.scalar(select(func.count()).select_from(Notification).where(
                Notification.channel == Channel.sms,
                Notification.state.in_([NotificationState.pending,
                                        NotificationState.sending])))
        if not left:
            break
        time.sleep(0.01)
print(json.dumps({"passes": passes, **total.__dict__}), flush=True)
engine.dispose()
"""


@pytest.fixture
def committed_outbox(database_url):
    """ROWS due SMS rows to one customer, committed; everything removed afterwards."""
    engine = create_engine(database_url)
    code = f"TS{uuid.uuid4().hex[:8]}"
    try:
        with Session(engine) as session:
            customer = Customer(
                code=code,
                name="Toko Two Senders",
                customer_class="toko",
                phone="+6281100000999",
                language="en",
            )
            session.add(customer)
            session.flush()
            settings = company_service.get_company_settings(session)
            for n in range(ROWS):
                outbox.enqueue(
                    session,
                    settings=settings,
                    rule="delivery_confirmed",
                    channel=Channel.sms,
                    template="delivery_confirmed",
                    dedupe_key=f"two-senders:{code}:{n}",
                    language="en",
                    payload={
                        "order_id": n,
                        "order_ref": f"#{n}",
                        "customer_name": customer.name,
                        "delivery_date": "2026-11-25",
                    },
                    due_at=MORNING - timedelta(minutes=1),
                    recipient_customer_id=customer.id,
                    address=customer.phone,
                )
            session.commit()
            customer_id = customer.id
        yield engine, customer_id
    finally:
        with Session(engine) as session:
            session.execute(
                delete(Notification).where(Notification.dedupe_key.like(f"two-senders:{code}:%"))
            )
            session.execute(delete(Customer).where(Customer.code == code))
            session.commit()
        engine.dispose()


def _start(database_url, gateway_url, go_file):
    env = os.environ | {"SFA_DATABASE_URL": database_url, "SFA_ENV": "test"}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SENDER,
            database_url,
            gateway_url,
            str(go_file),
            MORNING.isoformat(),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline()
    assert line.strip() == "ready", process.stderr.read()
    return process


def test_two_sender_processes_deliver_each_row_exactly_once(
    database_url, committed_outbox, gateway, tmp_path
):
    engine, customer_id = committed_outbox
    go_file = tmp_path / "go"
    processes = [_start(database_url, gateway.url, go_file) for _ in range(2)]
    go_file.touch()  # both are connected and waiting: start together
    reports = []
    for process in processes:
        out, err = process.communicate(timeout=180)
        assert process.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))

    with Session(engine) as session:
        rows = list(
            session.scalars(
                select(Notification)
                .where(Notification.recipient_customer_id == customer_id)
                .order_by(Notification.id)
            )
        )
        states = Counter(
            session.scalars(
                select(Notification.state).where(Notification.recipient_customer_id == customer_id)
            )
        )
        assert (
            session.scalar(
                select(func.count())
                .select_from(Notification)
                .where(Notification.recipient_customer_id == customer_id)
            )
            == ROWS
        )
    assert states == {NotificationState.sent: ROWS}
    assert all(r.attempts == 1 and r.provider_ref and r.sent_at == MORNING for r in rows)

    # The gateway saw every row's reference exactly once: nothing lost, nothing doubled.
    seen = Counter(request["reference"] for request in gateway.requests)
    assert seen == Counter({reference_for(r.id): 1 for r in rows})
    assert len(gateway.requests) == ROWS
    # Both processes really worked at the same time, and their counts add up.
    assert all(report["sent"] > 0 for report in reports), reports
    assert sum(report["sent"] for report in reports) == ROWS
    assert all(report["lost_claims"] == 0 and report["parked"] == 0 for report in reports)
