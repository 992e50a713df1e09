"""Reads from a real streaming replica (pg_basebackup of the suite's server): reports,
exports and read-only console pages go there, writes and a request's reads after its
own write go to the primary, and a lagging replica is left aside (and /readyz says so)."""

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from factories import auth_header, make_customer, make_user
from sfa import replica
from sfa.customers.models import Customer
from sfa.users.models import Role, Team
from tests.integration.scale.conftest import process_settings


@pytest.fixture(scope="module")
def primary(scale_url):
    engine = create_engine(scale_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def standby(replica_url):
    engine = create_engine(replica_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _customers(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM customers")).scalar()


def _caught_up(primary, standby, timeout: float = 20.0) -> None:
    """Wait until the standby has replayed everything the primary has written."""
    with primary.connect() as conn:
        lsn = conn.execute(text("SELECT pg_current_wal_lsn()::text")).scalar()
    deadline = time.monotonic() + timeout
    with standby.connect() as conn:
        while not conn.execute(
            text("SELECT pg_last_wal_replay_lsn() >= CAST(:l AS pg_lsn)"), {"l": lsn}
        ).scalar():
            assert time.monotonic() < deadline, "the replica did not catch up"
            time.sleep(0.05)


@contextmanager
def replay_paused(primary, standby) -> Iterator[None]:
    _caught_up(primary, standby)
    with standby.connect() as conn:
        conn.execute(text("SELECT pg_wal_replay_pause()"))
    try:
        yield
    finally:
        with standby.connect() as conn:
            conn.execute(text("SELECT pg_wal_replay_resume()"))
        _caught_up(primary, standby)


@pytest.fixture(scope="module")
def people(primary):
    """An admin and a team with a customer, committed (the replica sees only that)."""
    with Session(primary) as session:
        admin = make_user(session, "replica.admin", Role.admin)
        manager = make_user(session, "replica.manager", Role.manager)
        team = Team(name="Replica team", manager_id=manager.id)
        session.add(team)
        session.flush()
        make_customer(session, "R001", team, -6.2, 106.8)
        session.commit()
        return {"admin": auth_header(admin), "team_id": team.id}


def _new_customer(primary, team_id: int, code: str) -> None:
    with Session(primary) as session:
        session.add(Customer(code=code, name=f"Toko {code}", team_id=team_id))
        session.commit()


@pytest.fixture
def api(scale_url, replica_url, people) -> Iterator[TestClient]:
    settings = {
        "database_url": scale_url,
        "database_replica_url": replica_url,
        "replica_max_lag_seconds": "60",
        "replica_check_seconds": "0",
    }
    with process_settings(**settings):
        from api.main import create_app

        with TestClient(create_app(), raise_server_exceptions=False) as client:
            yield client


def _csv_rows(api, headers) -> int:
    response = api.get("/v1/customers?format=csv", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.headers["X-Row-Count"])


def _json_total(api, headers) -> int:
    response = api.get("/v1/customers", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["total"]


def test_exports_and_reports_read_the_replica_writes_and_pages_the_primary(
    api, primary, standby, people
):
    admin = people["admin"]
    with replay_paused(primary, standby):
        before = _customers(standby)
        _new_customer(primary, people["team_id"], "R-PAUSED")
        assert _customers(primary) == before + 1
        # The export is read from the replica, which has not replayed the new customer;
        # the JSON page (what the app reads right after its own writes) from the primary.
        assert _csv_rows(api, admin) == before
        assert _json_total(api, admin) == before + 1
        # A user created now is not on the replica: authentication reads the primary.
        with Session(primary) as session:
            late = make_user(session, "replica.late.admin", Role.admin)
            session.commit()
            late_headers = auth_header(late)
        assert api.get("/v1/reports/team-days", headers=late_headers).status_code == 200
        assert _csv_rows(api, late_headers) == before
        ready = api.get("/readyz").json()
        assert ready["replica"]["status"] == "ok" and ready["replica"]["reads"] == "replica"
    # Replayed: the export sees it now.
    assert _csv_rows(api, admin) == before + 1


def test_a_lagging_replica_is_left_aside_and_readyz_says_so(api, primary, standby, people):
    admin = people["admin"]
    monitor = replica.get_monitor()
    assert monitor is not None
    with replay_paused(primary, standby):
        before = _customers(standby)
        _new_customer(primary, people["team_id"], "R-LAG")
        monitor.max_lag_seconds = 0.2
        time.sleep(0.5)
        ready = api.get("/readyz")
        body = ready.json()
        assert ready.status_code == 200 and body["status"] == "degraded"
        assert body["replica"]["status"] == "lagging"
        assert body["replica"]["reads"] == "primary"
        assert body["replica"]["lag_seconds"] > 0.2
        assert "behind the primary" in body["replica"]["problem"]
        # Reads went to the primary meanwhile: the new customer is in the export.
        assert _csv_rows(api, admin) == before + 1
    monitor.max_lag_seconds = 60
    body = api.get("/readyz").json()
    assert body["replica"]["status"] == "ok" and body["status"] == "ok"


def test_a_session_reads_its_own_writes_from_the_primary(api, primary, standby, people):
    with replay_paused(primary, standby):
        before = _customers(standby)
        _new_customer(primary, people["team_id"], "R-OWN")
        session = replica.make_read_session()
        try:
            assert isinstance(session, replica.RoutingSession) and session.on_replica
            count = select(func.count()).select_from(Customer)
            assert session.scalar(count) == before  # the replica
            session.add(Customer(code="R-MINE", name="Toko mine", team_id=people["team_id"]))
            session.flush()  # a write: the primary from here on
            assert not session.on_replica
            # The committed one the replica lacks, and this session's own, uncommitted.
            assert session.scalar(count) == before + 2
        finally:
            session.rollback()
            session.close()


def test_an_unreachable_replica_sends_reads_to_the_primary(scale_url, people):
    from conftest import _free_port

    dead = f"postgresql+psycopg://sfa@127.0.0.1:{_free_port()}/sfa_scale"
    with process_settings(database_url=scale_url, database_replica_url=dead):
        monitor = replica.get_monitor()
        assert monitor is not None
        state = monitor.state()
        assert state.status == "unavailable" and "does not answer" in (state.problem or "")
        session = replica.make_read_session()
        try:
            assert not isinstance(session, replica.RoutingSession)
            assert session.scalar(select(func.count()).select_from(Customer)) >= 1
        finally:
            session.close()
