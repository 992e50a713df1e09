"""Creating, migrating and disabling companies (the `sfa tenants` commands).

A company is created from scratch: its database on the server of its URL (or the default
company's server), PostGIS, every migration, an administrator; then it is entered in the
registry, last, so that it is never served half made. Creating again after a failure
picks up where it stopped (an existing database is reused, migrations are idempotent,
an existing administrator is kept).

Migrating every company goes one company at a time, the default one first; a company
whose migration fails is reported and the others are still migrated.
"""

import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from psycopg import sql
from sqlalchemy import select
from sqlalchemy.engine import make_url

from sfa import migrate
from sfa.auth.passwords import hash_password
from sfa.config import get_settings
from sfa.db import bound, libpq_url
from sfa.errors import Conflict, InvalidInput, NotFound
from sfa.tenants import engines as tenant_engines
from sfa.tenants import repository
from sfa.tenants.models import Status, Tenant, valid_slug
from sfa.tenants.registry import Registry
from sfa.users.models import Role, User

Progress = Callable[[str], None]


def _quiet(step: str) -> None:
    pass


@dataclass(frozen=True)
class Created:
    tenant: Tenant
    database_created: bool
    admin_username: str | None
    # Generated here when none was given: shown once, stored nowhere.
    admin_password: str | None


@dataclass(frozen=True)
class Migrated:
    slug: str
    ok: bool
    problem: str | None = None


def database_url_for(slug: str) -> str:
    """The default company's server and credentials, database sfa_<slug>."""
    base = make_url(get_settings().database_url)
    return base.set(database=f"sfa_{slug.replace('-', '_')}").render_as_string(hide_password=False)


def _require_registry(registry: Registry):
    if registry.engine is None:
        raise InvalidInput(
            "no tenant registry is configured",
            hint="set SFA_TENANTS_URL to the registry database (docs/tenancy.md)",
        )
    return registry.engine


def create_database(url: str) -> bool:
    """Create the database of `url` on its server (connecting to its `postgres`
    database); False when it exists already."""
    target = make_url(url)
    name = target.database
    if not name:
        raise InvalidInput(f"the database URL {target!r} names no database")
    maintenance = libpq_url(target.set(database="postgres").render_as_string(hide_password=False))
    with psycopg.connect(maintenance, autocommit=True, connect_timeout=10) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return True


def _install_extensions(url: str) -> None:
    # The migrations create them too; done first so that a server without PostGIS says
    # so plainly, before a migration fails half way.
    with psycopg.connect(libpq_url(url), autocommit=True, connect_timeout=10) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


@contextmanager
def company_database(tenant: Tenant) -> Iterator[None]:
    """Work for `tenant` inside the block (sessions, locks: its database)."""
    with bound(tenant_engines.binding_for(tenant)):
        yield


def _create_admin(tenant: Tenant, username: str, password: str) -> bool:
    from sfa.db import session_scope

    with company_database(tenant), session_scope() as session:
        if session.scalar(select(User.id).where(User.username == username)) is not None:
            return False
        session.add(
            User(
                username=username,
                full_name="Administrator",
                role=Role.admin,
                password_hash=hash_password(password),
            )
        )
    return True


def create(
    registry: Registry,
    *,
    slug: str,
    display_name: str | None = None,
    database_url: str | None = None,
    admin_username: str | None = "admin",
    admin_password: str | None = None,
    progress: Progress = _quiet,
) -> Created:
    """Create company `slug` (see the module doc). `admin_username` None: no
    administrator (the demo data brings its own)."""
    engine = _require_registry(registry)
    if not valid_slug(slug):
        raise InvalidInput(
            f"{slug!r} cannot name a company",
            hint="lower-case letters, digits and hyphens, starting with a letter, up to 40",
        )
    if slug == get_settings().default_company:
        raise Conflict(f"{slug!r} is the default company (SFA_DEFAULT_COMPANY)")
    repository.ensure_schema(engine)
    if repository.find(engine, slug) is not None:
        raise Conflict(f"company {slug!r} exists already", hint="sfa tenants list")
    url = database_url or database_url_for(slug)
    tenant = Tenant(slug=slug, display_name=display_name or slug, database_url=url)
    progress(f"creating the database of {slug}")
    created = create_database(url)
    progress("installing PostGIS")
    _install_extensions(url)
    progress("applying the migrations")
    migrate.upgrade(url)
    password = None
    if admin_username is not None:
        password = admin_password or secrets.token_urlsafe(12)
        progress(f"creating the administrator {admin_username!r}")
        if not _create_admin(tenant, admin_username, password):
            password = None  # kept as it was: its password is not ours to show
    progress("entering the company in the registry")
    repository.add(engine, tenant)
    registry.forget()
    return Created(
        tenant,
        created,
        admin_username,
        password if admin_password is None else None,
    )


def migrate_all(
    registry: Registry,
    *,
    progress: Progress = _quiet,
    upgrade: Callable[[str], None] = migrate.upgrade,
) -> list[Migrated]:
    """Migrate every active company, one at a time, past failures (module doc)."""
    outcomes = []
    companies = [t for t in registry.companies() if t.active]
    for number, tenant in enumerate(companies, 1):
        progress(f"[{number}/{len(companies)}] migrating {tenant.slug}")
        try:
            upgrade(tenant.database_url)
        except Exception as exc:  # reported, and the next company is migrated
            outcomes.append(Migrated(tenant.slug, False, f"{type(exc).__name__}: {exc}"[:500]))
        else:
            outcomes.append(Migrated(tenant.slug, True))
    return outcomes


def set_status(registry: Registry, slug: str, status: Status) -> None:
    engine = _require_registry(registry)
    if slug == get_settings().default_company:
        raise Conflict(
            f"{slug!r} is the default company: it is served from SFA_DATABASE_URL",
            hint="stop the deployment's processes instead",
        )
    repository.ensure_schema(engine)
    if not repository.set_status(engine, slug, status):
        raise NotFound(f"there is no company {slug!r}", hint="sfa tenants list")
    registry.forget()
