"""The connection pools of the registry's companies in this process: bounded, and closed
when idle.

One API process may serve many companies, each with a database of its own. A company's
engine (pool) is made when a request or job first needs it and kept while it is used:
it holds `tenant_pool_size` idle connections (a burst may open more, up to
db_pool_size, kept as spares while the company stays busy and closed by the sweep once
unused, within a budget for the whole process: sfa/tenants/pool.py); it is closed once
unused for
`tenant_idle_seconds`, and when more than `tenant_max_engines` companies are open the
least recently used idle one is closed first. An engine is never closed while one of its
connections is checked out (a request or job holds it): it is closed by a later sweep.
The default company's engine is the process's own (sfa/db.py) and never closed here.

`on_open` / `on_close` are told of each company opened and closed (the API starts and
stops its principal-cache listener there: api/main.py).
"""

import itertools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from sfa import replica
from sfa.config import get_settings
from sfa.db import Binding, make_engine, make_sessionmaker
from sfa.tenants.models import Tenant
from sfa.tenants.pool import BurstPool, SpareBudget

log = logging.getLogger("sfa.tenants.engines")

Hook = Callable[[Tenant], None]
# A company's server that does not answer fails its request or job within this, rather
# than holding an API thread or a scheduler worker for the system's TCP timeout
# (minutes) while the other companies wait for one.
CONNECT_TIMEOUT_SECONDS = 5


@dataclass
class _Open:
    tenant: Tenant
    binding: Binding
    last_used: float


def _checked_out(binding: Binding) -> int:
    pools = [binding.engine.pool]
    if binding.monitor is not None:
        pools.append(binding.monitor.replica.pool)
    return sum(getattr(pool, "checkedout", lambda: 0)() for pool in pools)


def _connections(binding: Binding) -> int:
    """Connections this company's pools hold open (idle or in use)."""
    total = 0
    pools = [binding.engine.pool]
    if binding.monitor is not None:
        pools.append(binding.monitor.replica.pool)
    for pool in pools:
        total += getattr(pool, "checkedin", lambda: 0)() + getattr(pool, "checkedout", lambda: 0)()
    return total


