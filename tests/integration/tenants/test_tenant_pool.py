"""Burst connections of a company's pool (sfa/tenants/pool.py): given back, they are kept
as spares and reused, not reopened, while the company stays busy; a sweep closes those
unused for spare_seconds; all companies' spares share one budget, beyond which a burst
connection is closed at once; the pool's counts stay QueuePool's. Real pools, real
connections (the suite's database under other slugs, as in test_tenant_engines.py)."""

from contextlib import ExitStack

from sqlalchemy import event, text

from sfa.tenants.engines import TenantEngines
from sfa.tenants.models import Tenant


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _tenant(database_url: str, slug: str) -> Tenant:
    return Tenant(slug=slug, display_name=slug, database_url=database_url)


def _burst(engine, count: int) -> None:
    """`count` connections in use at once, then all given back."""
    with ExitStack() as stack:
        for _ in range(count):
            stack.enter_context(engine.connect()).execute(text("SELECT 1"))


def _opened(engine) -> list[int]:
    opened = [0]

    def count(*_):
        opened[0] += 1

    event.listen(engine.pool, "connect", count)
    return opened


def test_burst_connections_are_reused_then_closed_by_the_sweep(database_url):
    clock = Clock()
    engines = TenantEngines(
        max_engines=10, idle_seconds=600, pool_size=1, spare_limit=5, clock=clock
    )
    try:
        engine = engines.binding(_tenant(database_url, "busy")).engine
        opened = _opened(engine)
        _burst(engine, 3)
        pool = engine.pool
        assert (opened[0], pool.checkedin(), pool.checkedout(), pool.spares()) == (3, 3, 0, 2)
        for _ in range(5):  # still busy: the same three connections serve every burst
            _burst(engine, 3)
        assert opened[0] == 3
        assert engines.stats() == {"companies": 1, "connections": 3}

        clock.now += engines.spare_seconds - 1
        engines.sweep()
        assert pool.spares() == 2  # used too recently
        clock.now += 2
        assert engines.sweep() == []  # the company stays open, its spares go
        assert (pool.spares(), pool.checkedin(), engines.spares.used) == (0, 1, 0)
        assert engines.stats()["connections"] == 1
        # QueuePool's accounting is whole: the pool can burst again as far as before.
        assert pool.size() + pool.overflow() == 1
        _burst(engine, 4)
        assert (opened[0], pool.spares()) == (6, 3)
    finally:
        engines.close_all()
    assert engines.spares.used == 0  # closing a company gives its spares back


def test_every_company_shares_one_budget_of_spares(database_url):
    engines = TenantEngines(max_engines=10, idle_seconds=600, pool_size=1, spare_limit=2)
    try:
        first = engines.binding(_tenant(database_url, "first")).engine
        second = engines.binding(_tenant(database_url, "second")).engine
        _burst(first, 3)  # two spares: the budget is spent
        opened = _opened(second)
        _burst(second, 3)
        assert (first.pool.spares(), second.pool.spares()) == (2, 0)
        assert second.pool.checkedin() == 1  # its burst connections closed when given back
        _burst(second, 3)
        assert opened[0] == 3 + 2  # and opened again, as a plain QueuePool does
        assert engines.stats()["connections"] == 3 + 1
        engines.close("first")
        assert engines.spares.used == 0
        _burst(second, 3)
        assert second.pool.spares() == 2
    finally:
        engines.close_all()
