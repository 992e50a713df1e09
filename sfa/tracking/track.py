"""Track analysis of one rep's GPS pings for one day: pure functions, no database.

Pipeline (docs/rules.md, "Tracking"):

1. Clean. Pings are put in device-time order (never arrival order). Rejected, in this
   order: "invalid" (NaN / out-of-range coordinates, NaN or negative accuracy),
   "accuracy" (worse than max_accuracy_m; None or 0 means unknown and is accepted),
   "duplicate" (same device time as a better ping), "speed" (implied speed from the
   neighbouring accepted ping above max_speed_kmh). Accuracy is filtered before
   duplicates so that a bad copy can never shadow a good ping with the same time.
   Every step works on a canonical order, so the result does not depend on input
   order or on how often a ping was re-sent.

2. Speed filter and the first-ping problem. Comparing each ping with the previous
   accepted one rejects a lone spike in mid-track, but if the *first* ping is the
   outlier (typically a stale cached fix from the night before) every later ping
   would look too fast and the whole day would be lost. So we do not trust the first
   ping: we split the pings into runs whose consecutive implied speeds are all
   plausible, trust the longest run (the earliest on a tie), and filter outwards from
   it: forwards against the previous accepted ping, and backwards against the next
   accepted one. A stale first fix (or several) then ends up rejected; a mid-track
   spike as well. Limitation: a day with two long, mutually inconsistent halves (a
   flight) keeps the longer half.

3. Stops: Li et al. (2008) sliding staypoints. From anchor i, extend j while
   distance(p_i, p_j) <= stop_radius_m; it is a stop if time(last inside) - time(p_i)
   >= stop_min_minutes, then the next anchor is the first ping outside; otherwise the
   next anchor is i + 1 (Li's rule; trackintel instead jumps to j, which is cheaper but
   can miss a stop whose best anchor lies after a moving ping). The stop's times are its
   first and last ping inside: unlike trackintel we never extend a stop to the first
   ping outside, i.e. never into unobserved time. A stay still open at the end of the
   data is a stop too (a rep ending the day at a customer).
   Gaps: a gap (> gap_minutes without data) inside a stay does not split it. If the
   pings after the gap are still within stop_radius_m of the anchor the stop continues
   and is marked spans_gap=True with the total gap minutes inside it; otherwise the
   stop ends at its last ping before the gap. So a stay interrupted by a gap is never
   dropped (two halves each too short), and a stop merged across a gap is never silent.

4. Distance, and why jitter adds nothing. Two mechanisms:
   - pings inside a stop are collapsed to the stop's centroid, so a phone wandering
     tens of metres for an hour inside a stop adds exactly zero;
   - while moving (or standing still for less than a stop, e.g. at traffic lights), a
     ping adds distance only once it is at least jitter_m from the last counted vertex
     (anchor / minimum-displacement filter). Noise smaller than jitter_m never counts;
     on real motion the counted chords are >= jitter_m long and hug the road.
   Trips run between day start, stops and day end; distance_m is the sum of their
   geodesic lengths. raw_distance_m is the plain sum over consecutive accepted pings,
   for comparison. A gap inside a trip counts as the straight geodesic across it.

Performance: geodesics are computed in batched pyproj calls; "is p within r of q"
tests (stop radius, jitter) use numpy on ECEF vectors, whose chord length equals the
WGS84 geodesic to < 1e-6 m at these scales (see sfa.geo.to_ecef). Stop anchors are
pre-screened in one vectorised step: anchor i can only start a stop if the first ping
at least stop_min_minutes later is within the radius, which rules out nearly every
anchor while moving.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sfa import geo

RejectReason = Literal["invalid", "accuracy", "duplicate", "speed"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
# Integer microseconds keep time thresholds exact: a 5:00 stop must not become 4:59.999.
_US_PER_MIN = 60_000_000


@dataclass(frozen=True, slots=True, kw_only=True)
class TrackThresholds:
    max_accuracy_m: float = 100.0
    max_speed_kmh: float = 200.0
    gap_minutes: float = 15.0
    stop_radius_m: float = 100.0
    stop_min_minutes: float = 5.0
    # A ping closer than this to the last counted position adds no distance.
    jitter_m: float = 15.0

    def __post_init__(self) -> None:
        for name in (
            "max_accuracy_m",
            "max_speed_kmh",
            "gap_minutes",
            "stop_radius_m",
            "stop_min_minutes",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive finite number, got {value!r}")
        if not (math.isfinite(self.jitter_m) and self.jitter_m >= 0):
            raise ValueError(f"jitter_m must be a finite number >= 0, got {self.jitter_m!r}")


@dataclass(frozen=True, slots=True)
class TrackPoint:
    at: datetime  # device time, tz-aware
    lat: float
    lon: float
    # None or 0 means unknown: some devices report 0 when they have no estimate.
    accuracy_m: float | None = None


class Rejection(NamedTuple):
    item: int  # position in the input sequence (not `index`: that is tuple.index)
    reason: RejectReason


@dataclass(frozen=True, slots=True)
class Gap:
    start: datetime  # last ping before the gap
    end: datetime  # first ping after it
    minutes: float


@dataclass(frozen=True, slots=True)
class Stop:
    start: datetime  # first ping of the stay
    end: datetime  # last ping of the stay (never extrapolated into a gap)
    lat: float  # centroid of the stay's pings
    lon: float
    n_pings: int
    spans_gap: bool
    gap_minutes: float  # total minutes of gaps inside the stop, 0.0 when none

    @property
    def minutes(self) -> float:
        return (self.end - self.start) / timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Trip:
    start: datetime  # day start or the end of the previous stop
    end: datetime  # the start of the next stop or day end
    distance_m: float
    n_pings: int  # accepted pings of the trip that belong to no stop


@dataclass(frozen=True, slots=True)
class TrackSummary:
    accepted: tuple[TrackPoint, ...]  # device-time order
    rejected: tuple[Rejection, ...]  # by input index
    distance_m: float
    raw_distance_m: float
    gaps: tuple[Gap, ...]
    coverage: float  # share of [window_start, window_end] covered by data, 0..1
    stops: tuple[Stop, ...]
    trips: tuple[Trip, ...]


def analyse_track(
    pings: Sequence[TrackPoint],
    *,
    thresholds: TrackThresholds,
    window_start: datetime,
    window_end: datetime,
) -> TrackSummary:
    """Clean one rep's pings for one day and derive distance, gaps, coverage, stops, trips.

    window_start/window_end bound the working time for coverage only; every ping is
    analysed, so the caller decides which pings belong to the day.
    """
    ws, we = _to_us(window_start), _to_us(window_end)
    if we <= ws:
        raise ValueError("window_end must be after window_start")

    order, rejected, t, lat, lon, raw_distance = _clean(pings, thresholds)
    accepted = tuple(pings[i] for i in order.tolist())

    gap_us = round(thresholds.gap_minutes * _US_PER_MIN)
    gaps, coverage = _gaps_and_coverage(t, accepted, gap_us, ws, we)

    xyz = geo.to_ecef(lat=lat, lon=lon)
    spans = _find_stops(
        t,
        xyz,
        radius_m=thresholds.stop_radius_m,
        min_us=round(thresholds.stop_min_minutes * _US_PER_MIN),
    )
    stops = tuple(_make_stop(s, e, t, lat, lon, accepted, gap_us) for s, e in spans)
    trips = _trips(t, lat, lon, xyz, spans, stops, accepted, jitter_m=thresholds.jitter_m)

    return TrackSummary(
        accepted=accepted,
        rejected=tuple(sorted(rejected)),
        distance_m=float(sum(trip.distance_m for trip in trips)),
        raw_distance_m=raw_distance,
        gaps=gaps,
        coverage=coverage,
        stops=stops,
        trips=trips,
    )


def _to_us(at: datetime) -> int:
    # Naive datetimes would be read as server-local time: refuse rather than guess.
    if at.utcoffset() is None:
        raise ValueError(f"datetime {at!r} must be timezone-aware")
    return (at - _EPOCH) // _US


def _times_us(pings: Sequence[TrackPoint]) -> NDArray[np.int64]:
    # Inlined rather than calling _to_us per ping: this is a third of the run time.
    # Subtracting an aware epoch raises TypeError for naive datetimes, which is the check.
    try:
        return np.fromiter(((p.at - _EPOCH) // _US for p in pings), np.int64, len(pings))
    except TypeError:
        bad = next(
            (p.at for p in pings if not isinstance(p.at, datetime) or p.at.utcoffset() is None),
            None,
        )
        raise ValueError(f"ping times must be timezone-aware datetimes, got {bad!r}") from None


class _Cleaned(NamedTuple):
    order: NDArray[np.intp]  # input indices of the accepted pings, device-time order
    rejected: list[Rejection]
    t: NDArray[np.int64]  # accepted pings' device time, µs since the epoch
    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    raw_distance_m: float  # plain sum of consecutive geodesic segments


def _clean(pings: Sequence[TrackPoint], th: TrackThresholds) -> _Cleaned:
    """Reject invalid, too coarse, duplicate and too fast pings (module doc, points 1-2)."""
    n = len(pings)
    t = _times_us(pings)
    lat = np.fromiter((p.lat for p in pings), dtype=float, count=n)
    lon = np.fromiter((p.lon for p in pings), dtype=float, count=n)
    acc_none = np.fromiter((p.accuracy_m is None for p in pings), dtype=bool, count=n)
    acc = np.fromiter(
        (0.0 if p.accuracy_m is None else p.accuracy_m for p in pings), dtype=float, count=n
    )

    rejected: list[Rejection] = []
    invalid = ~geo.valid_lat_lon_mask(lat, lon) | np.isnan(acc) | (acc < 0)
    too_coarse = ~invalid & (acc > th.max_accuracy_m)
    rejected += [Rejection(int(i), "invalid") for i in np.flatnonzero(invalid)]
    rejected += [Rejection(int(i), "accuracy") for i in np.flatnonzero(too_coarse)]

    idx = np.flatnonzero(~invalid & ~too_coarse)
    # Canonical order: time, then the best accuracy first (unknown counts as worst),
    # then position, so the ping kept among same-time copies depends only on content.
    # The input index breaks exact ties, which only decides which identical copy is
    # reported as "duplicate".
    acc_rank = np.where(acc[idx] > 0, acc[idx], np.inf)
    sort = np.lexsort((idx, acc_none[idx], lon[idx], lat[idx], acc_rank, t[idx]))
    idx = idx[sort]
    dup = np.zeros(idx.size, dtype=bool)
    dup[1:] = t[idx[1:]] == t[idx[:-1]]
    rejected += [Rejection(int(i), "duplicate") for i in idx[dup]]
    idx = idx[~dup]

    keep, seg = _speed_keep(t[idx], lat[idx], lon[idx], th.max_speed_kmh)
    rejected += [Rejection(int(i), "speed") for i in idx[~keep]]
    idx = idx[keep]
    a_lat, a_lon = lat[idx], lon[idx]
    # The consecutive segments are already known unless the speed filter removed pings.
    if not keep.all():
        seg = geo.segment_lengths_m(lat=a_lat, lon=a_lon)
    return _Cleaned(idx, rejected, t[idx], a_lat, a_lon, float(seg.sum()))


def _kmh(d_m: float, dt_us: float) -> float:
    return d_m * 3.6e6 / dt_us


def _speed_keep(
    t: NDArray[np.int64], lat: NDArray[np.float64], lon: NDArray[np.float64], max_kmh: float
) -> tuple[NDArray[np.bool_], NDArray[np.float64]]:
    """Speed filter anchored on the longest plausible run (see module doc, point 2).

    Returns the keep mask and the consecutive segment lengths of the input."""
    n = t.size
    keep = np.ones(n, dtype=bool)
    seg = geo.segment_lengths_m(lat=lat, lon=lon)
    if n < 2:
        return keep, seg
    # Time is strictly increasing here: duplicates are gone.
    ok = seg * 3.6e6 / np.diff(t) <= max_kmh
    if ok.all():
        return keep, seg

    breaks = np.flatnonzero(~ok)
    starts = np.concatenate(([0], breaks + 1))
    ends = np.concatenate((breaks, [n - 1]))
    best = int(np.argmax(ends - starts))  # argmax takes the earliest on ties
    s, e = int(starts[best]), int(ends[best])
    keep[:] = False
    keep[s : e + 1] = True

    ok_l, t_l, lat_l, lon_l = ok.tolist(), t.tolist(), lat.tolist(), lon.tolist()

    def plausible(a: int, b: int) -> bool:
        if b == a + 1:
            return ok_l[a]
        d = geo.distance_m(lat1=lat_l[a], lon1=lon_l[a], lat2=lat_l[b], lon2=lon_l[b])
        return _kmh(d, t_l[b] - t_l[a]) <= max_kmh

    last = e
    for i in range(e + 1, n):
        if plausible(last, i):
            keep[i] = True
            last = i
    first = s
    for i in range(s - 1, -1, -1):
        if plausible(i, first):
            keep[i] = True
            first = i
    return keep, seg


def _gaps_and_coverage(
    t: NDArray[np.int64],
    accepted: tuple[TrackPoint, ...],
    gap_us: int,
    ws: int,
    we: int,
) -> tuple[tuple[Gap, ...], float]:
    if t.size < 2:
        return (), 0.0
    dt = np.diff(t)
    is_gap = dt > gap_us
    gaps = tuple(
        Gap(start=accepted[k].at, end=accepted[k + 1].at, minutes=float(dt[k]) / _US_PER_MIN)
        for k in np.flatnonzero(is_gap).tolist()
    )
    # Intervals between consecutive pings are disjoint, so their union is their sum.
    lo = np.maximum(t[:-1], ws)
    hi = np.minimum(t[1:], we)
    covered = np.clip(hi - lo, 0, None)[~is_gap].sum()
    return gaps, float(covered) / (we - ws)


def _find_stops(
    t: NDArray[np.int64], xyz: NDArray[np.float64], *, radius_m: float, min_us: int
) -> list[tuple[int, int]]:
    """(first, last) index pairs of stops, Li et al. sliding algorithm (module doc, point 3)."""
    n = t.size
    if n < 2:
        return []
    r2 = radius_m * radius_m
    # Necessary condition, for all anchors at once: the first ping min_us after the
    # anchor must itself be inside the radius. Skipping anchors that fail it is exactly
    # what Li's loop would do (i += 1), only without computing their distances.
    j = np.searchsorted(t, t + min_us, side="left")
    idx = np.flatnonzero(j < n)
    diff = xyz[j[idx]] - xyz[idx]
    cand = idx[np.einsum("ij,ij->i", diff, diff) <= r2]

    spans: list[tuple[int, int]] = []
    k = 0
    while k < cand.size:
        i = int(cand[k])
        out = _first_outside(xyz, i, r2)
        if t[out - 1] - t[i] >= min_us:
            spans.append((i, out - 1))
            k = int(np.searchsorted(cand, out, side="left"))
        else:
            k += 1
    return spans


def _first_outside(xyz: NDArray[np.float64], i: int, r2: float) -> int:
    """First index after i farther than the radius from xyz[i], or len(xyz)."""
    n = xyz.shape[0]
    s, size = i + 1, 64
    # Growing chunks: a long stay costs O(its length), a short one a single small step.
    while s < n:
        e = min(n, s + size)
        diff = xyz[s:e] - xyz[i]
        out = np.flatnonzero(np.einsum("ij,ij->i", diff, diff) > r2)
        if out.size:
            return s + int(out[0])
        s, size = e, size * 2
    return n


def _make_stop(
    s: int,
    e: int,
    t: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    accepted: tuple[TrackPoint, ...],
    gap_us: int,
) -> Stop:
    dt = np.diff(t[s : e + 1])
    gap_total = int(dt[dt > gap_us].sum())
    # Averaging longitudes as offsets from the anchor keeps a stop on the antimeridian
    # from averaging to the other side of the planet.
    dlon = (lon[s : e + 1] - lon[s] + 180.0) % 360.0 - 180.0
    c_lon = (lon[s] + float(dlon.mean()) + 180.0) % 360.0 - 180.0
    return Stop(
        start=accepted[s].at,
        end=accepted[e].at,
        lat=float(lat[s : e + 1].mean()),
        lon=float(c_lon),
        n_pings=e - s + 1,
        spans_gap=gap_total > 0,
        gap_minutes=gap_total / _US_PER_MIN,
    )


def _trips(
    t: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    xyz: NDArray[np.float64],
    spans: list[tuple[int, int]],
    stops: tuple[Stop, ...],
    accepted: tuple[TrackPoint, ...],
    *,
    jitter_m: float,
) -> tuple[Trip, ...]:
    """Movement between day start, stops and day end, with jitter suppressed (point 4)."""
    n = t.size
    if n < 2:
        return ()
    x, y, z = xyz[:, 0].tolist(), xyz[:, 1].tolist(), xyz[:, 2].tolist()
    lat_l, lon_l = lat.tolist(), lon.tolist()
    j2 = jitter_m * jitter_m

    # Each trip: (first ping index, last ping index, vertex lats, vertex lons, n moving pings).
    # A stop enters a trip as its centroid, so its own pings add nothing.
    specs: list[tuple[int, int, list[float], list[float], int]] = []

    def build(
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
        vlat: list[float] = []
        vlon: list[float] = []
        if start_vertex is None:
            vlat.append(lat_l[lo])
            vlon.append(lon_l[lo])
            ax, ay, az = x[lo], y[lo], z[lo]
            moving_from = lo + 1
        else:
            vlat.append(start_vertex[0])
            vlon.append(start_vertex[1])
            ax, ay, az = geo.to_ecef(lat=start_vertex[0], lon=start_vertex[1]).tolist()
            moving_from = lo
        for k in range(moving_from, hi):
            dx, dy, dz = x[k] - ax, y[k] - ay, z[k] - az
            if dx * dx + dy * dy + dz * dz >= j2:
                vlat.append(lat_l[k])
                vlon.append(lon_l[k])
                ax, ay, az = x[k], y[k], z[k]
        if end_vertex is not None:
            vlat.append(end_vertex[0])
            vlon.append(end_vertex[1])
        specs.append((i_start, i_end, vlat, vlon, hi - lo))

    prev_end: int | None = None
    prev_centroid: tuple[float, float] | None = None
    for (s, e), stop in zip(spans, stops, strict=True):
        centroid = (stop.lat, stop.lon)
        if prev_end is None:
            build(None, 0, s, centroid, 0, s)
        else:
            build(prev_centroid, prev_end + 1, s, centroid, prev_end, s)
        prev_end, prev_centroid = e, centroid
    if prev_end is None:
        build(None, 0, n, None, 0, n - 1)
    else:
        build(prev_centroid, prev_end + 1, n, None, prev_end, n - 1)

    # One batched geodesic call for every segment of every trip.
    seg_lat1: list[float] = []
    seg_lon1: list[float] = []
    seg_lat2: list[float] = []
    seg_lon2: list[float] = []
    seg_trip: list[int] = []
    for number, (_, _, vlat, vlon, _) in enumerate(specs):
        seg_lat1 += vlat[:-1]
        seg_lon1 += vlon[:-1]
        seg_lat2 += vlat[1:]
        seg_lon2 += vlon[1:]
        seg_trip += [number] * (len(vlat) - 1)
    d = geo.distances_m(lat1=seg_lat1, lon1=seg_lon1, lat2=seg_lat2, lon2=seg_lon2)
    per_trip = np.bincount(np.asarray(seg_trip, dtype=np.intp), weights=d, minlength=len(specs))

    return tuple(
        Trip(
            start=accepted[i0].at,
            end=accepted[i1].at,
            distance_m=float(per_trip[number]),
            n_pings=n_moving,
        )
        for number, (i0, i1, _, _, n_moving) in enumerate(specs)
    )
