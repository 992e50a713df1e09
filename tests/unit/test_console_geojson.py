"""The console's map layers: a track is cut at gaps and simplified for the zoom."""

import math
from datetime import UTC, datetime, timedelta

from api.console import geojson
from sfa.tracking.track import TrackPoint

T0 = datetime(2026, 11, 16, 1, 0, tzinfo=UTC)


def _wiggly(n: int, start: datetime, lat0: float = -6.2) -> list[TrackPoint]:
    """A drive east with 3 m of sideways wiggle every 10 s."""
    return [
        TrackPoint(
            at=start + timedelta(seconds=10 * i),
            lat=lat0 + 3 / 111_320 * math.sin(i),
            lon=106.8 + i * 0.0001,
        )
        for i in range(n)
    ]


def test_a_gap_in_the_data_is_a_gap_in_the_line():
    before = _wiggly(100, T0)
    after = _wiggly(100, T0 + timedelta(hours=2), lat0=-6.21)
    feature = geojson.track(before + after, gap=timedelta(minutes=15), zoom=15)
    lines = feature["geometry"]["coordinates"]
    assert len(lines) == 2
    assert lines[0][0] == [round(before[0].lon, 6), round(before[0].lat, 6)]
    assert lines[1][-1] == [round(after[-1].lon, 6), round(after[-1].lat, 6)]


def test_simplified_for_the_zoom_and_more_detail_closer_in():
    points = _wiggly(2000, T0)
    far = geojson.track(points, gap=timedelta(minutes=15), zoom=12)
    near = geojson.track(points, gap=timedelta(minutes=15), zoom=19)
    assert far["properties"]["drawn"] < 20  # 3 m of wiggle is far below a pixel at zoom 12
    assert near["properties"]["drawn"] > 10 * far["properties"]["drawn"]
    assert far["properties"]["points"] == near["properties"]["points"] == 2000


def test_fit_zoom_fills_the_map_with_the_day():
    city = [TrackPoint(T0, -6.25, 106.75), TrackPoint(T0, -6.15, 106.90)]  # ~17 km wide
    street = [TrackPoint(T0, -6.2000, 106.8000), TrackPoint(T0, -6.2010, 106.8015)]
    assert geojson.fit_zoom(city) in (12, 13)
    assert geojson.fit_zoom(street) >= 17
