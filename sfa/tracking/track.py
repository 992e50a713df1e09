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

3. Fitted positions (sfa.tracking.fit): single-fix excursions repaired, and fixes
   smoothed by their reported accuracy, so that a phone's own noise is not read as
   movement. Fixes of unknown accuracy, and accurate ones, are used as they are.

4. Stops (sfa.tracking.stops): Li et al. (2008) sliding staypoints on the fitted
   positions, with a margin for their uncertainty, then consecutive stops with no trip
   between them merged. The stop's times are its first and last ping inside: unlike
   trackintel we never extend a stop to the first ping outside, i.e. never into
   unobserved time. A stay still open at the end of the data is a stop too (a rep
   ending the day at a customer).
   Gaps: a gap (> gap_minutes without data) inside a stay does not split it. If the
   pings after the gap are still within stop_radius_m of the anchor the stop continues
   and is marked spans_gap=True with the total gap minutes inside it; otherwise the
   stop ends at its last ping before the gap. So a stay interrupted by a gap is never
   dropped (two halves each too short), and a stop merged across a gap is never silent.

5. Distance (sfa.tracking.trips): trips between day start, stops and day end; a stop's
   pings collapse to its centre, and a moving ping counts once it is farther than
   max(jitter_m, 2σ of its fitted position) from the last counted one. distance_m is
   the sum of the trips; raw_distance_m is the plain sum over consecutive accepted
   pings, for comparison.

All durations are differences of instants (UTC), never of wall-clock times.

Performance: geodesics are computed in batched pyproj calls; "is p within r of q"
tests (stop radius, jitter) use numpy on ECEF vectors, whose chord length equals the
WGS84 geodesic to < 1e-6 m at these scales (see sfa.geo.to_ecef); fitting is a few
vectorised numpy passes per day.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from sfa import geo
from sfa.tracking import stops as stop_detection
from sfa.tracking import trips as trip_building
from sfa.tracking.fit import Fitted, fit_positions

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
    lat: float  # robust centre of the stay (sfa.tracking.stops.centre)
    lon: float
    n_pings: int
    spans_gap: bool
    gap_minutes: float  # total minutes of gaps inside the stop, 0.0 when none

    @property
    def minutes(self) -> float:
        # Aware datetimes subtract as instants (UTC) only across time zones: two times of
        # the same zone subtract as wall-clock times, which is wrong across a DST change.
        return (_to_us(self.end) - _to_us(self.start)) / _US_PER_MIN


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

    cleaned = _clean(pings, thresholds)
    t = cleaned.t
    accepted = tuple(pings[i] for i in cleaned.order.tolist())

    gap_us = round(thresholds.gap_minutes * _US_PER_MIN)
    gaps, coverage = _gaps_and_coverage(t, accepted, gap_us, ws, we)

    fitted = fit_positions(
        t, cleaned.lat, cleaned.lon, cleaned.accuracy_m, radius_m=thresholds.stop_radius_m
    )
    spans, centres = stop_detection.find_stops(
        t,
        fitted.xyz,
        fitted.sigma_m,
        radius_m=thresholds.stop_radius_m,
        min_us=round(thresholds.stop_min_minutes * _US_PER_MIN),
    )
    stops = _make_stops(spans, centres, t, accepted, gap_us)
    trips = _trips(fitted, spans, stops, accepted, jitter_m=thresholds.jitter_m)

    return TrackSummary(
        accepted=accepted,
        rejected=tuple(sorted(cleaned.rejected)),
        distance_m=float(sum(trip.distance_m for trip in trips)),
        raw_distance_m=cleaned.raw_distance_m,
        gaps=gaps,
        coverage=coverage,
        stops=stops,
        trips=trips,
    )


@dataclass(frozen=True, slots=True)
class CleanTrack:
    accepted: tuple[TrackPoint, ...]  # device-time order
    rejected: tuple[Rejection, ...]  # by input index
    raw_distance_m: float


def clean_track(pings: Sequence[TrackPoint], *, thresholds: TrackThresholds) -> CleanTrack:
    """Steps 1-2 alone (cleaning and the speed filter): the accepted pings of a day
    whose stops, trips and distance are stored, for drawing its track without fitting
    and detecting again. The same pings as analyse_track's `accepted`."""
    cleaned = _clean(pings, thresholds)
    return CleanTrack(
        accepted=tuple(pings[i] for i in cleaned.order.tolist()),
        rejected=tuple(sorted(cleaned.rejected)),
        raw_distance_m=cleaned.raw_distance_m,
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
    accuracy_m: NDArray[np.float64]  # 0 where unknown
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
    return _Cleaned(idx, rejected, t[idx], a_lat, a_lon, acc[idx], float(seg.sum()))


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


def _make_stops(
    spans: list[stop_detection.Span],
    centres: list[NDArray[np.float64]],
    t: NDArray[np.int64],
    accepted: tuple[TrackPoint, ...],
    gap_us: int,
) -> tuple[Stop, ...]:
    if not spans:
        return ()
    lat, lon = geo.lat_lon_of_ecef(np.asarray(centres))
    # Gap time before each ping, summed per stop from one cumulative sum.
    dt = np.diff(t)
    gaps = np.concatenate(([0], np.cumsum(np.where(dt > gap_us, dt, 0))))
    stops = []
    for (s, e), c_lat, c_lon in zip(spans, lat.tolist(), lon.tolist(), strict=True):
        gap_total = int(gaps[e] - gaps[s])
        stops.append(
            Stop(
                start=accepted[s].at,
                end=accepted[e].at,
                lat=c_lat,
                lon=c_lon,
                n_pings=e - s + 1,
                spans_gap=gap_total > 0,
                gap_minutes=gap_total / _US_PER_MIN,
            )
        )
    return tuple(stops)


def _trips(
    fitted: Fitted,
    spans: list[stop_detection.Span],
    stops: tuple[Stop, ...],
    accepted: tuple[TrackPoint, ...],
    *,
    jitter_m: float,
) -> tuple[Trip, ...]:
    """Movement between day start, stops and day end (module doc, point 5)."""
    found = trip_building.trips(
        fitted,
        np.maximum(jitter_m, 2.0 * fitted.sigma_m),
        spans,
        [(stop.lat, stop.lon) for stop in stops],
    )
    return tuple(
        Trip(
            start=accepted[trip.first].at,
            end=accepted[trip.last].at,
            distance_m=trip.distance_m,
            n_pings=trip.n_moving,
        )
        for trip in found
    )
