"""Reading Tryton values: relation fields as read or as ``on_change`` returns them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sfa.erp.connector import ErpRejected


def int_id(external_id: str, what: str) -> int:
    """Our external id of a Tryton record back to its id; refuses anything else."""
    try:
        value = int(str(external_id).strip())
    except ValueError:
        raise ErpRejected(
            f"{what} id {external_id!r} is not a Tryton id", code=f"unknown_{what}"
        ) from None
    if value <= 0:
        raise ErpRejected(f"{what} id {external_id!r} is not a Tryton id", code=f"unknown_{what}")
    return value


def many2one_id(value: Any) -> int | None:
    """A Many2One value as read (id) or as returned by on_change."""
    if isinstance(value, dict):
        value = value.get("id")
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return int(value) if value is not None else None


def x2many_ids(value: Any) -> list[int]:
    """Ids of an x2many value as read (list) or from on_change (dict)."""
    if not value:
        return []
    if isinstance(value, list | tuple):
        return [int(v["id"] if isinstance(v, dict) else v) for v in value]
    ids: list[int] = []
    for _index, record in value.get("add", []):
        if isinstance(record, dict) and record.get("id") is not None:
            ids.append(int(record["id"]))
    return ids


def plain_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the ``field.`` rec_name companions of an on_change result."""
    return {k: v for k, v in changes.items() if not k.endswith(".")}


def latest(*values: dt.datetime | None) -> dt.datetime | None:
    present = [v for v in values if v is not None]
    return max(present) if present else None


def related(record: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The nested dict of a dotted read (``"currency.code"`` → ``record["currency."]``)."""
    return record.get(f"{name}.") or {}
