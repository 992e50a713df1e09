"""Migrations go up and down cleanly and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import sfa.models  # noqa: F401
from sfa import migrate
from sfa.db import Base


@pytest.fixture
def scratch_url(pg_server):
    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS sfa_migrations"))
        conn.execute(text("CREATE DATABASE sfa_migrations"))
    url = f"{pg_server}/sfa_migrations"
    with create_engine(url).begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    yield url
    with admin.connect() as conn:
        conn.execute(text("DROP DATABASE IF EXISTS sfa_migrations WITH (FORCE)"))
    admin.dispose()


def _tables(url) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
    finally:
        engine.dispose()


def test_up_down_up(scratch_url):
    migrate.upgrade(scratch_url)
    expected = {t.name for t in Base.metadata.sorted_tables}
    assert _tables(scratch_url) == expected
    migrate.downgrade(scratch_url, "base")
    assert _tables(scratch_url) == set()
    migrate.upgrade(scratch_url)
    assert _tables(scratch_url) == expected


def test_models_match_migrations(scratch_url):
    migrate.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    # Only differences that matter: tables, columns, types, nullability.
    relevant = [
        d
        for d in diff
        if (d[0] if isinstance(d, tuple) else d[0][0])
        in {
            "add_table",
            "remove_table",
            "add_column",
            "remove_column",
            "modify_type",
            "modify_nullable",
        }
    ]
    relevant = [
        d
        for d in relevant
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "spatial_ref_sys")
    ]
    assert relevant == [], relevant
