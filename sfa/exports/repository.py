"""The queries of incremental exports: each exported table's rows in (updated, key) order,
the tombstones, and the settled bound (docs/exports.md)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from geoalchemy2 import Geography, Geometry
from sqlalchemy import Column, Select, Table, cast, func, select, text, tuple_
from sqlalchemy.orm import Session

from sfa.anomalies.models import WeeklyAnomaly
from sfa.customers.models import Customer
from sfa.exports.models import Tombstone
from sfa.orders.models import Order
from sfa.tracking.models import Ping
from sfa.visits.models import Visit, VisitFlag

# Columns that say nothing to a warehouse and only help forge requests.
_HIDDEN = frozenset({"request_hash", "check_out_hash"})


@dataclass(frozen=True)
class Spec:
    name: str  # as in the URL
    table: Table
    key: tuple[str, ...]
    updated: str  # the column that moves on every change
    tombstones: bool = True  # deletions recorded (pings go by partition: none)

    def column(self, name: str) -> Column:
        return self.table.c[name]

    def order(self) -> tuple[Column, ...]:
        return (self.column(self.updated), *(self.column(k) for k in self.key))

    def selected(self) -> list[Any]:
        """Every column, a position as <name>_lat / <name>_lon."""
        out: list[Any] = []
        for column in self.table.c:
            if column.name in _HIDDEN:
                continue
            if isinstance(column.type, Geography):
                point = cast(column, Geometry)
                out.append(func.ST_Y(point).label(f"{column.name}_lat"))
                out.append(func.ST_X(point).label(f"{column.name}_lon"))
            else:
                out.append(column)
        return out


def _table(model: Any) -> Table:
    return model.__table__


SPECS = {
    spec.name: spec
    for spec in (
        Spec("visits", _table(Visit), ("id",), "updated_at"),
        Spec("orders", _table(Order), ("id",), "updated_at"),
        Spec("customers", _table(Customer), ("id",), "updated_at"),
        Spec("flags", _table(VisitFlag), ("visit_id", "code"), "updated_at"),
        Spec("anomalies", _table(WeeklyAnomaly), ("rep_id", "week_start", "code"), "updated_at"),
        Spec("pings", _table(Ping), ("rep_id", "at"), "received_at", tombstones=False),
    )
}


@dataclass(frozen=True)
class Settled:
    """Rows changed before `until` are final: every transaction that could still write
    an earlier value is over. `inclusive`: no other transaction is open at all."""

    until: datetime
    inclusive: bool


def settled(session: Session) -> Settled:
    """The start of the oldest other open transaction on this database, else now (a
    transaction's rows carry its start time as updated_at, and it may commit late)."""
    row = session.execute(
        text(
            "SELECT (SELECT min(xact_start) FROM pg_stat_activity "
            "        WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "        AND xact_start IS NOT NULL), now()"
        )
    ).one()
    oldest, now = row
    if oldest is None or oldest > now:
        return Settled(now, inclusive=True)
    return Settled(oldest, inclusive=False)


def _below(column: Any, bound: Settled):
    return column <= bound.until if bound.inclusive else column < bound.until


def rows_query(
    spec: Spec,
    *,
    since: datetime | None,
    after: tuple | None,
    bound: Settled,
    limit: int | None,
) -> Select:
    order = spec.order()
    stmt = select(*spec.selected()).where(_below(order[0], bound))
    if since is not None:
        stmt = stmt.where(order[0] >= since)
    if after is not None:
        stmt = stmt.where(tuple_(*order) > tuple_(*after))
    stmt = stmt.order_by(*order)
    return stmt.limit(limit) if limit else stmt


def tombstones_query(
    spec: Spec,
    *,
    since: datetime | None,
    after: tuple | None,
    bound: Settled,
    limit: int | None,
) -> Select:
    order = (Tombstone.deleted_at, Tombstone.id)
    stmt = select(Tombstone.id, Tombstone.deleted_at, Tombstone.key).where(
        Tombstone.entity == spec.table.name, _below(Tombstone.deleted_at, bound)
    )
    if since is not None:
        stmt = stmt.where(Tombstone.deleted_at >= since)
    if after is not None:
        stmt = stmt.where(tuple_(*order) > tuple_(*after))
    stmt = stmt.order_by(*order)
    return stmt.limit(limit) if limit else stmt
