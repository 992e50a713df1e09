"""Two API processes and two schedulers on one database: check-ins, ping batches and
orders sent to both APIs at once (as a phone retrying through a load balancer would) are
stored once; each order's notifications are made and emailed once (a real SMTP server);
every scheduled job ran exactly once per period. The schedulers run the real jobs with
periods of a few seconds (fast_scheduler.py) so that several periods pass."""

import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from aiosmtpd.controller import Controller
from conftest import ROOT, _free_port
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from factories import auth_header, make_customer, make_user
from sfa.catalog.models import Product
from sfa.users.models import Role, Team

PERIOD_S = 3
REPS, CHECK_INS_PER_REP, PING_BATCHES_PER_REP, ORDERS_PER_REP = 4, 6, 3, 3
BIN = Path(sys.executable).parent


class Inbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture(scope="module")
def field(scale_url):
    """A team of reps; a distributor (with an email) and its secondary customers."""
    engine = create_engine(scale_url)
    with Session(engine) as session:
        manager = make_user(session, "mp.manager", Role.manager)
        team = Team(name="Multi-process team", manager_id=manager.id)
        session.add(team)
        session.flush()
        distributor = make_customer(
            session,
            "MPD",
            team,
            -6.25,
            106.85,
            is_distributor=True,
            cls="distributor",
            email="orders@distributor.example",
        )
        reps = []
        for r in range(REPS):
            rep = make_user(session, f"mp.rep{r}", Role.rep, team)
            shop = make_customer(
                session, f"MP{r}", team, -6.2 - r * 0.01, 106.8, distributor_id=distributor.id
            )
            reps.append(
                {
                    "id": rep.id,
                    "headers": auth_header(rep),
                    "customer": shop.id,
                    "lat": -6.2 - r * 0.01,
                }
            )
        product = Product(
            external_id="mp-1",
            code="MP1",
            name="Teh",
            unit="pcs",
            list_price=Decimal("10000"),
            currency="IDR",
        )
        session.add(product)
        session.commit()
        yield {"reps": reps, "product": product.id}, engine
    engine.dispose()


