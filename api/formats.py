"""Alternative representations of list responses: CSV for spreadsheets (written by
`api.csv_export`), GeoJSON for maps."""

import json
from enum import StrEnum
from typing import Any

from fastapi.responses import Response

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


def geojson_response(features: list[dict], **members) -> Response:
    body = {"type": "FeatureCollection", "features": features, **members}
    return Response(json.dumps(body), media_type="application/geo+json")
