"""The API behind a real pgbouncer in transaction mode (SFA_DB_TRANSACTION_POOLER):
check-ins, pings, orders and an export through it, jobs' advisory locks that hold, no
prepared statements, no principal cache. pgbouncer has fewer server connections than
the app's pool, so each serves many clients' transactions in turn."""

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from factories import auth_header, make_customer, make_user
from sfa.auth import principal_cache
from sfa.catalog.models import Product
from sfa.db import advisory_lock
from sfa.jobs import Job, run_locked
from sfa.users.models import Role, Team
from tests.integration.scale.conftest import process_settings

CHECK_INS, PING_BATCHES, PINGS_PER_BATCH, ORDERS = 40, 12, 50, 40


@pytest.fixture(scope="module")
def shop(scale_url):
    """A rep of a team with a customer and a product, committed."""
    engine = create_engine(scale_url)
    with Session(engine) as session:
        manager = make_user(session, "bouncer.manager", Role.manager)
        team = Team(name="Bouncer team", manager_id=manager.id)
        session.add(team)
        session.flush()
        rep = make_user(session, "bouncer.rep", Role.rep, team)
        customer = make_customer(session, "PB001", team, -6.2, 106.8)
        product = Product(
            external_id="pb-1",
            code="PB1",
            name="Kopi",
            unit="pcs",
            list_price=Decimal("25000"),
            currency="IDR",
        )
        session.add(product)
        session.commit()
        ids = {"rep": rep.id, "customer": customer.id, "product": product.id}
        headers = auth_header(rep)
    yield ids, headers, engine
    engine.dispose()


@pytest.fixture
def api(pgbouncer_url, shop) -> Iterator[TestClient]:
    # Fewer transactions at once than pgbouncer has server connections (docs/scaling.md):
    # otherwise a check-in on the event loop could wait for a server connection held by
    # this process's own threaded requests, whose commits need the loop.
    settings = {"database_url": pgbouncer_url, "db_transaction_pooler": "true", "db_pool_size": "2"}
    with process_settings(**settings):
        from api.main import create_app

        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client


def _check_in(customer_id: int, minutes_ago: int) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "customer_id": customer_id,
        "at": (datetime.now(UTC) - timedelta(minutes=minutes_ago)).isoformat(),
        "lat": -6.2001,
        "lon": 106.8001,
        "accuracy_m": 10,
    }


def _pool(pgbouncer_url: str) -> dict:
    """pgbouncer's pool of the database (SHOW POOLS on its admin console): client and
    server connections now."""
    import psycopg

    port = make_url(pgbouncer_url).port
    with psycopg.connect(
        f"host=127.0.0.1 port={port} dbname=pgbouncer user=sfa", autocommit=True
    ) as conn:
        cursor = conn.execute("SHOW POOLS")
        names = [c.name for c in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    return next(row for row in rows if row["database"] == "sfa_scale")


def _pings(batch: int) -> list[dict]:
    start = datetime.now(UTC) - timedelta(hours=3)
    return [
        {
            "at": (start + timedelta(seconds=10 * (batch * PINGS_PER_BATCH + i))).isoformat(),
            "lat": -6.2 + i * 1e-5,
            "lon": 106.8,
            "accuracy_m": 8,
        }
        for i in range(PINGS_PER_BATCH)
    ]


def _order(ids: dict) -> dict:
    return {
        "client_id": str(uuid.uuid4()),
        "customer_id": ids["customer"],
        "lines": [{"product_id": ids["product"], "quantity": 2, "discount_pct": 0}],
    }


def test_check_ins_pings_and_orders_through_pgbouncer(api, shop, pgbouncer_url):
    ids, headers, engine = shop
    assert not principal_cache.cache.enabled  # LISTEN cannot work through the pooler
    check_ins = [_check_in(ids["customer"], 400 - i) for i in range(CHECK_INS)]
    calls = (
        [("/v1/visits/check-in", body, 201) for body in check_ins]
        + [("/v1/pings", _pings(batch), 200) for batch in range(PING_BATCHES)]
        + [("/v1/orders", _order(ids), 201) for _ in range(ORDERS)]
    )

    def call(item):
        path, body, expected = item
        response = api.post(path, json=body, headers=headers)
        assert response.status_code == expected, response.text
        return response.json()

    # Concurrent: the app's connections take turns on pgbouncer's 3 server connections,
    # and the same statements run many times (psycopg would prepare them from the 5th).
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(call, calls))
    first_visit = answers[0]["id"]
    replay = api.post("/v1/visits/check-in", json=check_ins[0], headers=headers)
    assert replay.status_code == 200 and replay.json()["id"] == first_visit
    assert all(a["accepted"] == PINGS_PER_BATCH for a in answers[CHECK_INS:-ORDERS])

    export = api.get("/v1/visits?format=csv", headers=headers)  # a server-side cursor
    assert export.status_code == 200 and export.headers["X-Row-Count"] == str(CHECK_INS)

    with engine.connect() as conn:  # straight to PostgreSQL: what was stored
        counts = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM visits WHERE rep_id = :r), "
                "(SELECT count(*) FROM pings WHERE rep_id = :r), "
                "(SELECT count(*) FROM orders WHERE rep_id = :r)"
            ),
            {"r": ids["rep"]},
        ).one()
    assert tuple(counts) == (CHECK_INS, PING_BATCHES * PINGS_PER_BATCH, ORDERS)
    # It all went through pgbouncer: its clients are the app's connections, served by at
    # most its 3 server connections.
    pool = _pool(pgbouncer_url)
    assert pool["pool_mode"] == "transaction"
    assert pool["cl_active"] + pool["cl_waiting"] >= 1
    assert 1 <= pool["sv_active"] + pool["sv_idle"] + pool["sv_used"] <= 3


def test_job_locks_hold_through_pgbouncer(pgbouncer_url):
    # The second taker gets another server connection while the first holds its
    # transaction open. (A session-level lock, released to the pool between transactions,
    # could be taken again by the same server connection, re-entrantly: twice.)
    job = Job("bouncer-test", lambda session: "ran", {})
    with process_settings(database_url=pgbouncer_url, db_transaction_pooler="true"):
        with (
            advisory_lock("job:bouncer-test") as first,
            advisory_lock("job:bouncer-test") as second,
        ):
            assert (first, second) == (True, False)
            assert run_locked(job) is None
        assert run_locked(job) == "ran"
