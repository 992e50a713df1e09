"""Engine, sessions and the declarative base.

One transaction per request or job: `session_scope()` commits when the block succeeds and
rolls back otherwise; services only `flush()`.

Many companies, one database each (docs/tenancy.md): a request or job of a company of the
registry runs inside `bound(binding)`, and everything that asks this module for the
database — `get_engine()`, `get_sessionmaker()`, `session_scope()`, `advisory_lock()` —
gets that company's. Outside any binding it is the default company's (SFA_DATABASE_URL),
exactly as in a single-company deployment. A context variable, so that worker threads
(which copy the context) and nothing else see it.
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, cast

import psycopg
from sqlalchemy import (
    DateTime,
    Executable,
    MetaData,
    Numeric,
    create_engine,
    event,
    func,
    text,
)
from sqlalchemy.engine import CursorResult, Engine, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import QueuePool

from sfa.config import get_settings

# Stable constraint names make Alembic migrations reproducible and reviewable.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Amounts in a document's currency: exact decimals, two places (IDR has none in practice,
# but ERPs keep two).
Money = Numeric(18, 2)
# Unit prices keep the ERP's precision (Tryton: 4 decimals by default), never cut to cents
# (sfa/money.py).
Price = Numeric(18, 6)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


def make_engine(
    url: str,
    *,
    connect_timeout: int | None = None,
    pool_size: int | None = None,
    poolclass: type[QueuePool] = QueuePool,
) -> Engine:
    """An engine with the project's pool and connection settings (get_engine: the
    process's one). `pool_size` smaller than db_pool_size (a company of the registry)
    keeps that many connections and opens the rest up to db_pool_size for a burst;
    `poolclass` a QueuePool of another kind (sfa/tenants/pool.py)."""
    settings = get_settings()
    pooler = settings.db_transaction_pooler
    kept = settings.db_pool_size if pool_size is None else min(pool_size, settings.db_pool_size)
    engine = create_engine(
        url,
        poolclass=poolclass,
        pool_size=kept,
        # An overflow connection is closed when it is returned to a full pool: under load
        # that is a new PostgreSQL backend for many requests. The default company waits
        # for a pooled one instead; a registry company's burst is the price of keeping
        # few connections open for each of many companies.
        max_overflow=settings.db_pool_size - kept,
        pool_timeout=10,
        # No pre-ping: it is one more round trip on every checkout, ~10 % of a check-in's
        # CPU (bench/README.md). A connection found dead when used (server restarted)
        # fails that request — the API answers 503 with Retry-After — and SQLAlchemy then
        # replaces every pooled connection older than the failure.
        pool_pre_ping=False,
        connect_args=(_pooler_connect_args() if pooler else _direct_connect_args())
        | ({"connect_timeout": connect_timeout} if connect_timeout else {}),
    )
    if pooler and settings.db_lock_timeout_ms:
        # Behind a transaction-mode pooler a session setting would stay on whichever server
        # connection the pooler picked: the lock timeout is set in every transaction.
        statement = f"SET LOCAL lock_timeout = {int(settings.db_lock_timeout_ms)}"
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql(statement))
    return engine


def _direct_connect_args() -> dict:
    # Set once per connection rather than per transaction (a round trip each time):
    # no statement of this process waits longer than this for a row or table lock.
    # The API's event-loop endpoints rely on it (api/deps.py).
    return {"options": f"-c lock_timeout={get_settings().db_lock_timeout_ms}"}


def _pooler_connect_args() -> dict:
    # pgbouncer in transaction mode (SFA_DB_TRANSACTION_POOLER, docs/scaling.md): no
    # startup `options` (it refuses them), and no server-side prepared statements, which
    # psycopg makes after a query's 5th run and which live on one server connection
    # (pgbouncer before 1.21 cannot carry them over).
    return {"prepare_threshold": None}


def libpq_url(url: str) -> str:
    """The postgresql:// URL libpq (psycopg itself) takes for a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@dataclass(frozen=True, eq=False)
class Binding:
    """A company of the registry as this process reaches it (sfa/tenants/engines.py)."""

    company: str
    engine: Engine
    sessionmaker: sessionmaker[Session]
    # Its streaming replica's monitor (sfa/replica.py ReplicaMonitor), when it has one.
    monitor: Any = None


_binding: ContextVar[Binding | None] = ContextVar("sfa_company", default=None)


def current_binding() -> Binding | None:
    return _binding.get()


def current_company() -> str:
    """The slug of the company this request or job works for."""
    binding = _binding.get()
    return binding.company if binding is not None else get_settings().default_company


@contextmanager
def bound(binding: Binding | None) -> Iterator[Binding | None]:
    """Work for `binding`'s company inside the block (None: the default company)."""
    token = _binding.set(binding)
    try:
        yield binding
    finally:
        _binding.reset(token)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@lru_cache
def _default_engine(url: str | None = None) -> Engine:
    return make_engine(url or get_settings().database_url)


@lru_cache
def _default_sessionmaker() -> sessionmaker[Session]:
    # `_default_engine(None)`, exactly as get_engine() calls it: lru_cache keys `()` and
    # `(None,)` apart, and two keys would be two pools of the same database.
    return make_sessionmaker(_default_engine(None))


def get_engine(url: str | None = None) -> Engine:
    """The current company's engine (the default company's outside a binding), or the
    process's engine for `url`."""
    binding = _binding.get()
    if url is None and binding is not None:
        return binding.engine
    return _default_engine(url)


def get_sessionmaker() -> sessionmaker[Session]:
    binding = _binding.get()
    return binding.sessionmaker if binding is not None else _default_sessionmaker()


# Tests and benches forget the default engine after changing the settings.
get_engine.cache_clear = _default_engine.cache_clear  # type: ignore[attr-defined]
get_sessionmaker.cache_clear = _default_sessionmaker.cache_clear  # type: ignore[attr-defined]


@contextmanager
def committing(session: Session, *, close: bool = True) -> Iterator[Session]:
    """One unit of work on `session`: commit on success, roll back on error."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        if close:
            session.close()


@contextmanager
def session_scope() -> Iterator[Session]:
    with committing(get_sessionmaker()()) as session:
        yield session


def execute_dml(session: Session, statement: Executable, params: Any = None) -> int:
    """Run an INSERT, UPDATE or DELETE and return how many rows it touched. (Its result is
    a CursorResult, which has `rowcount`; `Session.execute` is typed as a plain Result.)"""
    return cast(CursorResult, session.execute(statement, params)).rowcount or 0


def psycopg_connection(session: Session) -> psycopg.Connection:
    """The psycopg connection under the session's current transaction, for what only the
    driver offers (COPY, plain savepoints)."""
    dbapi = session.connection().connection.dbapi_connection
    if not isinstance(dbapi, psycopg.Connection):
        raise TypeError(f"expected a psycopg connection, got {type(dbapi).__name__}")
    return dbapi


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg advisory locks, derived from a job name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def advisory_lock(name: str) -> Iterator[bool]:
    """An advisory lock, taken without waiting, in a transaction of its own held open on a
    connection of its own for the whole block; yields whether it was taken. It is held
    across the commits of a job that works in several transactions (in other sessions),
    and released when the block ends its transaction, or by PostgreSQL when the process
    dies (its connection closes).

    Transaction-level, not session-level: behind a transaction-mode pooler (pgbouncer)
    a connection is handed to other clients between transactions, so a session-level
    lock would stay held by, or be released from, a server connection no longer ours."""
    with get_engine().connect() as conn, conn.begin():
        yield bool(
            conn.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(name)}
            ).scalar()
        )
