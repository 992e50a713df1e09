"""Incremental exports for data warehouses (docs/exports.md): every row of a table changed
since a time or after a cursor, in (updated, key) order, up to the settled bound; and the
deletions, from the tombstones."""

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.errors import BadRequest, Forbidden, NotFound
from sfa.exports import repository
from sfa.exports.repository import SPECS, Spec

PREFIX = "e1."
SCOPE = "exports:read"


@dataclass(frozen=True)
class Export:
    spec: Spec
    query: Select
    # Where each row's cursor comes from: the names of its (updated, key) columns.
    order: tuple[str, ...]


def _spec(principal: Principal, entity: str) -> Spec:
    principal.require(SCOPE)
    if principal.team_ids is not None:
        raise Forbidden("exports are company-wide: an administrator or an API key only")
    spec = SPECS.get(entity)
    if spec is None:
        raise NotFound(
            f"there is no export named {entity!r}", hint=f"exports: {', '.join(sorted(SPECS))}"
        )
    return spec


def _text(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date | datetime) else value


def cursor_of(values: tuple) -> str:
    raw = json.dumps([_text(v) for v in values], separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad() -> BadRequest:
    return BadRequest(
        "the export cursor `after` is not valid",
        hint="send the X-Next-After header of the previous export exactly as received",
    )


def _value(kind: type, value: Any) -> Any:
    if kind is datetime and isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("naive time")
        return parsed
    if kind is date and isinstance(value, str):
        return date.fromisoformat(value)
    if kind is int and type(value) is int and 0 <= value < 2**63:
        return value
    if kind is str and isinstance(value, str) and len(value) <= 200 and "\x00" not in value:
        return value
    raise ValueError("wrong type")


def parse_cursor(text: str, kinds: tuple[type, ...]) -> tuple:
    if not text.startswith(PREFIX):
        raise _bad()
    body = text[len(PREFIX) :]
    try:
        values = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        if not isinstance(values, list) or len(values) != len(kinds):
            raise ValueError("wrong length")
        return tuple(_value(k, v) for k, v in zip(kinds, values, strict=True))
    except (binascii.Error, ValueError, TypeError):
        raise _bad() from None


def export(
    session: Session,
    *,
    principal: Principal,
    entity: str,
    updated_since: datetime | None,
    after: str | None,
    limit: int | None,
) -> Export:
    spec = _spec(principal, entity)
    order = spec.order()
    position = parse_cursor(after, tuple(c.type.python_type for c in order)) if after else None
    query = repository.rows_query(
        spec,
        since=updated_since,
        after=position,
        bound=repository.settled(session),
        limit=limit,
    )
    return Export(spec, query, tuple(c.name for c in order))


def deletions(
    session: Session,
    *,
    principal: Principal,
    entity: str,
    since: datetime | None,
    after: str | None,
    limit: int | None,
) -> Export:
    spec = _spec(principal, entity)
    if not spec.tombstones:
        raise NotFound(
            f"{entity} are not deleted one by one",
            hint="pings go when their month's partition is dropped (ping_retention_months)",
        )
    position = parse_cursor(after, (datetime, int)) if after else None
    query = repository.tombstones_query(
        spec, since=since, after=position, bound=repository.settled(session), limit=limit
    )
    return Export(spec, query, ("deleted_at", "id"))
