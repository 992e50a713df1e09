"""The one CSV writer: every `format=csv` answer of the API goes through `csv_export`.

An export is the whole result, never a page. The rows come in batches (a server-side
cursor, `sfa.pagination.each_batch`, or a report's batches), are written to a temporary
file (in memory up to SPOOL_BYTES, then on disk) while the request's transaction is
open, and the file is then streamed to the client. So memory stays flat however many
rows match, and the database connection is given back before the download starts: a
slow client never holds one.

Columns come from the row model (`api.schemas.csv_rows.CsvRow`), so they are known
before the first row and are the same whatever the data.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from fastapi.responses import StreamingResponse

from api.schemas.csv_rows import CsvRow

SPOOL_BYTES = 4 * 2**20
CHUNK_BYTES = 64 * 2**10


def csv_export(
    model: type[CsvRow],
    batches: Iterable[Iterable[Any]],
    filename: str,
    convert: Callable[[Any], CsvRow] | None = None,
) -> StreamingResponse:
    """Every row of `batches` (each through `convert`, when given) as a CSV download."""
    # Not a `with` block: the file outlives this call, the response reads and closes it.
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        text = io.TextIOWrapper(spool, encoding="utf-8", newline="")
        writer = csv.DictWriter(text, fieldnames=model.csv_columns(), restval="")
        writer.writeheader()
        rows = 0
        for batch in batches:
            for item in batch:
                writer.writerow((convert(item) if convert else item).csv_row())
                rows += 1
        text.flush()
        text.detach()  # the spool stays open; the wrapper must not close it
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return StreamingResponse(
        _chunks(spool),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
            "X-Row-Count": str(rows),
        },
    )


def _chunks(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while chunk := spool.read(CHUNK_BYTES):
            yield chunk
    finally:
        spool.close()
