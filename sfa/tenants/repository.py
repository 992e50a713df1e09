"""The registry's SQL (one table in the registry database, sfa/tenants/models.py)."""

from sqlalchemy import Engine, func, insert, select, update
from sqlalchemy.engine import Row

from sfa.tenants.models import Status, Tenant, registry_metadata, tenants_table


def ensure_schema(engine: Engine) -> None:
    """Create the registry's table if it is not there (the registry has no migrations:
    one table, changed only by adding nullable columns)."""
    registry_metadata.create_all(engine, checkfirst=True)


def _tenant(row: Row) -> Tenant:
    return Tenant(
        slug=row.slug,
        display_name=row.display_name,
        database_url=row.database_url,
        status=Status(row.status),
        replica_url=row.replica_url,
    )


def find(engine: Engine, slug: str) -> Tenant | None:
    with engine.connect() as conn:
        row = conn.execute(select(tenants_table).where(tenants_table.c.slug == slug)).first()
    return _tenant(row) if row is not None else None


def list_all(engine: Engine) -> list[Tenant]:
    with engine.connect() as conn:
        rows = conn.execute(select(tenants_table).order_by(tenants_table.c.slug)).all()
    return [_tenant(row) for row in rows]


def add(engine: Engine, tenant: Tenant) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(tenants_table).values(
                slug=tenant.slug,
                display_name=tenant.display_name,
                database_url=tenant.database_url,
                replica_url=tenant.replica_url,
                status=tenant.status.value,
            )
        )


def set_status(engine: Engine, slug: str, status: Status) -> bool:
    """Whether a company `slug` was there to change."""
    with engine.begin() as conn:
        changed = conn.execute(
            update(tenants_table)
            .where(tenants_table.c.slug == slug)
            .values(status=status.value, updated_at=func.now())
        ).rowcount
    return bool(changed)
