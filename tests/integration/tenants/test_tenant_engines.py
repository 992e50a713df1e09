"""The companies' pools in one process (sfa/tenants/engines.py): under the limit none is
closed; beyond it the least recently used idle one is, never one whose connection is
checked out, nor the one being handed out; unused ones close after the idle time.

Every "company" here is the suite's database under another slug: what is under test is
the bookkeeping of real pools holding real connections, not which database they reach."""

from sqlalchemy import text

from sfa.tenants.engines import TenantEngines
from sfa.tenants.models import Tenant


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _companies(database_url: str, count: int) -> list[Tenant]:
    return [
        Tenant(slug=f"c{n}", display_name=f"C{n}", database_url=database_url) for n in range(count)
    ]


def _engines(clock=None, **overrides) -> tuple[TenantEngines, list[str]]:
    settings = {"max_engines": 4, "idle_seconds": 60.0, "pool_size": 1} | overrides
    engines = TenantEngines(**settings, clock=clock or Clock())
    closed: list[str] = []
    engines.on_close = lambda tenant: closed.append(tenant.slug)
    return engines, closed


def _use(engines: TenantEngines, tenant: Tenant) -> None:
    with engines.binding(tenant).engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def test_under_the_limit_no_company_is_closed(database_url):
    engines, closed = _engines(max_engines=4)
    try:
        for number, tenant in enumerate(_companies(database_url, 4), 1):
            _use(engines, tenant)
            # Every one opened so far is still open (the old code closed all but the
            # last few once `len(open) - max_engines` went negative).
            assert engines.open_companies() == [f"c{n}" for n in range(number)]
        assert closed == []
        assert engines.stats() == {"companies": 4, "connections": 4}
    finally:
        engines.close_all()


def test_beyond_the_limit_the_least_recently_used_idle_company_is_closed(database_url):
    engines, closed = _engines(max_engines=4)
    c = _companies(database_url, 6)
    try:
        for tenant in c[:4]:
            _use(engines, tenant)
        _use(engines, c[0])  # c0 used again: c1 is now the least recently used
        _use(engines, c[4])
        assert closed == ["c1"]
        assert engines.open_companies() == ["c2", "c3", "c0", "c4"]
        _use(engines, c[5])
        assert closed == ["c1", "c2"]
        assert engines.stats()["companies"] == 4
    finally:
        engines.close_all()


def test_a_company_with_a_checked_out_connection_is_never_closed(database_url):
    engines, closed = _engines(max_engines=2)
    c = _companies(database_url, 4)
    try:
        held = engines.binding(c[0]).engine.connect()  # a request of c0 is running
        try:
            _use(engines, c[1])
            _use(engines, c[2])
            # c0 is the least recently used but busy: the next idle one goes instead.
            assert closed == ["c1"]
            assert "c0" in engines.open_companies()
            held.execute(text("SELECT 1"))  # its connection still works
        finally:
            held.close()
        _use(engines, c[3])
        assert closed == ["c1", "c0"]  # idle now, so it is the one closed
    finally:
        engines.close_all()


def test_the_company_handed_out_is_not_closed_when_every_other_one_is_busy(database_url):
    engines, closed = _engines(max_engines=1)
    c = _companies(database_url, 2)
    try:
        with engines.binding(c[0]).engine.connect():
            binding = engines.binding(c[1])
            # Over the limit for as long as c0 is busy; c1 is neither closed nor lost.
            assert closed == []
            assert engines.open_companies() == ["c0", "c1"]
            with binding.engine.connect() as conn:
                assert conn.execute(text("SELECT 1")).scalar() == 1
        _use(engines, c[1])
        assert closed == ["c0"]
    finally:
        engines.close_all()


def test_unused_companies_close_after_the_idle_time_and_reopen_on_use(database_url):
    clock = Clock()
    engines, closed = _engines(clock, max_engines=10, idle_seconds=60)
    c = _companies(database_url, 3)
    try:
        for tenant in c:
            _use(engines, tenant)
        clock.now += 30
        _use(engines, c[2])
        clock.now += 40
        assert engines.sweep() == ["c0", "c1"]  # unused for 70 s; c2 for 40 s only
        with engines.binding(c[1]).engine.connect():
            clock.now += 90  # c1 reopened and busy for longer than the idle time
            assert engines.sweep() == ["c2"]
        assert engines.open_companies() == ["c1"]
        assert engines.sweep() == ["c1"]  # idle now
        assert engines.stats() == {"companies": 0, "connections": 0}
        _use(engines, c[0])
        assert engines.open_companies() == ["c0"]
        assert closed == ["c0", "c1", "c2", "c1"]
    finally:
        engines.close_all()
