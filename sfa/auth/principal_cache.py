"""Who a user is (role, team, managed teams, active), kept between requests until users or
teams change.

Every authenticated request needs it; reading it is one round trip, ~10 % of a check-in's
cost (bench/README.md). A trigger NOTIFYs `sfa_principals` when a change to users or teams
commits (migration 0007); each API process listens on a connection of its own and empties
its cache on every notification. Changes made through this process's ORM empty it at once
too. Nothing is cached while the process is not listening — not started (scheduler, CLI),
connection lost, reconnecting — so a missed notification cannot leave a stale principal:
the cost of a lost connection is a database read per request, never a wrong answer. As a
last bound, an entry is used for at most MAX_AGE_S.

Many companies (docs/tenancy.md): user ids are per company database, so `cache` keeps a
cache per company (`CompanyCaches`), each listening on its own company's database; a
company's cache is started when this process opens the company and stopped when it closes
it (sfa/tenants/engines.py, api/main.py).
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import psycopg
from sqlalchemy import event

from sfa.db import current_company
from sfa.users.models import Team, User

log = logging.getLogger(__name__)

CHANNEL = "sfa_principals"
MAX_AGE_S = 60.0
# How often the listener checks its connection (a query) between notifications; with TCP
# keepalives and a user timeout, a connection that died silently is noticed in seconds.
POLL_S = 1.0
_CONNECT_ARGS: dict[str, Any] = {
    "autocommit": True,
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
    "application_name": "sfa principal cache",
}

T = TypeVar("T")


class PrincipalCache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[int, tuple[float, Any]] = {}
        self._generation = 0
        self._listener: threading.Event | None = None  # the listening thread's stop event
        self._current_stop = threading.Event()
        self._starts = 0

    @property
    def enabled(self) -> bool:
        return self._listener is not None

    def lookup(self, user_id: int, load: Callable[[], T]) -> T:
        """The value cached for `user_id`, or `load()`, kept unless users or teams changed
        while it ran (a notification in between makes it possibly stale)."""
        now = time.monotonic()
        entry = self._entries.get(user_id)
        if entry is not None and now - entry[0] < MAX_AGE_S:
            return entry[1]
        generation = self._generation
        value = load()
        with self._lock:
            if self._listener is not None and generation == self._generation:
                self._entries[user_id] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._forget()

    def _forget(self) -> None:
        # Under self._lock. A load that started before this is not kept (lookup).
        self._generation += 1
        self._entries = {}

    def start(self, conninfo: str) -> None:
        """Listen for changes (a daemon thread) and cache from then on; `conninfo` is a
        libpq connection string or postgresql:// URL. Calls nest with stop()."""
        with self._lock:
            self._starts += 1
            if self._starts > 1:
                return
            stop = self._current_stop = threading.Event()
        threading.Thread(
            target=self._listen, args=(conninfo, stop), daemon=True, name="principal-cache"
        ).start()

    def stop(self) -> None:
        with self._lock:
            self._starts = max(0, self._starts - 1)
            if self._starts:
                return
            stop = self._current_stop
        stop.set()
        self._set_listening(stop, False)  # caching stops now; the thread ends at its next poll

    def _set_listening(self, stop: threading.Event, listening: bool) -> None:
        with self._lock:
            if listening and stop.is_set():
                return
            if listening or self._listener is stop:
                self._listener = stop if listening else None
            self._forget()

    def _listen(self, conninfo: str, stop: threading.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                with psycopg.connect(conninfo, **_CONNECT_ARGS) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    self._set_listening(stop, True)
                    delay = 1.0
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=POLL_S):
                            self.clear()
                        conn.execute("SELECT 1")
            except psycopg.Error as exc:
                log.warning(
                    "principal cache off, every request reads its principal: "
                    "%s; listening again in %.0f s",
                    type(exc).__name__,
                    delay,
                )
            finally:
                self._set_listening(stop, False)
            stop.wait(delay)
            delay = min(delay * 2, 30.0)


class CompanyCaches:
    """A PrincipalCache per company, chosen by the company the request works for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._caches: dict[str, PrincipalCache] = {}

    def _cache(self, company: str | None = None) -> PrincipalCache:
        company = company or current_company()
        cache = self._caches.get(company)
        if cache is None:
            with self._lock:
                cache = self._caches.setdefault(company, PrincipalCache())
        return cache

    @property
    def enabled(self) -> bool:
        return self._cache().enabled

    def lookup(self, user_id: int, load: Callable[[], T]) -> T:
        return self._cache().lookup(user_id, load)

    def clear(self) -> None:
        # A change to users or teams: emptying every company's cache is always safe, and
        # the ORM event that calls this need not know whose database the session uses.
        for cache in list(self._caches.values()):
            cache.clear()

    def start(self, conninfo: str, *, company: str | None = None) -> None:
        self._cache(company).start(conninfo)

    def stop(self, *, company: str | None = None) -> None:
        self._cache(company).stop()

    def listening(self) -> list[str]:
        """The companies whose cache listens now."""
        return [name for name, cache in list(self._caches.items()) if cache.enabled]


cache = CompanyCaches()


def _changed(mapper, connection, target) -> None:
    cache.clear()


for _model in (User, Team):
    for _event in ("after_insert", "after_update", "after_delete"):
        event.listen(_model, _event, _changed)
