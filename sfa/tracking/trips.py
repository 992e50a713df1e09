"""Trips between stops, and why a still phone's jitter adds no distance.

Trips run between day start, stops and day end; their length is the geodesic length of a
polyline over fitted positions (sfa.tracking.fit), built so that noise does not count:
- the pings of a stop are collapsed to the stop's centre, so a phone wandering for an
  hour inside a stop adds exactly zero;
- while moving (or standing still for less than a stop, e.g. at traffic lights), a ping
  adds a vertex only once it is at least max(jitter_m, 2σ) from the last vertex, σ being
  its fitted position's uncertainty (a minimum-displacement filter, with hysteresis
  that grows with the phone's reported accuracy). Noise below that never counts; on
  real motion the counted chords hug the road.
A gap inside a trip counts as the straight geodesic across it.
"""

from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sfa import geo
from sfa.tracking.fit import Fitted
from sfa.tracking.stops import Span


class TripSpan(NamedTuple):
    first: int  # index of the trip's first ping (the last of the stop before it)
    last: int  # index of its last ping (the first of the stop after it)
    distance_m: float
    n_moving: int  # pings of the trip that belong to no stop


def trips(
    fitted: Fitted,
    min_move_m: NDArray[np.float64],
    spans: list[Span],
    centres: list[tuple[float, float]],
) -> list[TripSpan]:
    """The trips around `spans` (stops, with their (lat, lon) centres) of the fitted
    positions; a position counts as a move once min_move_m[k] from the last vertex."""
    n = fitted.xyz.shape[0]
    if n < 2:
        return []
    builder = _Polylines(fitted.xyz, (min_move_m * min_move_m).tolist())
    prev_end: int | None = None
    prev_centre: tuple[float, float] | None = None
    for (s, e), centre in zip(spans, centres, strict=True):
        if prev_end is None:
            builder.add(None, 0, s, centre, 0, s)
        else:
            builder.add(prev_centre, prev_end + 1, s, centre, prev_end, s)
        prev_end, prev_centre = e, centre
    if prev_end is None:
        builder.add(None, 0, n, None, 0, n - 1)
    else:
        builder.add(prev_centre, prev_end + 1, n, None, prev_end, n - 1)
    return builder.measure(fitted)


class _Trip(NamedTuple):
    first: int
    last: int
    start: tuple[float, float] | None  # the stop centre it starts from, if any
    vertices: list[int]  # fitted positions counted as moves
    end: tuple[float, float] | None  # the stop centre it ends at, if any
    n_moving: int


class _Polylines:
    """Each trip's vertices, measured together in one batched geodesic call."""

    def __init__(self, xyz: NDArray[np.float64], min_move2: list[float]) -> None:
        self.x, self.y, self.z = xyz[:, 0].tolist(), xyz[:, 1].tolist(), xyz[:, 2].tolist()
        self.min_move2 = min_move2
        self.trips: list[_Trip] = []

    def add(
        self,
        start_vertex: tuple[float, float] | None,
        lo: int,
        hi: int,
        end_vertex: tuple[float, float] | None,
        i_start: int,
        i_end: int,
    ) -> None:
        # A day that starts (ends) inside a stop has no trip before (after) it.
        if i_end <= i_start:
            return
        x, y, z = self.x, self.y, self.z
        if start_vertex is None:
            vertices = [lo]
            ax, ay, az = x[lo], y[lo], z[lo]
            moving_from = lo + 1
        else:
            vertices = []
            ax, ay, az = geo.to_ecef(lat=start_vertex[0], lon=start_vertex[1]).tolist()
            moving_from = lo
        min_move2 = self.min_move2
        for k in range(moving_from, hi):
            dx, dy, dz = x[k] - ax, y[k] - ay, z[k] - az
            if dx * dx + dy * dy + dz * dz >= min_move2[k]:
                vertices.append(k)
                ax, ay, az = x[k], y[k], z[k]
        self.trips.append(_Trip(i_start, i_end, start_vertex, vertices, end_vertex, hi - lo))

    def measure(self, fitted: Fitted) -> list[TripSpan]:
        index = np.fromiter((k for trip in self.trips for k in trip.vertices), dtype=np.intp)
        v_lat, v_lon = fitted.lat_lon(index)
        v_lat_l, v_lon_l = v_lat.tolist(), v_lon.tolist()
        lats: list[float] = []
        lons: list[float] = []
        seg_trip: list[int] = []
        used = 0
        for number, trip in enumerate(self.trips):
            k = len(trip.vertices)
            t_lat = v_lat_l[used : used + k]
            t_lon = v_lon_l[used : used + k]
            used += k
            if trip.start is not None:
                t_lat.insert(0, trip.start[0])
                t_lon.insert(0, trip.start[1])
            if trip.end is not None:
                t_lat.append(trip.end[0])
                t_lon.append(trip.end[1])
            # Consecutive vertices of one trip are its segments; -1 marks the step between
            # two trips, which is no segment.
            lats += t_lat
            lons += t_lon
            seg_trip += [number] * (len(t_lat) - 1) + [-1]
        la, lo = np.asarray(lats), np.asarray(lons)
        owner = np.asarray(seg_trip[:-1], dtype=np.intp) if seg_trip else np.zeros(0, np.intp)
        within = owner >= 0
        d = geo.distances_m(
            lat1=la[:-1][within], lon1=lo[:-1][within], lat2=la[1:][within], lon2=lo[1:][within]
        )
        per_trip = np.bincount(owner[within], weights=d, minlength=len(self.trips))
        return [
            TripSpan(trip.first, trip.last, float(per_trip[number]), trip.n_moving)
            for number, trip in enumerate(self.trips)
        ]
