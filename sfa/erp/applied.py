"""What the upserts of ERP data share (``upserts.py``: master data; ``documents.py``:
invoices and payments): the result type, the sale reference, small value helpers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy.orm import Session

#: Our order id travels to the ERP as the sale reference ``SFA-<order id>`` (see sync.py).
SALE_REFERENCE_PREFIX = "SFA-"

T = TypeVar("T")


@dataclass
class Applied:
    upserted: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)


def sale_reference(order_id: int) -> str:
    return f"{SALE_REFERENCE_PREFIX}{order_id}"


def order_id_from_reference(reference: str) -> int | None:
    if not reference.startswith(SALE_REFERENCE_PREFIX):
        return None
    digits = reference[len(SALE_REFERENCE_PREFIX) :]
    return int(digits) if digits.isdigit() else None


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def id_map(session: Session, stmt) -> dict:
    """{key: id} from a two-column select."""
    return {key: value for key, value in session.execute(stmt).all()}


def cut(value: str | None, size: int) -> str | None:
    return value[:size] if value else None


def latest_per_key(items: Sequence[T], key: Callable[[T], str]) -> list[tuple[int, T]]:
    """(index, item) keeping, for repeated keys in one batch, the last occurrence."""
    last: dict[str, tuple[int, T]] = {}
    for index, item in enumerate(items):
        last[key(item)] = (index, item)
    return sorted(last.values(), key=lambda pair: pair[0])
