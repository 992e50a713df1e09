"""Alternative representations of list responses: CSV for spreadsheets, GeoJSON for maps."""

import csv
import io
import json
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from fastapi.responses import Response
from pydantic import BaseModel

# OpenAPI: a list endpoint that also answers `format=csv`.
CSV_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"content": {"text/csv": {}}}}


class ListFormat(StrEnum):
    json = "json"
    csv = "csv"
    geojson = "geojson"


class ReportFormat(StrEnum):
    """Tabular reports have no map form."""

    json = "json"
    csv = "csv"


def _flatten(data: dict, prefix: str = "") -> dict:
    """Nested objects become dotted columns (location.lat, location.lon)."""
    flat: dict[str, object] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, list):
            flat[prefix + key] = ";".join(map(str, value))
        else:
            flat[prefix + key] = "" if value is None else value
    return flat


def csv_response(rows: Iterable[BaseModel], filename: str) -> Response:
    flat_rows = [_flatten(row.model_dump(mode="json")) for row in rows]
    columns: dict[str, None] = {}
    for row in flat_rows:
        columns.update(dict.fromkeys(row))
    # An object that is null in some rows (a customer without location) must not add a
    # bare column beside its dotted ones.
    fieldnames = [c for c in columns if not any(o.startswith(c + ".") for o in columns)]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=fieldnames, restval="", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(flat_rows)
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def geojson_response(features: list[dict], **members) -> Response:
    body = {"type": "FeatureCollection", "features": features, **members}
    return Response(json.dumps(body), media_type="application/geo+json")
