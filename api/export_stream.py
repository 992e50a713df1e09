"""Incremental exports written as NDJSON or CSV (docs/exports.md).

Like api/csv_export.py: the rows come through a server-side cursor in batches and are
written to a temporary file (in memory up to SPOOL_BYTES, then on disk) while the
request's transaction is open; the file is then streamed. Memory stays flat whatever the
number of rows, and no database connection waits for a slow download. The last row's
cursor is known before the first byte goes out: it is the X-Next-After header.
"""

import csv
import io
import json
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from fastapi.responses import StreamingResponse

from api.csv_export import SPOOL_BYTES, _chunks

MEDIA = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8"}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def stream_rows(
    *,
    columns: list[str],
    batches: Iterable[list[tuple]],
    fmt: str,
    filename: str,
    next_after: Callable[[tuple], str],
    given_after: str | None,
) -> StreamingResponse:
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    rows, last = 0, None
    try:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        writer = csv.writer(text) if fmt == "csv" else None
        if writer is not None:
            writer.writerow(columns)
        for batch in batches:
            for row in batch:
                plain = [_plain(v) for v in row]
                if writer is not None:
                    writer.writerow(
                        json.dumps(v) if isinstance(v, dict | list) else v for v in plain
                    )
                else:
                    text.write(json.dumps(dict(zip(columns, plain, strict=True))) + "\n")
                last = row
                rows += 1
        text.flush()
        text.detach()
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    headers = {
        "Content-Disposition": f'attachment; filename="{filename}.{fmt}"',
        "Content-Length": str(size),
        "X-Row-Count": str(rows),
    }
    cursor = next_after(last) if last is not None else given_after
    if cursor:
        headers["X-Next-After"] = cursor
    return StreamingResponse(_chunks(spool), media_type=MEDIA[fmt], headers=headers)
