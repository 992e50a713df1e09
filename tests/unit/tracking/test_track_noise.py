"""A phone's own noise is not movement: seeded jitter, excursions and split stays.

Jitter is Gaussian per axis (10, 20, 30 and 43 m: the last is still accepted at the
default max_accuracy_m of 100 m); each fix reports its accuracy as a phone does, the
68 % radius (1.51 σ), varied by ±15 % from fix to fix. Targets (issue 13, items 1-2): a
stationary phone adds at most 50 m per hour and stays one stop; a 3 km/h walk of 500 m
counts at least 95 %.
"""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from sfa import geo
from sfa.tracking.fit import ACCURACY_PER_SIGMA
from sfa.tracking.track import TrackPoint, TrackSummary, TrackThresholds, analyse_track

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
SHOP = (-6.2000, 106.8166)  # Jakarta
DEFAULT = TrackThresholds()
JITTER_M = (10.0, 20.0, 30.0, 43.0)
SEEDS = range(8)


def at_offset(origin: tuple[float, float], east_m, north_m) -> tuple[np.ndarray, np.ndarray]:
    """Points east/north of origin along geodesics (exact at any latitude)."""
    east_m, north_m = np.broadcast_arrays(np.asarray(east_m, float), np.asarray(north_m, float))
    azimuth = np.degrees(np.arctan2(east_m, north_m))
    dist = np.hypot(east_m, north_m)
    lon, lat, _ = geo.GEOD.fwd(
        np.full(dist.size, origin[1]), np.full(dist.size, origin[0]), azimuth, dist
    )
    return np.asarray(lat), np.asarray(lon)


def fixes(
    seconds,
    east_m,
    north_m,
    *,
    jitter_m: float,
    seed: int,
    accuracy_m: float | None = -1.0,
    origin=SHOP,
) -> list[TrackPoint]:
    """True positions east/north of origin plus jitter; accuracy -1 means "as a phone"."""
    rng = np.random.default_rng(seed)
    seconds = np.asarray(seconds, float)
    n = seconds.size
    east = np.asarray(east_m, float) + rng.normal(0.0, jitter_m, n)
    north = np.asarray(north_m, float) + rng.normal(0.0, jitter_m, n)
    if accuracy_m == -1.0:
        acc = np.round(ACCURACY_PER_SIGMA * jitter_m * np.exp(rng.normal(0.0, 0.15, n)), 1)
    else:
        acc = np.full(n, accuracy_m)
    lat, lon = at_offset(origin, east, north)
    return [
        TrackPoint(at=T0 + timedelta(seconds=float(s)), lat=float(a), lon=float(o), accuracy_m=c)
        for s, a, o, c in zip(seconds, lat, lon, acc.tolist(), strict=True)
    ]


def analyse(pings, thresholds=DEFAULT) -> TrackSummary:
    return analyse_track(
        pings,
        thresholds=thresholds,
        window_start=min(p.at for p in pings),
        window_end=max(p.at for p in pings) + timedelta(seconds=1),
    )


def stationary(jitter_m: float, seed: int, *, hours=2.0, every_s=10.0, **kw) -> list[TrackPoint]:
    seconds = np.arange(0.0, hours * 3600 + 1, every_s)
    return fixes(seconds, 0.0, 0.0, jitter_m=jitter_m, seed=seed, **kw)


def walk(jitter_m: float, seed: int, *, stay_minutes: float, kmh=3.0, length_m=500.0):
    """A walk east at `kmh`, with a stay of `stay_minutes` at each end, fixes every 10 s."""
    speed = kmh / 3.6
    duration = length_m / speed
    seconds = np.arange(0.0, duration + 2 * stay_minutes * 60 + 1, 10.0)
    east = np.clip(seconds - stay_minutes * 60, 0.0, duration) * speed
    return fixes(seconds, east, 0.0, jitter_m=jitter_m, seed=seed)


# ---------------------------------------------------------------- stationary


