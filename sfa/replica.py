"""Reads from a streaming replica (SFA_DATABASE_REPLICA_URL), see docs/scaling.md.

Reports, exports and the console's read-only pages take a `RoutingSession`: its reads go
to the replica, its writes to the primary, and once it has written (a day recomputed on
read, say) every later read of that session goes to the primary too, so a request always
sees its own writes. Who the caller is (users, teams, keys, console sessions) is always
read from the primary: a login or a new key works at once, whatever the replica's lag.

The replica serves only while it keeps up: `ReplicaMonitor` measures its lag at most
every `replica_check_seconds` per process; beyond `replica_max_lag_seconds`, not
streaming from the primary, or not answering, every read goes to the primary until it
catches up again, and `/readyz` says so.
"""

import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from sfa.config import get_settings
from sfa.db import current_binding, get_engine, get_sessionmaker, make_engine

log = logging.getLogger("sfa.replica")

# The tables of authentication, read from the primary whatever the session (as ORM
# entities; a report joining users for names still reads the replica).
PRIMARY_ONLY_TABLES = frozenset(
    {"api_keys", "console_sessions", "login_throttle", "user_passwords"}
)
# The execution option that sends a statement to the primary (`text(...).execution_options(
# **{PRIMARY: True})`), e.g. the principal's query over users and teams.
PRIMARY = "sfa_primary"
# A textual statement that may write or lock (it must run on the primary).
_WRITES = re.compile(
    r"\b(insert|update|delete|merge|truncate|copy|create|alter|drop|nextval|setval|"
    r"set_config|pg_advisory\w*|for\s+update|for\s+share|for\s+no\s+key|for\s+key)\b",
    re.IGNORECASE,
)