def _spawn(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    with open(log, "wb") as out:
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(base: str, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()[-3000:]
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{base} did not answer: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def cluster(scale_url, smtp, field, tmp_path_factory) -> Iterator[dict]:
    """Two `sfa serve` and two schedulers, each a process of its own."""
    folder = tmp_path_factory.mktemp("multi-process")
    env = os.environ | {
        "SFA_DATABASE_URL": scale_url,
        "SFA_LOG_LEVEL": "warning",
        "SFA_SMTP_HOST": "127.0.0.1",
        "SFA_SMTP_PORT": str(smtp[0]),
        # One distributor gets every order's email: above the default 10 an hour.
        "SFA_NOTIFY_RATE_LIMIT_PER_HOUR": "1000",
        "PYTHONPATH": str(ROOT),
    }
    apis, schedulers = [], []
    try:
        for i in range(2):
            port, log = _free_port(), folder / f"api{i}.log"
            command = [str(BIN / "sfa"), "serve", "--port", str(port), "--workers", "1"]
            apis.append((f"http://127.0.0.1:{port}", _spawn(command, env, log), log))
        for base, process, log in apis:
            _wait_ready(base, process, log)
        started = datetime.now(UTC)
        script = str(Path(__file__).with_name("fast_scheduler.py"))
        for i in range(2):
            log = folder / f"scheduler{i}.log"
            schedulers.append((_spawn([sys.executable, script, str(PERIOD_S)], env, log), log))
        yield {"apis": [a[0] for a in apis], "schedulers": schedulers, "started": started}
    finally:
        for _, process, _ in apis:
            _stop(process)
        for process, _ in schedulers:
            _stop(process)


def _requests(field_data) -> list[tuple[str, dict, dict]]:
    """Every request of the load, once: (path, body, headers)."""
    now = datetime.now(UTC)
    out = []
    for r, rep in enumerate(field_data["reps"]):
        for k in range(CHECK_INS_PER_REP):
            out.append(
                (
                    "/v1/visits/check-in",
                    {
                        "client_id": str(uuid.uuid4()),
                        "customer_id": rep["customer"],
                        "at": (now - timedelta(minutes=90 - 10 * k)).isoformat(),
                        "lat": rep["lat"] + 0.0001,
                        "lon": 106.8,
                        "accuracy_m": 8,
                    },
                    rep["headers"],
                )
            )
        for b in range(PING_BATCHES_PER_REP):
            start = now - timedelta(hours=2, minutes=20 * b)
            out.append(
                (
                    "/v1/pings",
                    [
                        {
                            "at": (start + timedelta(seconds=15 * i)).isoformat(),
                            "lat": rep["lat"] + i * 1e-5,
                            "lon": 106.8,
                            "accuracy_m": 9,
                        }
                        for i in range(60)
                    ],
                    rep["headers"],
                )
            )
        for _ in range(ORDERS_PER_REP):
            out.append(
                (
                    "/v1/orders",
                    {
                        "client_id": str(uuid.uuid4()),
                        "customer_id": rep["customer"],
                        "lines": [
                            {
                                "product_id": field_data["product"],
                                "quantity": 1 + r,
                                "discount_pct": 0,
                            }
                        ],
                    },
                    rep["headers"],
                )
            )
    return out


def _poll(condition, timeout: float, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (value := condition()) is not None:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what()}")


def test_two_apis_two_schedulers_store_and_notify_once(cluster, field, smtp):
    field_data, engine = field
    requests = _requests(field_data)
    rep_ids = [rep["id"] for rep in field_data["reps"]]

    def send(job):
        base, (path, body, headers) = job
        with httpx.Client(base_url=base, timeout=60) as client:
            return client.post(path, json=body, headers=headers).status_code

    # Every request to both APIs at once.
    jobs = [(base, request) for request in requests for base in cluster["apis"]]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(send, jobs))
    assert set(statuses) <= {200, 201}, statuses

    params = {"reps": rep_ids}
    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM visits WHERE rep_id = ANY(:reps)), "
                "(SELECT count(*) FROM pings WHERE rep_id = ANY(:reps)), "
                "(SELECT count(*) FROM orders WHERE rep_id = ANY(:reps))"
            ),
            params,
        ).one()
    assert tuple(stored) == (
        REPS * CHECK_INS_PER_REP,
        REPS * PING_BATCHES_PER_REP * 60,
        REPS * ORDERS_PER_REP,
    )

    # Each auto-approved order of a secondary customer: one email to the distributor and
    # one in-app notice to the rep, delivered by whichever scheduler's sender got it.
    orders = REPS * ORDERS_PER_REP

    def delivered():
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT channel, state, count(*) FROM notifications GROUP BY 1, 2")
            ).all()
        counts = {(channel, status): n for channel, status, n in rows}
        done = counts.get(("email", "sent"), 0) == orders and len(smtp[1].messages) >= orders
        last[0] = counts
        return counts if done else None

    last: list = [None]

    counts = _poll(delivered, 60, lambda: f"the order emails: {last[0]}, {len(smtp[1].messages)}")
    time.sleep(2 * PERIOD_S)  # a sender that would send twice has had its chance
    assert len(smtp[1].messages) == orders
    assert counts.get(("email", "sent")) == orders
    assert not {key for key in counts if key[1] in ("parked", "uncertain")}, counts
    assert counts.get(("in_app", "sent")) == orders


def test_every_job_ran_once_per_period(cluster, field):
    _, engine = field
    time.sleep(4 * PERIOD_S)  # several periods for every job
    ended = datetime.now(UTC)
    for process, log in cluster["schedulers"]:
        assert process.poll() is None, log.read_text()[-3000:]
    step = timedelta(seconds=PERIOD_S)
    # Periods wholly inside the run, the first one after the schedulers started up.
    first = cluster["started"] + 2 * step
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT job, period_start, status, attempts, runner FROM job_runs "
                "WHERE period_start >= :first AND period_start + :step <= :ended"
            ),
            {"first": first, "step": step, "ended": ended},
        ).all()
    jobs = {row.job for row in rows}
    assert {"refresh-dirty-days", "send-notifications", "partition-upkeep", "erp-sync"} <= jobs
    periods = sorted({row.period_start for row in rows})
    assert len(periods) >= 3
    by_job = Counter(row.job for row in rows)
    # Every job in every period (none missed; the primary key forbids a second row).
    assert set(by_job.values()) == {len(periods)}, by_job
    assert {(row.status, row.attempts) for row in rows} == {("done", 1)}
    # And no extra executions: the schedulers' logs say "done" once per claimed run.
    done = Counter()
    for _, log in cluster["schedulers"]:
        for line in log.read_text().splitlines():
            if match := re.search(r"job (\S+) (?:of company \S+ )?done", line):
                done[match[1]] += 1
    with engine.connect() as conn:
        claimed = Counter(
            dict(
                conn.execute(
                    text("SELECT job, count(*) FROM job_runs WHERE status = 'done' GROUP BY job")
                ).all()
            )
        )
    assert {job: done[job] for job in claimed} == dict(claimed)
    runners = {row.runner for row in rows}
    assert len(runners) == 2, runners  # both schedulers took their turns
