"""A day's accepted track as arrays, kept with the stored day for drawing it.

Drawing a 20,000-ping day used to mean fetching every ping as a Python object and
cleaning them again on each view (~0.3 s unloaded, over a second on a busy server), only
to end up with the same accepted points `store_day` had in hand. So `store_day` keeps
them (rep_days.track) and a map reads one value instead.

Stored compactly: device times in µs (exact: the gap test is on them) and positions in
1e-7 degrees (~1 cm; a map draws 6 digits), each delta-encoded as 64-bit integers (a
step across the antimeridian is a large one) and zlib-compressed: ~8 bytes a point
(bench/console_maps.py's day: 160 KB for 20,000), against the ~100 of a ping row.
"""

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from sfa.tracking.track import TrackPoint

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_SCALE = 10_000_000  # units of 1e-7 degree
# The first byte: how the rest is laid out. A value of another format is not read
# (the day is drawn from its pings, as before the column existed).
FORMAT = 1


@dataclass(frozen=True)
class DrawnTrack:
    """Accepted pings in device-time order: time (µs since the epoch), latitude, longitude."""

    t_us: NDArray[np.int64]
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.t_us.size)

    @classmethod
    def of(cls, points: Sequence[TrackPoint]) -> "DrawnTrack":
        n = len(points)
        return cls(
            t_us=np.fromiter(((p.at - _EPOCH) // _US for p in points), np.int64, n),
            lat=np.fromiter((p.lat for p in points), float, n),
            lon=np.fromiter((p.lon for p in points), float, n),
        )

    def at(self, i: int) -> datetime:
        return _EPOCH + timedelta(microseconds=int(self.t_us[i]))

    def encode(self) -> bytes:
        columns = (
            _deltas(self.t_us),
            _deltas(np.round(self.lat * _SCALE).astype(np.int64)),
            _deltas(np.round(self.lon * _SCALE).astype(np.int64)),
        )
        header = np.array([len(self)], dtype="<u4").tobytes()
        payload = header + b"".join(c.astype("<i8").tobytes() for c in columns)
        return bytes([FORMAT]) + zlib.compress(payload, 1)

    @classmethod
    def decode(cls, data: bytes) -> "DrawnTrack | None":
        """The track, or None for a value of another format."""
        if not data or data[0] != FORMAT:
            return None
        payload = zlib.decompress(data[1:])
        n = int(np.frombuffer(payload, "<u4", 1)[0])
        t = np.frombuffer(payload, "<i8", n, 4)
        lat = np.frombuffer(payload, "<i8", n, 4 + 8 * n)
        lon = np.frombuffer(payload, "<i8", n, 4 + 16 * n)
        return cls(
            t_us=np.cumsum(t, dtype=np.int64),
            lat=np.cumsum(lat, dtype=np.int64) / _SCALE,
            lon=np.cumsum(lon, dtype=np.int64) / _SCALE,
        )


def _deltas(values: NDArray[np.int64]) -> NDArray[np.int64]:
    # The first value as it is, then differences: a day's steps are small numbers.
    return np.diff(values, prepend=np.int64(0)) if values.size else values
