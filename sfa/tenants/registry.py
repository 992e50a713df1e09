"""Which companies this deployment serves: the default company (SFA_DATABASE_URL) and
those of the registry database (SFA_TENANTS_URL), read through a short cache.

Every request names its company (api/tenancy.py) and is answered by `lookup`, which
reads the registry at most once per `tenant_cache_seconds` and company in a process: a
company created or disabled by `sfa tenants` is served or refused everywhere within that
time. Unknown slugs are remembered too (a bounded number), so that a client repeating a
wrong name costs no query each time.
"""

import threading
import time
from collections.abc import Callable
from functools import lru_cache

from psycopg.errors import UndefinedTable
from sqlalchemy import Engine
from sqlalchemy.exc import ProgrammingError

from sfa.config import get_settings
from sfa.db import make_engine
from sfa.tenants import repository
from sfa.tenants.models import Tenant, valid_slug

# Slugs remembered at most (known or not); the cache is emptied when it is full.
MAX_CACHED = 4096


class RegistryUnavailable(Exception):
    """The registry database does not answer: no company of it can be served now."""


class Registry:
    def __init__(
        self,
        engine: Engine | None,
        *,
        cache_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.engine, self.cache_seconds, self.clock = engine, cache_seconds, clock
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Tenant | None]] = {}
        self._schema_checked = False

    @property
    def configured(self) -> bool:
        return self.engine is not None

    @staticmethod
    def default() -> Tenant:
        settings = get_settings()
        return Tenant(
            slug=settings.default_company,
            display_name=settings.default_company,
            database_url=settings.database_url,
            replica_url=settings.database_replica_url,
            is_default=True,
        )

    def cached(self, slug: str) -> tuple[bool, Tenant | None]:
        """(known, tenant) without any I/O: known is False when the registry must be read."""
        if slug == get_settings().default_company:
            return True, self.default()
        if self.engine is None or not valid_slug(slug):
            return True, None
        entry = self._cache.get(slug)
        if entry is not None and self.clock() < entry[0]:
            return True, entry[1]
        return False, None

    def lookup(self, slug: str) -> Tenant | None:
        """The company `slug`, None when there is none; RegistryUnavailable when the
        registry cannot say."""
        known, tenant = self.cached(slug)
        if known:
            return tenant
        assert self.engine is not None  # cached() answered for a deployment without one
        try:
            tenant = repository.find(self.engine, slug)
        except ProgrammingError as exc:
            if not isinstance(exc.orig, UndefinedTable):
                raise RegistryUnavailable(type(exc).__name__) from exc
            tenant = None  # no table yet: no company has been created
        except Exception as exc:  # any database failure: the caller answers 503
            raise RegistryUnavailable(type(exc).__name__) from exc
        with self._lock:
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[slug] = (self.clock() + self.cache_seconds, tenant)
        return tenant

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()

    def companies(self) -> list[Tenant]:
        """Every company, the default first, read now (the CLI, the scheduler)."""
        if self.engine is None:
            return [self.default()]
        if not self._schema_checked:
            repository.ensure_schema(self.engine)
            self._schema_checked = True
        return [self.default(), *repository.list_all(self.engine)]

    def dispose(self) -> None:
        if self.engine is not None:
            self.engine.dispose()


@lru_cache
def get_registry() -> Registry:
    settings = get_settings()
    url = settings.tenants_url
    return Registry(
        make_engine(url, connect_timeout=5, pool_size=2) if url else None,
        cache_seconds=settings.tenant_cache_seconds,
    )


def clear() -> None:
    """Forget the registry (tests, after changing the settings)."""
    get_registry().dispose()
    get_registry.cache_clear()