@pytest.mark.parametrize("jitter_m", JITTER_M)
def test_a_stationary_phone_adds_at_most_50_m_per_hour_and_is_one_stop(jitter_m):
    for seed in SEEDS:
        pings = stationary(jitter_m, seed)
        s = analyse(pings)
        # At σ 43 m a phone reports ~65 m, a few fixes above max_accuracy_m (100 m).
        assert {r.reason for r in s.rejected} <= {"accuracy"}
        assert len(s.rejected) <= 0.01 * len(pings)
        assert len(s.stops) == 1, f"seed {seed}"
        assert s.distance_m <= 50 * 2, f"seed {seed}: {s.distance_m:.0f} m in 2 h"
        stop = s.stops[0]
        # The whole two hours, and a centre close to the true spot (σ/√n is ~1 m).
        assert (stop.start, stop.end) == (s.accepted[0].at, s.accepted[-1].at)
        d = geo.distance_m(lat1=stop.lat, lon1=stop.lon, lat2=SHOP[0], lon2=SHOP[1])
        assert d < 10, f"seed {seed}: centre {d:.1f} m off"


def test_stationary_jitter_that_the_phone_under_reports_stays_one_stop_up_to_30_m():
    # The measurement: accuracy 30 reported whatever the real jitter. Up to
    # 30 m per axis the fit still holds the stay together (43 m claimed as 30 is beyond
    # what the reported accuracy can explain).
    for jitter_m in (20.0, 30.0):
        for seed in SEEDS:
            s = analyse(stationary(jitter_m, seed, accuracy_m=30.0))
            assert len(s.stops) == 1, f"jitter {jitter_m}, seed {seed}"
            assert s.distance_m <= 100, f"jitter {jitter_m}, seed {seed}"


def test_a_single_far_fix_neither_splits_the_stop_nor_adds_distance():
    # 20 minutes of 10-s fixes at one place, accuracy 30, one fix 105 m (150 m) east at
    # 08:10: the old analysis made two stops and 210 m (300 m) of travel.
    for far_m in (105.0, 150.0):
        seconds = np.arange(0.0, 20 * 60 + 1, 10.0)
        east = np.where(seconds == 600.0, far_m, 0.0)
        for accuracy_m in (30.0, 8.0, None):  # also when the fix claims to be good
            s = analyse(fixes(seconds, east, 0.0, jitter_m=0.0, seed=0, accuracy_m=accuracy_m))
            assert len(s.stops) == 1, (far_m, accuracy_m)
            assert s.distance_m == 0.0, (far_m, accuracy_m)
            stop = s.stops[0]
            d = geo.distance_m(lat1=stop.lat, lon1=stop.lon, lat2=SHOP[0], lon2=SHOP[1])
            assert d < 1.0


def test_fixes_alternating_55_m_either_side_at_accuracy_60_are_one_stop():
    # Two hours, a fix every 30 s, alternately 55 m east and west (110 m apart, more
    # than the stop radius): the old analysis found no stop and 26 km.
    seconds = np.arange(0.0, 2 * 3600 + 1, 30.0)
    east = np.where(np.arange(seconds.size) % 2 == 0, 55.0, -55.0)
    s = analyse(fixes(seconds, east, 0.0, jitter_m=0.0, seed=0, accuracy_m=60.0))
    assert len(s.stops) == 1
    assert s.distance_m <= 100
    stop = s.stops[0]
    assert geo.distance_m(lat1=stop.lat, lon1=stop.lon, lat2=SHOP[0], lon2=SHOP[1]) < 15


# ---------------------------------------------------------------- slow movement


@pytest.mark.parametrize("jitter_m", JITTER_M)
def test_a_3_kmh_walk_of_500_m_between_two_shops_counts(jitter_m):
    # A rep walks from one shop to the next, 500 m away, staying 10 minutes at each.
    for seed in SEEDS:
        s = analyse(walk(jitter_m, seed, stay_minutes=10))
        assert len(s.stops) == 2, f"seed {seed}"
        assert 0.95 * 500 <= s.distance_m <= 1.10 * 500, f"seed {seed}: {s.distance_m:.0f} m"
        assert len(s.trips) == 1  # from the first shop to the second


