"""Migrations go up and down cleanly and match the models."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

import sfa.models  # noqa: F401
from sfa import migrate
from sfa.db import Base
from sfa.tracking import partitions


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
        names = set(inspect(engine).get_table_names()) - {"spatial_ref_sys", "alembic_version"}
        return {name for name in names if not partitions.is_partition(name)}
    finally:
        engine.dispose()


def _include_object(obj, name, type_, reflected, compare_to):
    return not (type_ == "table" and partitions.is_partition(name))


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
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_object": _include_object}
        )
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


def test_partman_takes_over_the_existing_partitions_without_losing_rows(scratch_url):
    # Before 0017 ingest made `pings_YYYY_MM` itself; 0017 hands them to pg_partman.
    migrate.upgrade(scratch_url, "0010")
    engine = create_engine(scratch_url)
    stored = ["2025-11-03 08:00+00", "2025-11-30 23:59+00", "2026-02-10 07:00+00"]
    with engine.begin() as conn:
        for name, lo, hi in (
            ("pings_2025_11", "2025-11-01", "2025-12-01"),
            ("pings_2026_02", "2026-02-01", "2026-03-01"),
        ):
            conn.execute(
                text(
                    f"CREATE TABLE {name} PARTITION OF pings "
                    f"FOR VALUES FROM ('{lo} 00:00+00') TO ('{hi} 00:00+00')"
                )
            )
        for at in stored:
            conn.execute(
                text(
                    "INSERT INTO pings (rep_id, at, position, mock) "
                    "VALUES (1, :at, ST_GeogFromText('POINT(106.8 -6.2)'), false)"
                ),
                {"at": at},
            )
    migrate.upgrade(scratch_url)
    with engine.connect() as conn:
        conn.execute(text("SET TimeZone = 'UTC'"))
        where = conn.execute(
            text("SELECT tableoid::regclass::text, at::text FROM pings ORDER BY at")
        ).all()
        children = set(
            conn.execute(
                text("SELECT partition_tablename FROM partman.show_partitions('public.pings')")
            ).scalars()
        )
        config = conn.execute(
            text(
                "SELECT partition_interval, premake, infinite_time_partitions "
                "FROM partman.part_config WHERE parent_table = 'public.pings'"
            )
        ).one()
    engine.dispose()
    # The same rows, in the same (renamed) tables.
    assert where == [
        ("pings_p2025_11", "2025-11-03 08:00:00+00"),
        ("pings_p2025_11", "2025-11-30 23:59:00+00"),
        ("pings_p2026_02", "2026-02-10 07:00:00+00"),
    ]
    # The gap between them is filled and months are made ahead of now; no default.
    assert {"pings_p2025_12", "pings_p2026_01"} <= children
    assert not {"pings_2025_11", "pings_2026_02", "pings_default"} & children
    assert config == ("1 mon", 4, True)
    # And back: the old names again, rows still there.
    migrate.downgrade(scratch_url, "0010")
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pings_2025_11")).scalar() == 2
        assert conn.execute(text("SELECT count(*) FROM pings")).scalar() == 3
    engine.dispose()
