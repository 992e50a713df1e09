"""The accepted track kept with a stored day (sfa.tracking.drawn): what is decoded is what
was encoded, times exactly, positions to 1e-7 degree."""

from datetime import UTC, datetime, timedelta

import numpy as np

from sfa.tracking.drawn import FORMAT, DrawnTrack
from sfa.tracking.track import TrackPoint

T0 = datetime(2026, 11, 16, 1, 0, 0, 123_456, tzinfo=UTC)


def _day(n: int) -> list[TrackPoint]:
    rng = np.random.default_rng(3)
    steps = rng.integers(1_000_000, 60_000_000, n)  # 1-60 s, in µs
    lat = -6.2 + np.cumsum(rng.normal(0, 1e-4, n))
    lon = 106.8 + np.cumsum(rng.normal(0, 1e-4, n))
    at = [T0 + timedelta(microseconds=int(u)) for u in np.cumsum(steps)]
    return [TrackPoint(a, float(y), float(x)) for a, y, x in zip(at, lat, lon, strict=True)]


def test_a_day_comes_back_as_it_was_kept():
    points = _day(5000)
    kept = DrawnTrack.of(points)
    data = kept.encode()
    back = DrawnTrack.decode(data)
    assert back is not None and len(back) == 5000
    assert [back.at(i) for i in range(len(back))] == [p.at for p in points]
    assert np.abs(back.lat - kept.lat).max() <= 0.5e-7
    assert np.abs(back.lon - kept.lon).max() <= 0.5e-7
    assert len(data) < 12 * len(points)  # compact: a ping row is ~100 bytes


def test_across_the_antimeridian_and_at_the_poles():
    points = [
        TrackPoint(T0, -17.7, 179.9999999),
        TrackPoint(T0 + timedelta(seconds=5), -17.7, -179.9999999),
        TrackPoint(T0 + timedelta(seconds=9), 90.0, 180.0),
        TrackPoint(T0 + timedelta(seconds=11), -90.0, -180.0),
    ]
    back = DrawnTrack.decode(DrawnTrack.of(points).encode())
    assert back is not None
    assert back.lon.tolist() == [179.9999999, -179.9999999, 180.0, -180.0]
    assert back.lat.tolist() == [-17.7, -17.7, 90.0, -90.0]


def test_an_empty_day_and_a_value_of_another_format():
    empty = DrawnTrack.decode(DrawnTrack.of([]).encode())
    assert empty is not None and len(empty) == 0
    data = DrawnTrack.of(_day(3)).encode()
    assert data[0] == FORMAT
    assert DrawnTrack.decode(bytes([FORMAT + 1]) + data[1:]) is None
    assert DrawnTrack.decode(b"") is None
