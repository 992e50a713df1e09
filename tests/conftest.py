"""Test infrastructure.

Unit tests need nothing. Integration and e2e tests get a real PostgreSQL + PostGIS: a
throwaway cluster started for the session by scripts/pg.sh on a free port (or the
database in SFA_TEST_DATABASE_URL), migrated once; every test runs inside a transaction
that is rolled back, so tests never see each other's rows.
"""

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
os.environ.setdefault("SFA_ENV", "test")
# The suite signs its tokens with a secret of its own (a deployment without one generates
# one: sfa/auth/signing_key.py, tested in tests/unit/test_signing_key.py).
os.environ.setdefault("SFA_JWT_SECRET", "test-suite-secret-" + "0123456789abcdef" * 2)
# One admin makes thousands of requests a minute here (the fuzzer): the limits stay on,
# high (their headers are on every response); tests/e2e/test_rate_limits_api.py lowers them.
os.environ.setdefault("SFA_RATE_LIMIT_USER_PER_MINUTE", "100000000")
os.environ.setdefault("SFA_RATE_LIMIT_API_KEY_PER_MINUTE", "100000000")


# The markers of pyproject.toml, set by folder: `-m "not integration"` runs the unit tests
# alone, `-m "not erp"` everything but the Tryton tests.
_MARKERS_BY_FOLDER = {
    ROOT / "tests" / "integration": ("integration",),
    ROOT / "tests" / "e2e": ("integration",),
    ROOT / "tests" / "integration" / "erp": ("erp",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(item.path)
        for folder, names in _MARKERS_BY_FOLDER.items():
            if path.is_relative_to(folder):
                for name in names:
                    item.add_marker(name)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _no_dns(host: str, port: int) -> list[str]:
    if host == "localhost":
        return ["127.0.0.1"]
    raise OSError(f"the test suite resolves no host name ({host!r}): stub it (use_resolver)")


@pytest.fixture(scope="session", autouse=True)
def no_dns_for_webhooks() -> Iterator[None]:
    """Webhook URLs are resolved through sfa.webhooks.ssrf's one resolver: in the suite it
    knows no name, so no test (the API fuzzer's URLs included) ever asks a real DNS."""
    from sfa.webhooks import ssrf

    previous = ssrf.set_resolver(_no_dns)
    yield
    ssrf.set_resolver(previous)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Base URL (without database) of a PostGIS-enabled server for this test session."""
    if url := os.environ.get("SFA_TEST_SERVER_URL"):
        yield url
        return
    data_dir = Path(tempfile.mkdtemp(prefix="sfa-test-pg-"))
    port = _free_port()
    script = ROOT / "scripts" / "pg.sh"
    env = os.environ | {"SFA_PG_FSYNC": "off"}
    subprocess.run([script, "start", data_dir, str(port), "sfa_test"], check=True, env=env)
    try:
        yield f"postgresql+psycopg://sfa@127.0.0.1:{port}"
    finally:
        subprocess.run([script, "stop", data_dir], check=False)
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server: str) -> Iterator[str]:
    from sfa import db as sfa_db
    from sfa import migrate
    from sfa.config import get_settings

    # The workflow engine's consumer, registered as the app and the scheduler register it:
    # an order's discount approval runs when the order is submitted (at emit).
    from sfa.workflows import consumer  # noqa: F401

    url = f"{pg_server}/sfa_test"
    os.environ["SFA_DATABASE_URL"] = url
    get_settings.cache_clear()
    sfa_db.get_engine.cache_clear()
    sfa_db.get_sessionmaker.cache_clear()
    migrate.upgrade(url)
    _allow_old_fixture_dates(url)
    yield url


# The suite's fixtures are dated (November 2026 mostly) and must keep passing as the
# calendar moves on: the suite's database accepts event times ten years back. The bound
# itself is tested with its default (tests/e2e/test_event_times_api.py removes this row
# inside its transaction).
SUITE_MAX_BACKDATE_DAYS = 3650


def _allow_old_fixture_dates(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO company_settings (key, value, updated_by) "
                "VALUES ('max_backdate_days', CAST(:v AS jsonb), 'tests/conftest.py') "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value"
            ),
            {"v": str(SUITE_MAX_BACKDATE_DAYS)},
        )
    engine.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    from sfa import db as sfa_db

    # The application's pool and connection settings (lock_timeout, no pre-ping).
    eng = sfa_db.make_engine(database_url)
    yield eng
    eng.dispose()


@contextlib.contextmanager
def rolled_back_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that is rolled back at the end, whatever was
    committed inside it (also used by tests/e2e/test_fuzz_api.py, per module)."""
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with rolled_back_connection(engine) as conn:
        yield conn


def rolled_back_session(connection: Connection) -> Session:
    """A session inside `connection`'s transaction (also used by tests/e2e/test_fuzz_api.py)."""
    # Commits inside the code under test release a savepoint; the outer transaction is
    # rolled back after the test.
    return Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(connection: Connection) -> Iterator[Session]:
    session = rolled_back_session(connection)
    try:
        yield session
    finally:
        session.close()


@pytest.fixture
def make_session(connection: Connection):
    """Sessions on the test's connection, for code that opens (and commits) its own."""
    return lambda: rolled_back_session(connection)


@pytest.fixture
def app(connection: Connection):
    from api import deps
    from api.main import create_app

    application = create_app()

    application.dependency_overrides.update(
        deps.session_overrides(lambda: rolled_back_session(connection))
    )
    return application


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def world(db: Session):
    from factories import build_world

    built = build_world(db)
    db.commit()
    return built


@pytest.fixture(scope="session")
def companies(pg_server: str, database_url: str) -> Iterator[dict]:
    """The registry and the companies of tests/tenancy.py, created once for the session
    by the code of `sfa tenants create` (each migrated from scratch)."""
    from sfa.tenants import service
    from sfa.tenants.registry import get_registry
    from tenancy import (
        COMPANIES,
        REGISTRY_DB,
        create_empty_database,
        drop_database,
        tenancy_settings,
    )

    create_empty_database(pg_server, REGISTRY_DB)
    made = {}
    try:
        with tenancy_settings(pg_server):
            for slug, password in COMPANIES.items():
                made[slug] = service.create(
                    get_registry(), slug=slug, display_name=slug.title(), admin_password=password
                ).tenant
        yield made
    finally:
        for tenant in made.values():
            drop_database(pg_server, tenant.database_url.rsplit("/", 1)[1])
        drop_database(pg_server, REGISTRY_DB)


@pytest.fixture
def tenancy(companies, pg_server: str):
    """The app and the CLI see the registry (tests/tenancy.py) during the test."""
    from sfa.tenants.registry import get_registry
    from tenancy import tenancy_settings

    with tenancy_settings(pg_server):
        yield get_registry()
