"""Synthetic field days of sales reps, seeded and vectorised with numpy.

A day: leave home around 08:00, ride (15-40 km/h, with bends and traffic-light pauses of
under 2 minutes) to about 20 shops 0.3-2.5 km apart, stay 10-30 minutes in each, ride
home. Sampling is irregular (Poisson-like, sparser while standing still, like Android's
fused provider), some days have a gap of 16-35 minutes without data, every fix has phone
jitter scaled by its reported accuracy (worse indoors), 1 % of fixes are coarse
(accuracy 120-400 m), 0.3 % are multipath jumps of 150-800 m with a plausible accuracy,
and one day in ten starts with a stale fix from kilometres away.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np

TZ = ZoneInfo("Asia/Jakarta")
DAY = date(2025, 3, 4)  # a Tuesday; fixed so that runs are comparable
M_PER_DEG_LAT = 110_574.0


@dataclass
class Shop:
    lat: float
    lon: float
    arrive: float  # seconds since local midnight
    depart: float


@dataclass
class SyntheticDay:
    t_us: np.ndarray  # int64 microseconds since the epoch, ascending
    lat: np.ndarray
    lon: np.ndarray
    accuracy_m: np.ndarray
    shops: list[Shop]
    midnight_us: int  # local midnight of the day, µs since the epoch

    def instants(self) -> list[datetime]:
        epoch = datetime(1970, 1, 1, tzinfo=ZoneInfo("UTC"))
        return [epoch + timedelta(microseconds=int(u)) for u in self.t_us]


def _metres_to_deg(lat: float, north_m, east_m):
    return (
        np.asarray(north_m) / M_PER_DEG_LAT,
        np.asarray(east_m) / (M_PER_DEG_LAT * np.cos(np.radians(lat))),
    )


def make_day(
    seed: int, n_pings: int = 2000, day: date = DAY, centre: tuple[float, float] = (-6.2, 106.83)
) -> SyntheticDay:
    rng = np.random.default_rng(seed)
    home_lat = centre[0] + rng.uniform(-0.08, 0.08)
    home_lon = centre[1] + rng.uniform(-0.08, 0.08)

    # Timeline knots: (seconds since local midnight, lat, lon, moving?) of a piecewise-
    # linear path; between two knots with the same position the rep stands still.
    knots_t, knots_lat, knots_lon, moving = [], [], [], []

    def knot(t: float, la: float, lo: float, mv: bool) -> None:
        knots_t.append(t)
        knots_lat.append(la)
        knots_lon.append(lo)
        moving.append(mv)

    def ride(t: float, la: float, lo: float, to_la: float, to_lo: float) -> float:
        """Ride from (la, lo) to (to_la, to_lo) with bends and pauses; returns arrival."""
        speed = rng.uniform(15, 40) / 3.6
        n_bends = int(rng.integers(1, 4))
        fractions = np.sort(rng.uniform(0.15, 0.85, n_bends))
        d_north = (to_la - la) * M_PER_DEG_LAT
        d_east = (to_lo - lo) * M_PER_DEG_LAT * np.cos(np.radians(la))
        length = float(np.hypot(d_north, d_east)) or 1.0
        # Bends: points pushed sideways by up to 25 % of the leg, like a street grid.
        side = rng.uniform(-0.25, 0.25, n_bends) * length
        ux, uy = d_east / length, d_north / length
        pts = [(la, lo)]
        for f, s in zip(fractions, side, strict=True):
            dn, de = _metres_to_deg(la, f * d_north + s * ux, f * d_east - s * uy)
            pts.append((la + float(dn), lo + float(de)))
        pts.append((to_la, to_lo))
        cur = t
        for (a_la, a_lo), (b_la, b_lo) in itertools.pairwise(pts):
            dn = (b_la - a_la) * M_PER_DEG_LAT
            de = (b_lo - a_lo) * M_PER_DEG_LAT * np.cos(np.radians(a_la))
            cur += float(np.hypot(dn, de)) / speed
            knot(cur, b_la, b_lo, True)
            if rng.random() < 0.5:  # traffic light or jam: well under a stop
                cur += rng.uniform(20, 110)
                knot(cur, b_la, b_lo, False)
        return cur

    t = 8 * 3600 + rng.uniform(-20, 20) * 60
    knot(t, home_lat, home_lon, False)
    la, lo = home_lat, home_lon
    shops = []
    for _ in range(int(rng.integers(17, 24))):
        dist = rng.uniform(300, 2500)
        angle = rng.uniform(0, 2 * np.pi)
        dn, de = _metres_to_deg(la, dist * np.cos(angle), dist * np.sin(angle))
        s_la, s_lo = la + float(dn), lo + float(de)
        arrive = ride(t, la, lo, s_la, s_lo)
        depart = arrive + rng.uniform(10, 30) * 60
        knot(depart, s_la, s_lo, False)
        shops.append(Shop(s_la, s_lo, arrive, depart))
        t, la, lo = depart, s_la, s_lo
    end = ride(t, la, lo, home_lat, home_lon)
    knot(end + 60, home_lat, home_lon, False)

    kt = np.asarray(knots_t)
    start, stop = kt[0], kt[-1]
    # Sampling intensity per second: 1 while riding, 0.4 standing still, 0 inside a gap.
    grid = np.arange(start, stop, 1.0)
    seg = np.clip(np.searchsorted(kt, grid, side="right"), 1, len(kt) - 1)
    moving_arr = np.asarray(moving)
    intensity = np.where(moving_arr[seg], 1.0, 0.4)
    if rng.random() < 0.3:
        g0 = rng.uniform(start + 3600, stop - 3 * 3600)
        intensity[(grid >= g0) & (grid < g0 + rng.uniform(16, 35) * 60)] = 0.0
    cdf = np.cumsum(intensity)
    cdf /= cdf[-1]
    u = np.sort(rng.uniform(0, 1, n_pings))
    ts = np.interp(u, cdf, grid)
    ts = np.round(ts, 3)
    # Same-millisecond collisions are rare; nudge them so times stay unique.
    for _ in range(3):
        dup = np.flatnonzero(np.diff(ts) <= 0)
        if not dup.size:
            break
        ts[dup + 1] = ts[dup] + 0.001
    lat = np.interp(ts, kt, np.asarray(knots_lat))
    lon = np.interp(ts, kt, np.asarray(knots_lon))
    seg_t = np.clip(np.searchsorted(kt, ts, side="right"), 1, len(kt) - 1)
    still = ~moving_arr[seg_t]

    acc = np.where(still, rng.uniform(8, 35, n_pings), rng.uniform(4, 10, n_pings))
    err = rng.normal(0, 1, (2, n_pings)) * acc / 2
    coarse = rng.random(n_pings) < 0.01
    acc[coarse] = rng.uniform(120, 400, coarse.sum())
    err[:, coarse] = rng.normal(0, 1, (2, coarse.sum())) * acc[coarse]
    jump = ~coarse & (rng.random(n_pings) < 0.003)
    r = rng.uniform(150, 800, jump.sum())
    a = rng.uniform(0, 2 * np.pi, jump.sum())
    err[0, jump] = r * np.cos(a)
    err[1, jump] = r * np.sin(a)
    acc[jump] = rng.uniform(15, 60, jump.sum())
    dn, de = _metres_to_deg(centre[0], err[0], err[1])
    lat = lat + dn
    lon = lon + de
    if rng.random() < 0.1:  # stale first fix from last night, kilometres away
        dn, de = _metres_to_deg(centre[0], rng.uniform(5000, 15000), rng.uniform(-5000, 5000))
        lat[0] += float(dn)
        lon[0] += float(de)
        acc[0] = 12.0

    midnight = datetime.combine(day, time(), tzinfo=TZ)
    midnight_us = int(midnight.timestamp()) * 1_000_000
    t_us = midnight_us + np.round(ts * 1e6).astype(np.int64)
    return SyntheticDay(t_us, lat, lon, np.round(acc, 1), shops, midnight_us)
