"""A pooled connection that the server closed (restart, failover, idle kill) is not
pinged before use (sfa.db.make_engine): the request that finds it dead gets a 503 it can
retry, never a 500, and the next request works on a new connection."""

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.main import create_app
from sfa import db as sfa_db

# Well-formed, unknown: authenticating it reads api_keys, so each request uses the database.
UNKNOWN_KEY = {"X-API-Key": "sfa_0123456789ab_no-such-key-0123456789"}


@pytest.fixture
def fresh_engine(database_url):
    """The application's own engine, new and empty, disposed afterwards."""
    sfa_db.get_engine.cache_clear()
    sfa_db.get_sessionmaker.cache_clear()
    try:
        yield sfa_db.get_engine()
    finally:
        sfa_db.get_engine().dispose()
        sfa_db.get_engine.cache_clear()
        sfa_db.get_sessionmaker.cache_clear()


def test_a_request_on_a_connection_the_server_closed_answers_503_and_the_next_one_works(
    fresh_engine, engine
):
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        assert client.get("/v1/me", headers=UNKNOWN_KEY).status_code == 401
        # One request at a time: the pool holds exactly the connection it used.
        assert fresh_engine.pool.checkedin() == 1
        with fresh_engine.connect() as pooled:
            pid = pooled.execute(text("SELECT pg_backend_pid()")).scalar_one()
            pooled.rollback()
        with engine.connect() as admin:
            assert admin.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}
            ).scalar_one()
            admin.commit()

        lost = client.get("/v1/me", headers=UNKNOWN_KEY)
        assert lost.status_code == 503, lost.text
        assert lost.json()["error"]["code"] == "database_unavailable"
        assert lost.headers["Retry-After"] == "2"

        again = client.get("/v1/me", headers=UNKNOWN_KEY)
        assert again.status_code == 401, again.text
