"""Order and outbox queries, filtered by what the principal may see."""

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState
from sfa.users import repository as user_repository


def visible_orders(principal: Principal) -> Select:
    """A rep sees their own orders, a manager their teams' reps' orders, admin/keys all."""
    return user_repository.only_visible_reps(select(Order), principal, Order.rep_id)


def get_visible(
    session: Session, principal: Principal, order_id: int, *, for_update: bool = False
) -> Order | None:
    stmt = visible_orders(principal).where(Order.id == order_id)
    if for_update:
        # Serialises decisions on one order (two approvers clicking at once).
        stmt = stmt.with_for_update(of=Order).execution_options(populate_existing=True)
    return session.scalar(stmt)


def find_by_client_id(session: Session, rep_id: int, client_id: uuid.UUID) -> Order | None:
    return session.scalar(select(Order).where(Order.rep_id == rep_id, Order.client_id == client_id))


def filter_orders(
    stmt: Select,
    *,
    state: OrderState | None = None,
    rep_id: int | None = None,
    customer_id: int | None = None,
    created_from: datetime | None = None,
    created_before: datetime | None = None,
) -> Select:
    if state is not None:
        stmt = stmt.where(Order.state == state)
    if rep_id is not None:
        stmt = stmt.where(Order.rep_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if created_from is not None:
        stmt = stmt.where(Order.created_at >= created_from)
    if created_before is not None:
        stmt = stmt.where(Order.created_at < created_before)
    return stmt.order_by(Order.created_at.desc(), Order.id.desc())


def lines_for(session: Session, order_ids: Iterable[int]) -> dict[int, list[OrderLine]]:
    ids = list(order_ids)
    result: dict[int, list[OrderLine]] = {i: [] for i in ids}
    if ids:
        rows = session.scalars(
            select(OrderLine)
            .where(OrderLine.order_id.in_(ids))
            .order_by(OrderLine.order_id, OrderLine.line_no)
        )
        for row in rows:
            result[row.order_id].append(row)
    return result


def outbox_for(session: Session, order_id: int, *, for_update: bool = False) -> ErpOutbox | None:
    stmt = select(ErpOutbox).where(ErpOutbox.order_id == order_id)
    if for_update:
        # Waits for an ERP push that holds the row, so a cancel never races a send.
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    return session.scalar(stmt)


def count_by_state(session: Session, principal: Principal) -> dict[OrderState, int]:
    visible = visible_orders(principal).subquery()
    rows = session.execute(select(visible.c.state, func.count()).group_by(visible.c.state)).all()
    return {state: n for state, n in rows}
