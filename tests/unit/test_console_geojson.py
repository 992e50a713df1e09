"""The console's map layers: a track is cut at gaps and simplified for the zoom."""

import math
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from api.console import geojson
from sfa.tracking.drawn import DrawnTrack
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
    feature = geojson.track(DrawnTrack.of(before + after), gap=timedelta(minutes=15), zoom=15)
    lines = feature["geometry"]["coordinates"]
    assert len(lines) == 2
    assert lines[0][0] == [round(before[0].lon, 6), round(before[0].lat, 6)]
    assert lines[1][-1] == [round(after[-1].lon, 6), round(after[-1].lat, 6)]


def test_simplified_for_the_zoom_and_more_detail_closer_in():
    points = DrawnTrack.of(_wiggly(2000, T0))
    far = geojson.track(points, gap=timedelta(minutes=15), zoom=12)
    near = geojson.track(points, gap=timedelta(minutes=15), zoom=19)
    assert far["properties"]["drawn"] < 20  # 3 m of wiggle is far below a pixel at zoom 12
    assert near["properties"]["drawn"] > 10 * far["properties"]["drawn"]
    assert far["properties"]["points"] == near["properties"]["points"] == 2000


def test_fit_zoom_fills_the_map_with_the_day():
    city = [TrackPoint(T0, -6.25, 106.75), TrackPoint(T0, -6.15, 106.90)]  # ~17 km wide
    street = [TrackPoint(T0, -6.2000, 106.8000), TrackPoint(T0, -6.2010, 106.8015)]
    assert geojson.fit_zoom(DrawnTrack.of(city)) in (12, 13)
    assert geojson.fit_zoom(DrawnTrack.of(street)) >= 17


def test_the_replay_steps_once_a_minute_in_company_time():
    # A point every 25 s for 10 minutes: each step is the first point a minute or more
    # after the last step (0:00, 1:15, 2:30, ...), at 08:00 in Jakarta for 01:00 UTC.
    points = DrawnTrack.of(
        [TrackPoint(T0 + timedelta(seconds=25 * i), -6.2, 106.8 + i * 1e-4) for i in range(24)]
    )
    steps = geojson.timeline(points, every=timedelta(minutes=1), tz=ZoneInfo("Asia/Jakarta"))
    assert [s[0] for s in steps] == [
        "08:00",
        "08:01",
        "08:02",
        "08:03",
        "08:05",
        "08:06",
        "08:07",
        "08:08",
    ]
    assert steps[1][1:] == [round(106.8 + 3e-4, 6), -6.2]
    assert geojson.timeline(DrawnTrack.of([]), every=timedelta(minutes=1), tz=UTC) == []
