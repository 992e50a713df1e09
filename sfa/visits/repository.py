"""Visit queries, filtered by what the principal may see."""

import uuid
from datetime import date

from sqlalchemy import Select, delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.users import repository as user_repository
from sfa.visits.flags import Flag
from sfa.visits.models import Visit, VisitFlag


def visible_visits(principal: Principal) -> Select:
    return user_repository.only_visible_reps(select(Visit), principal, Visit.rep_id)


def get_visible(session: Session, principal: Principal, visit_id: int) -> Visit | None:
    return session.scalar(visible_visits(principal).where(Visit.id == visit_id))


def find_by_client_id(session: Session, rep_id: int, client_id: uuid.UUID) -> Visit | None:
    return session.scalar(
        select(Visit).where(Visit.rep_id == rep_id, Visit.client_id == client_id))


def insert_new(session: Session, values: dict) -> Visit | None:
    """Store a new visit in one statement; None when the rep already has a visit with this
    client_id (a replay, possibly a concurrent one: the INSERT waits for the other
    transaction and does nothing once it has committed)."""
    return session.scalars(
        insert(Visit).values(**values)
        .on_conflict_do_nothing(index_elements=[Visit.rep_id, Visit.client_id])
        .returning(Visit)).first()


def filter_visits(stmt: Select, *, rep_id: int | None, customer_id: int | None,
                  date_from: date | None, date_to: date | None) -> Select:
    if rep_id is not None:
        stmt = stmt.where(Visit.rep_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    if date_from is not None:
        stmt = stmt.where(Visit.local_day >= date_from)
    if date_to is not None:
        stmt = stmt.where(Visit.local_day <= date_to)
    return stmt.order_by(Visit.check_in_at, Visit.id)


def day_visits(session: Session, rep_id: int, day: date) -> list[Visit]:
    return list(session.scalars(
        select(Visit).where(Visit.rep_id == rep_id, Visit.local_day == day)
        .order_by(Visit.check_in_at, Visit.id)))


def flags_for(session: Session, visit_ids: list[int]) -> dict[int, list[VisitFlag]]:
    result: dict[int, list[VisitFlag]] = {i: [] for i in visit_ids}
    if visit_ids:
        rows = session.scalars(select(VisitFlag).where(VisitFlag.visit_id.in_(visit_ids))
                               .order_by(VisitFlag.visit_id, VisitFlag.code))
        for row in rows:
            result[row.visit_id].append(row)
    return result


def replace_flags(session: Session, visit: Visit, codes: set[str], flags: list[Flag]) -> None:
    """Replace this visit's flags among `codes` by `flags` (recomputing is idempotent)."""
    session.execute(delete(VisitFlag).where(VisitFlag.visit_id == visit.id,
                                            VisitFlag.code.in_(codes)))
    session.add_all(VisitFlag(visit_id=visit.id, rep_id=visit.rep_id, code=f.code,
                              numbers=f.numbers, reason_en=f.reason_en, reason_id=f.reason_id)
                    for f in flags)
    session.flush()


def add_new_flags(session: Session, visit: Visit, flags: list[Flag]) -> list[VisitFlag]:
    """The flags of a visit stored just now (it has none yet: nothing to replace); returns
    them ordered like `flags_for`. Written at the next flush."""
    rows = sorted((VisitFlag(visit_id=visit.id, rep_id=visit.rep_id, code=f.code,
                             numbers=f.numbers, reason_en=f.reason_en, reason_id=f.reason_id)
                   for f in flags), key=lambda row: row.code)
    session.add_all(rows)
    return rows
