"""The queries of the offline sync: the change log, and each section's rows as a rep sees
them (visibility applied here, through each domain's own visible_* query)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import ColumnElement, Select, delete, select, text, tuple_
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.catalog.models import CustomerPrice, Product
from sfa.customers import repository as customer_repository
from sfa.customers.models import Customer
from sfa.db import execute_dml
from sfa.notifications import repository as notification_repository
from sfa.notifications.models import Notification, Target
from sfa.offline.models import SyncChange
from sfa.plans.models import PlannedVisit

Key = tuple[int, ...]


def watermark(session: Session) -> int:
    """The oldest transaction still running (pg_snapshot_xmin of a snapshot taken now):
    every transaction below it has finished, so the log below it is final."""
    return int(session.scalar(text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text")))


class Change(NamedTuple):
    xid: int
    position: int
    entity: str
    key: Key


def changes_after(
    session: Session,
    *,
    xid: int,
    position: int,
    below: int,
    team_ids: Sequence[int],
    user_id: int,
    limit: int,
) -> list[Change]:
    """The log's changes for this rep after (xid, position), of transactions below the
    watermark `below`, in (xid, position) order."""
    rows = session.execute(
        text(
            "SELECT xid::text, position, entity, entity_id, sub_id FROM sync_changes "
            "WHERE (xid, position) > (CAST(:xid AS text)::xid8, :position) "
            "AND xid < CAST(:below AS text)::xid8 "
            "AND (team_ids && CAST(:teams AS bigint[]) OR user_id = :user_id "
            "     OR (team_ids IS NULL AND user_id IS NULL)) "
            "ORDER BY xid, position LIMIT :limit"
        ),
        {
            "xid": str(xid),
            "position": position,
            "below": str(below),
            "teams": list(team_ids),
            "user_id": user_id,
            "limit": limit,
        },
    )
    return [
        Change(int(x), p, entity, (entity_id,) if sub_id is None else (entity_id, sub_id))
        for x, p, entity, entity_id, sub_id in rows
    ]


def prune(session: Session, *, before: datetime) -> int:
    return execute_dml(session, delete(SyncChange).where(SyncChange.changed_at < before))


@dataclass(frozen=True)
class Scope:
    """Whose phone a sync fills, and the day its plans start."""

    principal: Principal
    today: date

    @property
    def user_id(self) -> int:
        return self.principal.id


@dataclass(frozen=True)
class Section:
    """One kind of record the phone keeps: its rows as the rep sees them (a Select whose
    first columns are the key), the log's entity name, and the key's columns."""

    name: str
    entity: str
    visible: Callable[[Scope], Select]
    key: Callable[[], tuple[Any, ...]]

    def page(self, session: Session, scope: Scope, *, after: Key, limit: int) -> list[Any]:
        """The full set, `limit` rows at a time in key order after `after`."""
        columns = self.key()
        stmt = self.visible(scope)
        if after:
            stmt = stmt.where(_key_expression(columns) > _key_bound(after))
        return list(session.scalars(stmt.order_by(*columns).limit(limit)))

    def lookup(self, session: Session, scope: Scope, keys: Sequence[Key]) -> dict[Key, Any]:
        """The rows of these keys the rep sees now; a key missing is a deletion."""
        if not keys:
            return {}
        columns = self.key()
        values = [_key_value(k) for k in keys]
        stmt = self.visible(scope).where(_key_expression(columns).in_(values))
        return {key_of(self, row): row for row in session.scalars(stmt)}


def _key_expression(columns: tuple[Any, ...]) -> ColumnElement:
    return columns[0] if len(columns) == 1 else tuple_(*columns)


def _key_value(key: Key) -> Any:
    return key[0] if len(key) == 1 else tuple(key)


def _key_bound(key: Key) -> Any:
    return key[0] if len(key) == 1 else tuple_(*key)


def key_of(section: Section, row: Any) -> Key:
    return tuple(getattr(row, column.key) for column in section.key())


def _customers(scope: Scope) -> Select:
    return customer_repository.visible_customers(scope.principal)


def _products(scope: Scope) -> Select:
    # The catalog is company-wide; an inactive product is deleted from the phone.
    return select(Product).where(Product.active.is_(True))


def _prices(scope: Scope) -> Select:
    """Customer-specific prices of the customers the rep sees (without one, the product's
    list price applies)."""
    visible = _customers(scope).with_only_columns(Customer.id)
    return select(CustomerPrice).where(CustomerPrice.customer_id.in_(visible.scalar_subquery()))


def _planned_visits(scope: Scope) -> Select:
    return select(PlannedVisit).where(
        PlannedVisit.rep_id == scope.user_id, PlannedVisit.day >= scope.today
    )


def _notifications(scope: Scope) -> Select:
    inbox = notification_repository.inbox(scope.user_id, unread_only=True)
    return inbox.order_by(None)


SECTIONS: tuple[Section, ...] = (
    Section("customers", "customer", _customers, lambda: (Customer.id,)),
    Section("products", "product", _products, lambda: (Product.id,)),
    Section(
        "prices",
        "price",
        _prices,
        lambda: (CustomerPrice.customer_id, CustomerPrice.product_id),
    ),
    Section("planned_visits", "planned_visit", _planned_visits, lambda: (PlannedVisit.id,)),
    Section("notifications", "notification", _notifications, lambda: (Notification.id,)),
)
BY_ENTITY = {section.entity: section for section in SECTIONS}


def current_targets(session: Session, scope: Scope) -> list[Target]:
    """The rep's targets not over yet (a handful: sent whole with every page)."""
    stmt = (
        notification_repository.visible_targets(scope.principal)
        .where(Target.rep_id == scope.user_id, Target.period_end >= scope.today)
        .order_by(Target.period_start, Target.id)
        .limit(100)
    )
    return list(session.scalars(stmt))
