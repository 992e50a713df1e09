"""A company's connection pool: a QueuePool whose burst connections are kept a while.

A company of the registry keeps `tenant_pool_size` connections (2) so that many
companies cost few connections; a burst may open more, up to `db_pool_size`. A plain
QueuePool closes such an overflow connection as soon as it is given back, so a company
that stays busier than its kept pool opens a PostgreSQL connection for most of its
requests (bench/tenants.py measured one busy company at half the throughput of the same
load spread over many). Here a burst connection given back is kept as a *spare*: the
next checkout that finds the kept pool empty takes it, and `trim()` (the engines'
sweeper) closes the spares unused for `spare_seconds`. The spares of all companies in a
process share one `SpareBudget`: when it is spent, a burst connection is closed when
given back, as before, so a process never keeps more than that many beyond the kept
pools.

Built on QueuePool's `_do_get` / `_do_return_conn` (the methods a Pool subclass
provides); tests/integration/tenants/test_tenant_pool.py holds its accounting to
QueuePool's.
"""

import threading
import time
from collections.abc import Callable

from sqlalchemy.pool import ConnectionPoolEntry, QueuePool


class SpareBudget:
    """How many spare connections the pools of one process may keep, together."""

    def __init__(self, limit: int):
        self.limit = limit
        self._lock = threading.Lock()
        self._used = 0

    def take(self) -> bool:
        with self._lock:
            if self._used >= self.limit:
                return False
            self._used += 1
            return True

    def give_back(self, count: int = 1) -> None:
        with self._lock:
            self._used -= count

    @property
    def used(self) -> int:
        return self._used


class BurstPool(QueuePool):
    # Set on the instance after create_engine made it (it passes only pool_* arguments).
    budget: SpareBudget | None = None
    spare_seconds: float = 30.0
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._spare_lock = threading.Lock()
        self._spares: list[tuple[float, ConnectionPoolEntry]] = []

    def _do_return_conn(self, record: ConnectionPoolEntry) -> None:
        if self._pool.qsize() < self._pool.maxsize or self.budget is None:
            # Room in the kept pool (or no budget given): QueuePool's own way.
            return super()._do_return_conn(record)
        if not self.budget.take():
            return super()._do_return_conn(record)  # closed, as a QueuePool does
        with self._spare_lock:
            self._spares.append((self.clock(), record))

    def _do_get(self) -> ConnectionPoolEntry:
        # The kept pool first, so that under a lighter load the spares age and go.
        if self._pool.qsize() == 0:
            with self._spare_lock:
                spare = self._spares.pop()[1] if self._spares else None
            if spare is not None:
                assert self.budget is not None
                self.budget.give_back()
                return spare
        return super()._do_get()

    def trim(self) -> int:
        """Close the spares given back longer than spare_seconds ago; how many."""
        cutoff = self.clock() - self.spare_seconds
        with self._spare_lock:
            old = [record for at, record in self._spares if at <= cutoff]
            self._spares = [(at, record) for at, record in self._spares if at > cutoff]
        self._close(old)
        return len(old)

    def _close(self, records: list[ConnectionPoolEntry]) -> None:
        if records and self.budget is not None:
            self.budget.give_back(len(records))
        for record in records:
            try:
                record.close()
            finally:
                self._dec_overflow()  # a spare is an overflow connection, as QueuePool counts

    def spares(self) -> int:
        return len(self._spares)

    def checkedin(self) -> int:
        return super().checkedin() + len(self._spares)

    def checkedout(self) -> int:
        return super().checkedout() - len(self._spares)

    def dispose(self) -> None:
        with self._spare_lock:
            old = [record for _, record in self._spares]
            self._spares = []
        self._close(old)
        super().dispose()

    def recreate(self) -> "BurstPool":
        pool = super().recreate()
        assert isinstance(pool, BurstPool)
        pool.budget, pool.spare_seconds, pool.clock = self.budget, self.spare_seconds, self.clock
        return pool