class TenantEngines:
    def __init__(
        self,
        *,
        max_engines: int,
        idle_seconds: float,
        pool_size: int,
        spare_limit: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.max_engines, self.idle_seconds, self.pool_size = max_engines, idle_seconds, pool_size
        self.clock = clock
        # Burst connections kept beyond the companies' pools, all together (pool.py),
        # each until a sweep finds it unused for this long.
        self.spares = SpareBudget(spare_limit)
        self.spare_seconds = self.sweep_every = max(idle_seconds / 10, 0.5)
        self.on_open: Hook | None = None
        self.on_close: Hook | None = None
        self._lock = threading.Lock()
        self._open: OrderedDict[str, _Open] = OrderedDict()
        self._sweeper: threading.Event | None = None

    def binding(self, tenant: Tenant) -> Binding | None:
        """What a request or job of `tenant` works with (None: the default company)."""
        if tenant.is_default:
            return None
        closing: list[_Open] = []
        with self._lock:
            entry = self._open.get(tenant.slug)
            if entry is not None and entry.tenant != tenant:
                # Its URL changed in the registry: new requests use the new database.
                closing.append(self._open.pop(tenant.slug))
                entry = None
            if entry is None:
                entry = _Open(tenant, self._make(tenant), self.clock())
                self._open[tenant.slug] = entry
                opened = True
            else:
                opened = False
            entry.last_used = self.clock()
            self._open.move_to_end(tenant.slug)
            closing += self._over_limit(keep=tenant.slug)
        self._close(closing)
        if opened and self.on_open is not None:
            self.on_open(tenant)
        return entry.binding

    def _make(self, tenant: Tenant) -> Binding:
        engine = make_engine(
            tenant.database_url,
            pool_size=self.pool_size,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            poolclass=BurstPool,
        )
        pool = engine.pool
        assert isinstance(pool, BurstPool)
        pool.budget, pool.spare_seconds, pool.clock = self.spares, self.spare_seconds, self.clock
        monitor = replica.make_monitor(engine, tenant.replica_url) if tenant.replica_url else None
        return Binding(tenant.slug, engine, make_sessionmaker(engine), monitor)

    def _over_limit(self, keep: str) -> list[_Open]:
        # Under self._lock: the least recently used idle companies beyond the limit, never
        # `keep` (the company being handed out: closing it would leave its caller an
        # engine nobody tracks any more). Under the limit, nothing.
        over = len(self._open) - self.max_engines
        if over <= 0:
            return []
        idle = (
            e for e in self._open.values() if e.tenant.slug != keep and _checked_out(e.binding) == 0
        )
        victims = list(itertools.islice(idle, over))
        for entry in victims:
            del self._open[entry.tenant.slug]
        return victims

    def sweep(self) -> list[str]:
        """Close the companies unused for idle_seconds, and the others' spare connections
        unused for spare_seconds; returns the slugs of the companies closed."""
        now = self.clock()
        with self._lock:
            pools = [entry.binding.engine.pool for entry in self._open.values()]
            idle = [
                e
                for e in self._open.values()
                if now - e.last_used >= self.idle_seconds and _checked_out(e.binding) == 0
            ]
            for entry in idle:
                del self._open[entry.tenant.slug]
        self._close(idle)
        for pool in pools:
            if isinstance(pool, BurstPool):
                pool.trim()
        return [entry.tenant.slug for entry in idle]

    def close(self, slug: str) -> bool:
        """Close one company's pools now (it was disabled); False when it was not open."""
        with self._lock:
            entry = self._open.pop(slug, None)
        self._close([entry] if entry is not None else [])
        return entry is not None

    def close_all(self) -> None:
        with self._lock:
            entries = list(self._open.values())
            self._open.clear()
        self._close(entries)

    def _close(self, entries: list[_Open]) -> None:
        for entry in entries:
            binding = entry.binding
            binding.engine.dispose()
            if binding.monitor is not None:
                binding.monitor.replica.dispose()
            log.info("closed the connection pool of company %s", entry.tenant.slug)
            if self.on_close is not None:
                self.on_close(entry.tenant)

    def stats(self) -> dict[str, int]:
        """How many companies are open and the connections their pools hold."""
        with self._lock:
            bindings = [entry.binding for entry in self._open.values()]
        return {"companies": len(bindings), "connections": sum(map(_connections, bindings))}

    def open_companies(self) -> list[str]:
        with self._lock:
            return list(self._open)

    def start_sweeper(self, every_seconds: float | None = None) -> None:
        """Sweep in a daemon thread (at a tenth of idle_seconds unless told) until stop."""
        if self._sweeper is not None:
            return
        stop = self._sweeper = threading.Event()
        interval = every_seconds or self.sweep_every

        def run() -> None:
            while not stop.wait(interval):
                try:
                    self.sweep()
                except Exception:  # a failing close must not end the sweeping
                    log.exception("sweeping idle company pools failed")

        threading.Thread(target=run, daemon=True, name="tenant-sweeper").start()

    def stop_sweeper(self) -> None:
        if self._sweeper is not None:
            self._sweeper.set()
            self._sweeper = None


@lru_cache
def get_engines() -> TenantEngines:
    settings = get_settings()
    return TenantEngines(
        max_engines=settings.tenant_max_engines,
        idle_seconds=settings.tenant_idle_seconds,
        pool_size=settings.tenant_pool_size,
        # As many as one company may have in use at once: a process keeps at most one
        # busy company's worth of burst connections beyond the kept pools.
        spare_limit=settings.db_pool_size - settings.tenant_pool_size,
    )


def binding_for(tenant: Tenant) -> Binding | None:
    return get_engines().binding(tenant)


def clear() -> None:
    """Close every company's pools and forget the settings they were made with (tests)."""
    get_engines().close_all()
    get_engines.cache_clear()
