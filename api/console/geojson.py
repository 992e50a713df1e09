"""The maps' GeoJSON layers, built at the edge (DESIGN §5.6): visits, reps' positions,
stops, and tracks simplified for the zoom level they are drawn at.

A day's track is thousands of points; a map 1,000 pixels wide cannot show more detail
than a pixel, so the track is simplified (shapely, Douglas-Peucker) with a tolerance of
one pixel at the zoom the map opens with, and again for a closer zoom on request.
Gaps in the data split the line: a gap is drawn as a gap, never as a straight jump."""

import math
from bisect import bisect_left
from datetime import timedelta

import numpy as np
from shapely.geometry import LineString

from sfa.tracking.drawn import DrawnTrack

COORD_DIGITS = 6  # ~0.1 m: more digits are bytes without information
MAX_ZOOM = 18
MIN_ZOOM = 3
# The map a page opens with, in CSS pixels (a laptop's; a phone shows less, never more).
MAP_PIXELS = (1000, 620)
_US = timedelta(microseconds=1)


def point(lat: float, lon: float, **properties) -> dict:
    return {
        "type": "Feature",
        "geometry": {
            "type": "Point",
            "coordinates": [round(lon, COORD_DIGITS), round(lat, COORD_DIGITS)],
        },
        "properties": properties,
    }


def collection(features: list[dict]) -> dict:
    return {"type": "FeatureCollection", "features": features}


def trust_band(score: int | None) -> str:
    if score is None:
        return "none"
    return "high" if score >= 80 else "mid" if score >= 50 else "low"


def fit_zoom(track: DrawnTrack, pixels: tuple[int, int] = MAP_PIXELS) -> int:
    """The zoom at which the track's bounding box fills the map (Web Mercator)."""
    if len(track) < 2:
        return 15
    lon_span = max(float(track.lon.max() - track.lon.min()), 1e-6)
    lat_span = max(_mercator_y(float(track.lat.max())) - _mercator_y(float(track.lat.min())), 1e-9)
    zoom_x = math.log2(pixels[0] / 256 * 360 / lon_span)
    zoom_y = math.log2(pixels[1] / 256 * 2 * math.pi / lat_span)
    return max(MIN_ZOOM, min(MAX_ZOOM, math.floor(min(zoom_x, zoom_y))))


def _mercator_y(lat: float) -> float:
    phi = math.radians(max(-85.0, min(85.0, lat)))
    return math.log(math.tan(math.pi / 4 + phi / 2))


def tolerance_deg(zoom: int) -> float:
    """One pixel at this zoom, in degrees of longitude (what Leaflet itself smooths away
    when it draws a line: its default smoothFactor is one pixel)."""
    return 360 / (256 * 2**zoom)


def _pieces(track: DrawnTrack, gap: timedelta) -> list[np.ndarray]:
    """The track as (lon, lat) arrays, cut wherever the data has a gap longer than `gap`."""
    if len(track) < 2:
        return []
    xy = np.column_stack((track.lon, track.lat))
    cuts = np.flatnonzero(np.diff(track.t_us) > gap // _US) + 1
    return [piece for piece in np.split(xy, cuts) if len(piece) >= 2]


def track(points: DrawnTrack, *, gap: timedelta, zoom: int) -> dict:
    """The day's track as one MultiLineString feature, simplified for `zoom`."""
    zoom = max(MIN_ZOOM, min(MAX_ZOOM, zoom))
    tolerance = tolerance_deg(zoom)
    lines = []
    for piece in _pieces(points, gap):
        simple = LineString(piece).simplify(tolerance, preserve_topology=False)
        coords = np.asarray(simple.coords) if not simple.is_empty else piece[[0, -1]]
        lines.append(np.round(coords, COORD_DIGITS).tolist())
    return {
        "type": "Feature",
        "geometry": {"type": "MultiLineString", "coordinates": lines},
        "properties": {"zoom": zoom, "points": len(points), "drawn": sum(map(len, lines))},
    }


def timeline(points: DrawnTrack, *, every: timedelta, tz) -> list[list]:
    """[local "HH:MM", lon, lat] at most one per `every`: what the replay slider steps
    through (the drawn line has no times; this is a few hundred points a day)."""
    t, step = points.t_us.tolist(), every // _US
    picked: list[int] = []
    i = 0
    while i < len(t):
        picked.append(i)
        i = bisect_left(t, t[i] + step, i + 1)  # the next point at least `every` later
    lons = np.round(points.lon[picked], COORD_DIGITS).tolist()
    lats = np.round(points.lat[picked], COORD_DIGITS).tolist()
    return [
        [points.at(i).astimezone(tz).strftime("%H:%M"), lon, lat]
        for i, lon, lat in zip(picked, lons, lats, strict=True)
    ]