def test_a_3_kmh_walk_alone_counts():
    # Only the walk, nothing before or after it: each end is known from the fixes on one
    # side only (a fitted end is uncertain by ~2σ/√7: 15-33 m at σ 20-43 m), so single
    # seeds may fall short of 95 % by chance; over many seeds the walk is not shortened.
    # Measured (24 seeds): mean 513/498/500/507 m, lowest 487/465/404/415 m.
    for jitter_m in JITTER_M:
        measured = [analyse(walk(jitter_m, seed, stay_minutes=0)).distance_m for seed in range(24)]
        assert 0.95 * 500 <= np.mean(measured) <= 1.05 * 500, jitter_m
        if jitter_m <= 10:
            assert min(measured) >= 0.95 * 500, jitter_m


def test_a_slow_drift_is_never_a_stop():
    # 2.5 km/h for 10 minutes (417 m) from the first fix; 2 km/h between two shops.
    # (Limit: at σ 30-43 m a 2 km/h drift right at the start of the data, where a fitted
    # position rests on one side's fixes only, can still fit a 5-minute stop.)
    for jitter_m in JITTER_M:
        for seed in range(4):
            alone = walk(jitter_m, seed, stay_minutes=0, kmh=2.5, length_m=2.5 / 3.6 * 600)
            assert analyse(alone).stops == (), (jitter_m, seed)
            between = walk(jitter_m, seed, stay_minutes=10, kmh=2.0, length_m=2.0 / 3.6 * 600)
            assert len(analyse(between).stops) == 2, (jitter_m, seed)


# ---------------------------------------------------------------- split stays


def test_arriving_at_30_kmh_into_a_25_minute_stay_is_one_stop():
    # 5-s fixes; drive 2 km in at 30 km/h, stay 25 min with 8 m jitter, drive 2 km out.
    # The old analysis made two stops 10 s apart with centres 1.6 m apart (the first
    # anchored on a ping still arriving), so the second had no visit.
    speed = 30 / 3.6
    drive_s = 2000 / speed
    seconds = np.arange(0.0, 2 * drive_s + 25 * 60 + 1, 5.0)
    staying = (seconds >= drive_s) & (seconds <= drive_s + 1500)
    east = np.where(
        seconds < drive_s,
        -2000 + seconds * speed,
        np.where(staying, 0.0, (seconds - drive_s - 1500) * speed),
    )
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        jitter = np.where(staying, 8.0, 3.0)
        e = east + rng.normal(0, 1, seconds.size) * jitter
        n = rng.normal(0, 1, seconds.size) * jitter
        lat, lon = at_offset(SHOP, e, n)
        pings = [
            TrackPoint(at=T0 + timedelta(seconds=float(t)), lat=a, lon=o, accuracy_m=round(1.5 * j))
            for t, a, o, j in zip(seconds, lat.tolist(), lon.tolist(), jitter, strict=True)
        ]
        s = analyse(pings)
        assert len(s.stops) == 1, f"seed {seed}"
        assert s.stops[0].minutes == pytest.approx(25, abs=0.6)
        assert s.distance_m == pytest.approx(4000, rel=0.02)


def test_two_shops_with_a_real_trip_between_them_stay_two_stops():
    # 10 min at a shop, 1 km away and back (6 min), 10 min at the same shop again: the
    # trip is real, so the two stays are not merged.
    seconds = np.arange(0.0, 26 * 60 + 1, 10.0)
    out = (seconds > 600) & (seconds < 960)
    east = np.where(out, 1000 * np.sin(np.pi * (seconds - 600) / 360), 0.0)
    s = analyse(fixes(seconds, east, 0.0, jitter_m=5.0, seed=1))
    assert len(s.stops) == 2
    assert s.distance_m == pytest.approx(2000, rel=0.05)


# ---------------------------------------------------------------- the invariants


def _invariant_outcome(s: TrackSummary):
    return (s.accepted, s.distance_m, s.stops, s.trips, s.gaps, s.coverage)


