"""Notification and target queries. The sender's claim and lease queries are here too."""

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.db import execute_dml
from sfa.notifications.models import Channel, Notification, NotificationState, Target
from sfa.orders.models import Order, OrderState
from sfa.users import repository as user_repository
from sfa.users.models import Role, User
from sfa.visits.models import Visit

# Orders that count as sales for targets: from approval until paid.
SALES_STATES = (
    OrderState.approved,
    OrderState.sent,
    OrderState.confirmed,
    OrderState.invoiced,
    OrderState.paid,
)


def insert_if_new(session: Session, values: dict) -> int | None:
    """INSERT … ON CONFLICT (dedupe_key) DO NOTHING; the new id, or None if it existed."""
    stmt = (
        insert(Notification)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Notification.dedupe_key])
        .returning(Notification.id)
    )
    return session.execute(stmt).scalar()


def claim_due(
    session: Session, *, now: datetime, limit: int, channels: Sequence[Channel]
) -> list[Notification]:
    """Lock due pending rows; rows another sender holds are skipped, not waited for."""
    stmt = (
        select(Notification)
        .where(
            Notification.state == NotificationState.pending,
            Notification.next_attempt_at <= now,
            Notification.channel.in_(list(channels)),
        )
        .order_by(Notification.next_attempt_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def lease_expired(session: Session, *, claimed_before: datetime, limit: int) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(
            Notification.state == NotificationState.sending,
            Notification.claimed_at < claimed_before,
        )
        .order_by(Notification.claimed_at, Notification.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(stmt))


def finish(session: Session, *, notification_id: int, claimed_at: datetime, values: dict) -> bool:
    """Record a delivery outcome, only if this sender's claim still holds (fencing)."""
    changed = execute_dml(
        session,
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.state == NotificationState.sending,
            Notification.claimed_at == claimed_at,
        )
        .values(**values),
    )
    return changed == 1


def sends_since(session: Session, *, recipient_key: str, since: datetime) -> list[datetime]:
    """When this recipient was last sent something outside the app (rate limit window)."""
    return list(
        session.scalars(
            select(Notification.sent_at)
            .where(
                Notification.recipient_key == recipient_key,
                Notification.sent_at >= since,
                Notification.channel != Channel.in_app,
            )
            .order_by(Notification.sent_at)
        )
    )


def inbox(user_id: int, *, unread_only: bool) -> Select:
    stmt = select(Notification).where(
        Notification.recipient_user_id == user_id,
        Notification.channel == Channel.in_app,
        Notification.state == NotificationState.sent,
    )
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt.order_by(Notification.id.desc())


def filtered(
    *,
    state: NotificationState | None,
    channel: Channel | None,
    rule: str | None,
    recipient_user_id: int | None,
    recipient_customer_id: int | None,
    entity: str | None,
    entity_id: int | None,
    due_from: datetime | None,
    due_to: datetime | None,
) -> Select:
    stmt = select(Notification)
    for column, value in (
        (Notification.state, state),
        (Notification.channel, channel),
        (Notification.rule, rule),
        (Notification.recipient_user_id, recipient_user_id),
        (Notification.recipient_customer_id, recipient_customer_id),
        (Notification.entity, entity),
        (Notification.entity_id, entity_id),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if due_from is not None:
        stmt = stmt.where(Notification.due_at >= due_from)
    if due_to is not None:
        stmt = stmt.where(Notification.due_at < due_to)
    return stmt.order_by(Notification.id.desc())


def pending_for_entity(session: Session, *, entity: str, entity_id: int) -> list[Notification]:
    return list(
        session.scalars(
            select(Notification).where(
                Notification.entity == entity,
                Notification.entity_id == entity_id,
                Notification.state == NotificationState.pending,
            )
        )
    )


# Targets -----------------------------------------------------------------------------


def visible_targets(principal: Principal) -> Select:
    reps = user_repository.visible_users(principal).with_only_columns(User.id)
    return select(Target).where(Target.rep_id.in_(reps.scalar_subquery()))


def get_visible_target(session: Session, principal: Principal, target_id: int) -> Target | None:
    return session.scalar(visible_targets(principal).where(Target.id == target_id))


def active_targets(session: Session, *, day: date) -> list[Target]:
    return list(
        session.scalars(
            select(Target)
            .where(Target.period_start <= day, Target.period_end >= day)
            .order_by(Target.id)
        )
    )


def visits_in_period(session: Session, *, rep_id: int, start: date, end: date) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(Visit)
            .where(Visit.rep_id == rep_id, Visit.local_day.between(start, end))
        )
        or 0
    )


def sales_in_period(
    session: Session, *, rep_id: int, start: date, end: date, timezone: str
) -> Decimal:
    """Net amount of the rep's orders from approval until paid, by their company-local
    submission day (creation day for orders never submitted)."""
    local_day = func.date(
        func.timezone(timezone, func.coalesce(Order.submitted_at, Order.created_at))
    )
    return session.scalar(
        select(func.coalesce(func.sum(Order.net_amount), 0)).where(
            Order.rep_id == rep_id, Order.state.in_(SALES_STATES), local_day.between(start, end)
        )
    ) or Decimal(0)


def active_reps(session: Session, *, team_ids: Sequence[int] | None) -> list[User]:
    stmt = select(User).where(User.role == Role.rep, User.is_active.is_(True))
    if team_ids is not None:
        stmt = stmt.where(User.team_id.in_(list(team_ids)))
    return list(session.scalars(stmt.order_by(User.id)))
