"""Companies for the multi-company tests (docs/tenancy.md): a registry database and
company databases made from scratch by `sfa tenants create`'s code, in the suite's
throwaway cluster; and the settings that make the app and the CLI use them."""

import contextlib
import os
from collections.abc import Iterator

import psycopg
from psycopg import sql

from sfa.db import libpq_url

REGISTRY_DB = "sfa_test_registry"
# The companies every multi-company test may use; their admins' passwords.
COMPANIES = {"acme": "acme-admin-pass", "beta": "beta-admin-pass"}
BASE_DOMAIN = "sfa.example"


def admin_connection(server: str) -> psycopg.Connection:
    return psycopg.connect(libpq_url(f"{server}/postgres"), autocommit=True)


def drop_database(server: str, name: str) -> None:
    with admin_connection(server) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def create_empty_database(server: str, name: str) -> None:
    with admin_connection(server) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def forget_tenancy_caches() -> None:
    """Settings, registry and company engines read again on next use."""
    from sfa.config import get_settings
    from sfa.tenants import engines, registry

    get_settings.cache_clear()
    registry.clear()
    engines.clear()


@contextlib.contextmanager
def tenancy_settings(server: str, **extra: str) -> Iterator[None]:
    """SFA_TENANTS_URL and the base domain set (and `extra` SFA_ settings) for the block."""
    values = {
        "SFA_TENANTS_URL": f"{server}/{REGISTRY_DB}",
        "SFA_TENANT_BASE_DOMAIN": BASE_DOMAIN,
        # Every registry read goes to the database: a status change is seen at once.
        "SFA_TENANT_CACHE_SECONDS": "0",
    } | extra
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    forget_tenancy_caches()
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        forget_tenancy_caches()
