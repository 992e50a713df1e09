"""A database of its own on the suite's cluster, migrated, for tests whose code must see
real commits (another process, or the offline sync's rule of finished transactions): the
suite's per-test transactions are never committed. Dropped afterwards."""

import contextlib
from collections.abc import Iterator

from sqlalchemy import create_engine, text

from sfa import migrate


@contextlib.contextmanager
def own_database(pg_server: str, name: str) -> Iterator[str]:
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        url = f"{pg_server}/{name}"
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        engine.dispose()
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()
