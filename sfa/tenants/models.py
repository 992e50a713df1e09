"""A company of the deployment, and the registry table that lists them.

The registry is a database of its own (SFA_TENANTS_URL), not a table of a company's
database: its one table lives on a MetaData of its own, never on `Base.metadata`, so that
no company's migrations create or diff it (docs/tenancy.md says why a database).
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import CheckConstraint, Column, DateTime, MetaData, String, Table, func

# A slug is a host name label (acme.sfa.example) and part of a database name: lower case
# letters, digits and hyphens, starting with a letter, at most 40 characters.
SLUG = re.compile(r"[a-z][a-z0-9-]{0,39}")


class Status(StrEnum):
    active = "active"
    disabled = "disabled"


@dataclass(frozen=True)
class Tenant:
    slug: str
    display_name: str
    database_url: str
    status: Status = Status.active
    # Its streaming replica for reports and exports (sfa/replica.py), if it has one.
    replica_url: str | None = None
    # The default company (SFA_DATABASE_URL), which is not a row of the registry.
    is_default: bool = False

    @property
    def active(self) -> bool:
        return self.status is Status.active


def valid_slug(slug: str) -> bool:
    return SLUG.fullmatch(slug) is not None


registry_metadata = MetaData()

tenants_table = Table(
    "tenants",
    registry_metadata,
    Column("slug", String(40), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("database_url", String(1000), nullable=False),
    Column("replica_url", String(1000)),
    Column("status", String(20), nullable=False, server_default=Status.active.value),
    Column("created_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    Column("updated_at", DateTime(timezone=True), server_default=func.now(), nullable=False),
    CheckConstraint("status IN ('active', 'disabled')", name="ck_tenants_status"),
)