# The primary's WAL position, then the replica's: caught up when it has replayed at least
# that far; otherwise the lag is the age of the last transaction it replayed.
_PRIMARY_LSN = text("SELECT pg_current_wal_lsn()::text")
_REPLICA_STATE = text(
    "SELECT pg_is_in_recovery(), "
    "(SELECT status FROM pg_stat_wal_receiver LIMIT 1), "
    "CASE WHEN pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn) THEN 0 "
    "ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass(frozen=True)
class ReplicaState:
    """What `/readyz` shows and the routing decides on."""

    status: str  # ok | lagging | not_streaming | unavailable
    lag_seconds: float | None = None
    problem: str | None = None

    @property
    def serving(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status": self.status,
            "reads": "replica" if self.serving else "primary",
        }
        if self.lag_seconds is not None:
            out["lag_seconds"] = round(self.lag_seconds, 3)
        if self.problem:
            out["problem"] = self.problem
        return out


class ReplicaMonitor:
    """The replica's state, measured at most every `check_seconds` (one short query on
    each database), shared by the threads of a process."""

    def __init__(
        self,
        *,
        primary: Engine,
        replica: Engine,
        max_lag_seconds: float,
        check_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.primary, self.replica = primary, replica
        self.max_lag_seconds, self.check_seconds, self.clock = max_lag_seconds, check_seconds, clock
        self._lock = threading.Lock()
        self._state: ReplicaState | None = None
        self._checked_at = 0.0

    def state(self) -> ReplicaState:
        now = self.clock()
        if self._state is not None and now - self._checked_at < self.check_seconds:
            return self._state
        # One thread measures; the others meanwhile go on with the last state they knew
        # (they wait only for the very first measurement).
        known = self._state
        if known is not None and not self._lock.acquire(blocking=False):
            return known
        if known is None:
            self._lock.acquire()
        try:
            if self._state is None or self.clock() - self._checked_at >= self.check_seconds:
                previous, self._state = self._state, self._measure()
                self._checked_at = self.clock()
                if previous is not None and previous.status != self._state.status:
                    log.warning(
                        "replica %s -> %s: %s",
                        previous.status,
                        self._state.status,
                        self._state.problem or "reads from the replica again",
                    )
            return self._state
        finally:
            self._lock.release()

    def _measure(self) -> ReplicaState:
        try:
            with self.primary.connect() as conn:
                lsn = conn.execute(_PRIMARY_LSN).scalar()
            with self.replica.connect() as conn:
                standby, receiver, lag = conn.execute(_REPLICA_STATE, {"lsn": lsn}).one()
        except Exception as exc:  # any failure: reads go to the primary, said in /readyz
            return ReplicaState(
                "unavailable", problem=f"the replica does not answer: {type(exc).__name__}"
            )
        lag = float(lag) if lag is not None else None
        if not standby:
            return ReplicaState("not_streaming", lag, "the replica URL is not a standby server")
        if receiver != "streaming":
            return ReplicaState(
                "not_streaming",
                lag,
                f"the replica is not streaming from the primary ({receiver or 'no WAL receiver'})",
            )
        if lag is None or lag > self.max_lag_seconds:
            return ReplicaState(
                "lagging",
                lag,
                f"the replica is more than {self.max_lag_seconds:g} s behind the primary",
            )
        return ReplicaState("ok", lag)


def reads_authentication(mapper: Any, clause: Any) -> bool:
    """Whether a statement reads who the caller is: an entity of PRIMARY_ONLY_TABLES, or a
    statement marked with the execution option PRIMARY (the principal's own query)."""
    table = getattr(mapper, "persist_selectable", None)
    if getattr(table, "name", None) in PRIMARY_ONLY_TABLES:
        return True
    options = getattr(clause, "get_execution_options", None)
    return bool(options and options().get(PRIMARY))


def writes(clause: Any) -> bool:
    """Whether a statement writes or locks (or may: textual SQL is read for keywords)."""
    if clause is None:
        return False
    if getattr(clause, "is_dml", False) or getattr(clause, "_for_update_arg", None) is not None:
        return True
    sql = getattr(clause, "text", None)
    return isinstance(sql, str) and _WRITES.search(sql) is not None


class RoutingSession(Session):
    """A session whose reads go to the replica until it writes (see the module doc)."""

    def __init__(self, *, primary: Engine, replica: Engine | None, **kwargs: Any):
        # `bind` is the primary: what reads `session.bind` (the settings cache) sees one
        # database whatever the routing.
        kwargs.pop("bind", None)
        super().__init__(bind=primary, **kwargs)
        self.primary, self.replica = primary, replica
        self.wrote = False

    def get_bind(self, mapper=None, *, clause=None, **kwargs: Any):
        if self.replica is None or self.wrote:
            return self.primary
        if self._flushing or writes(clause):
            self.wrote = True
            return self.primary
        if reads_authentication(mapper, clause):
            return self.primary
        return self.replica

    @property
    def on_replica(self) -> bool:
        return self.replica is not None and not self.wrote


@lru_cache
def get_replica_engine() -> Engine | None:
    url = get_settings().database_replica_url
    # A replica that does not answer must not hold up a request for the OS's TCP timeout:
    # after 2 s it counts as unavailable and reads go to the primary.
    return make_engine(url, connect_timeout=2) if url else None


@lru_cache
def get_monitor() -> ReplicaMonitor | None:
    replica = get_replica_engine()
    if replica is None:
        return None
    settings = get_settings()
    return ReplicaMonitor(
        primary=get_engine(),
        replica=replica,
        max_lag_seconds=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_check_seconds,
    )


def current_monitor() -> ReplicaMonitor | None:
    """The replica monitor of the company this request works for: a company of the
    registry has its own replica (or none), the default company SFA_DATABASE_REPLICA_URL."""
    binding = current_binding()
    return binding.monitor if binding is not None else get_monitor()


def make_monitor(primary: Engine, replica_url: str) -> ReplicaMonitor:
    """A monitor of `replica_url` streaming from `primary` (a company of the registry)."""
    settings = get_settings()
    return ReplicaMonitor(
        primary=primary,
        replica=make_engine(replica_url, connect_timeout=2, pool_size=settings.tenant_pool_size),
        max_lag_seconds=settings.replica_max_lag_seconds,
        check_seconds=settings.replica_check_seconds,
    )


@lru_cache
def _routing_sessionmaker() -> sessionmaker[Session]:
    return sessionmaker(class_=RoutingSession, expire_on_commit=False)


def make_read_session() -> Session:
    """A session for a read-mostly request: routed while the replica keeps up, a plain
    primary session when there is no replica or it lags."""
    monitor = current_monitor()
    if monitor is None or not monitor.state().serving:
        return get_sessionmaker()()
    return _routing_sessionmaker()(primary=get_engine(), replica=monitor.replica)


def clear_caches() -> None:
    """Forget the replica's engine and monitor (tests, after changing the settings)."""
    engine = get_replica_engine()
    if engine is not None:
        engine.dispose()
    get_monitor.cache_clear()
    get_replica_engine.cache_clear()
