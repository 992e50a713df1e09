"""Incremental exports for data warehouses (docs/exports.md)."""

from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from api.deps import PrincipalDep, SessionDep, reads_from_replica
from api.export_stream import MEDIA, stream_rows
from api.schemas.common import Instant, Text
from sfa.exports import service as export_service
from sfa.exports.repository import SPECS
from sfa.pagination import each_batch

router = APIRouter(prefix="/v1/exports", tags=["exports"])

Entity = StrEnum("Entity", {name: name for name in SPECS})  # type: ignore[misc]


class Format(StrEnum):
    ndjson = "ndjson"
    csv = "csv"


_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the rows, one JSON object a line (ndjson) or CSV; X-Next-After is "
        "the cursor to send as `after` next time, X-Row-Count the number of rows",
        "content": {media: {} for media in MEDIA.values()},
    }
}
AfterQuery = Annotated[
    Text | None, Query(max_length=1000, description="X-Next-After of the previous export")
]
LimitQuery = Annotated[int | None, Query(ge=1, le=100_000_000, description="at most rows")]


def _stream(session: Session, found: export_service.Export, fmt: Format, name: str, after):
    columns = [c.name for c in found.query.selected_columns]
    where = [columns.index(name) for name in found.order]
    return stream_rows(
        columns=columns,
        batches=each_batch(session, found.query, size=5000),
        fmt=fmt.value,
        filename=name,
        next_after=lambda row: export_service.cursor_of(tuple(row[i] for i in where)),
        given_after=after,
    )


@router.get(
    "/{entity}",
    response_class=StreamingResponse,
    responses=_STREAMED,
    summary="Rows changed since a time or after a cursor (NDJSON or CSV, streamed)",
)
@reads_from_replica
def export_rows(
    session: SessionDep,
    principal: PrincipalDep,
    entity: Annotated[Entity, Path()],
    updated_since: Instant | None = None,
    after: AfterQuery = None,
    format: Format = Format.ndjson,
    limit: LimitQuery = None,
):
    found = export_service.export(
        session,
        principal=principal,
        entity=entity.value,
        updated_since=updated_since,
        after=after,
        limit=limit,
    )
    return _stream(session, found, format, entity.value, after)


@router.get(
    "/{entity}/deletions",
    response_class=StreamingResponse,
    responses=_STREAMED,
    summary="Tombstones: the records deleted since a time or after a cursor",
)
@reads_from_replica
def export_deletions(
    session: SessionDep,
    principal: PrincipalDep,
    entity: Annotated[Entity, Path()],
    since: Instant | None = None,
    after: AfterQuery = None,
    format: Format = Format.ndjson,
    limit: LimitQuery = None,
):
    found = export_service.deletions(
        session, principal=principal, entity=entity.value, since=since, after=after, limit=limit
    )
    return _stream(session, found, format, f"{entity.value}-deletions", after)
