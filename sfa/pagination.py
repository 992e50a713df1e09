from dataclasses import dataclass
from typing import Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sfa.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 1000


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + self.limit
        return nxt if nxt < self.total else None


def paginate(session: Session, stmt: Select, *, limit: int, offset: int) -> Page:
    """Run `stmt` for one page; `stmt` must already have a deterministic ORDER BY."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}, got {limit}")
    if offset < 0:
        raise InvalidInput(f"offset cannot be negative, got {offset}")
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    page_stmt = stmt.limit(limit).offset(offset)
    # Single-entity selects yield objects; multi-column ones (entity + computed) yield rows.
    if len(stmt.column_descriptions) == 1:
        items = list(session.scalars(page_stmt))
    else:
        items = [tuple(row) for row in session.execute(page_stmt)]
    return Page(items=items, total=total or 0, limit=limit, offset=offset)
