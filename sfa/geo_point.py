"""Points crossing the domain boundary: validation and WKT/WKB conversion.

Positions are lon/lat on WGS84 (SRID 4326); GeoJSON exists only at the API edge.
"""

import math

from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape

from sfa.errors import InvalidInput

SRID = 4326


def check_lat_lon(lat: float, lon: float) -> None:
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        raise InvalidInput("latitude and longitude must be numbers")
    if math.isnan(lat) or math.isnan(lon) or math.isinf(lat) or math.isinf(lon):
        raise InvalidInput("latitude and longitude must be finite numbers, not NaN or infinity")
    if not -90 <= lat <= 90:
        raise InvalidInput(f"latitude {lat} is outside [-90, 90]",
                           hint="did you swap latitude and longitude?")
    if not -180 <= lon <= 180:
        raise InvalidInput(f"longitude {lon} is outside [-180, 180]")


def to_geography(lat: float, lon: float) -> WKTElement:
    check_lat_lon(lat, lon)
    return WKTElement(f"POINT({lon!r} {lat!r})", srid=SRID)


def lat_lon(value: WKBElement | None) -> tuple[float, float] | None:
    if value is None:
        return None
    point = to_shape(value)
    return point.y, point.x
