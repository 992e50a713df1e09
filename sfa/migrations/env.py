"""Alembic environment: runs migrations against SFA_DATABASE_URL (or the -x url= override)."""

from alembic import context
from sqlalchemy import create_engine, pool, text

import sfa.models  # noqa: F401  (registers every table on Base.metadata)
from sfa.config import get_settings
from sfa.db import Base, advisory_key
from sfa.tracking import partitions

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    return (
        context.get_x_argument(as_dictionary=True).get("url")
        or config.get_main_option("sqlalchemy.url")
        or get_settings().database_url
    )


def _include_object(obj, name, type_, reflected, compare_to):
    # PostGIS owns spatial_ref_sys, pg_partman the partitions of pings: not ours to diff.
    return not (type_ == "table" and (name == "spatial_ref_sys" or partitions.is_partition(name)))


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
    )
    with context.begin_transaction():
        # Several replicas may start at once (API + scheduler): one migrates, the others
        # wait here and then find the schema already at head.
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key("alembic-migrate")}
        )
        context.run_migrations()


run_migrations_online()