@pytest.mark.parametrize(
    "origin",
    [(-0.0005, 179.9997), (89.9997, 0.0), (-89.9997, 45.0), SHOP],
    ids=["antimeridian", "north-pole", "south-pole", "jakarta"],
)
def test_noisy_stays_on_the_antimeridian_and_the_poles(origin):
    # One hour still with 30 m jitter around a point the jitter pushes across ±180° or
    # over the pole, then a 1 km drive east (north of the pole "east" is any way).
    seconds = np.arange(0.0, 3600 + 121, 10.0)
    east = np.clip(seconds - 3600, 0, None) * (1000 / 120)
    still = fixes(seconds[seconds <= 3600], 0.0, 0.0, jitter_m=30.0, seed=3, origin=origin)
    moving = fixes(
        seconds[seconds > 3600], east[seconds > 3600], 0.0, jitter_m=3.0, seed=4, origin=origin
    )
    pings = still + moving
    s = analyse(pings)
    assert len(s.stops) == 1
    stop = s.stops[0]
    assert geo.distance_m(lat1=stop.lat, lon1=stop.lon, lat2=origin[0], lon2=origin[1]) < 10
    assert -180 <= stop.lon <= 180 and -90 <= stop.lat <= 90
    assert s.distance_m == pytest.approx(1000, abs=60)
    # Arrival order and repetition change nothing.
    rng = np.random.default_rng(9)
    variant = pings + pings[::4]
    rng.shuffle(variant)
    assert _invariant_outcome(analyse(variant)) == _invariant_outcome(s)


def test_order_and_repetition_change_nothing_with_jitter_and_excursions():
    pings = walk(30.0, 5, stay_minutes=10)
    (lat,), (lon,) = at_offset(SHOP, [170.0], [0.0])
    pings[40] = TrackPoint(pings[40].at, float(lat), float(lon), 10.0)
    base = analyse(pings)
    rng = np.random.default_rng(11)
    for _ in range(5):
        variant = pings + pings[::3]
        rng.shuffle(variant)
        assert _invariant_outcome(analyse(variant)) == _invariant_outcome(base)


def test_accurate_and_unknown_fixes_are_analysed_as_they_are():
    # Nothing to smooth: the fitted positions are the fixes themselves, bit for bit.
    from sfa.tracking.fit import fit_positions

    t = np.arange(0, 600_000_000, 10_000_000, dtype=np.int64)
    lat, lon = at_offset(SHOP, np.linspace(0, 500, t.size), 0.0)
    for acc in (np.zeros(t.size), np.full(t.size, 7.0)):
        f = fit_positions(t, lat, lon, acc, radius_m=100.0)
        assert not f.moved.any()
        f_lat, f_lon = f.lat_lon(np.arange(t.size))
        assert f_lat.tolist() == lat.tolist() and f_lon.tolist() == lon.tolist()
        assert (f.sigma_m == (acc / ACCURACY_PER_SIGMA)).all()
    assert math.isclose(ACCURACY_PER_SIGMA, 1.5096, rel_tol=1e-4)


def test_two_shops_150_m_apart_stay_two_stops():
    # 15 minutes at each, a one-minute walk between (a market street): Li's anchor on the
    # way takes in the end of one stay and the start of the other, but the two are never
    # joined into one stop whose centre would lie beside neither shop.
    seconds = np.arange(0.0, 31 * 60 + 1, 10.0)
    east = np.clip((seconds - 15 * 60) * 2.5, 0.0, 150.0)
    for seed in range(4):
        s = analyse(fixes(seconds, east, 0.0, jitter_m=10.0, seed=seed))
        assert len(s.stops) == 2, seed
        for stop, shop_east in zip(s.stops, (0.0, 150.0), strict=True):
            lat, lon = at_offset(SHOP, [shop_east], [0.0])
            d = geo.distance_m(lat1=stop.lat, lon1=stop.lon, lat2=lat[0], lon2=lon[0])
            assert d < 20, (seed, d)
