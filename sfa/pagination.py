from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from sfa.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 1000
# Rows fetched per round trip by an export's server-side cursor.
EXPORT_BATCH = 1000


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


def each_batch(session: Session, stmt: Select, *, size: int = EXPORT_BATCH) -> Iterator[list[Any]]:
    """Every row of `stmt` (an export), `size` at a time through a server-side cursor:
    memory stays flat however many rows match. Items are shaped as in `paginate`."""
    result = session.execute(stmt, execution_options={"yield_per": size})
    single = len(stmt.column_descriptions) == 1
    for partition in result.partitions(size):
        yield [row[0] for row in partition] if single else [tuple(row) for row in partition]
