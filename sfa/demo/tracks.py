"""A demo rep's phone track for one day: what a phone in a car in Jakarta reports.

The day is a sequence of legs (sfa.demo.history schedules them): stays (at a shop, at
lunch) and drives between them. A drive follows streets, not a straight line: along one
axis, then the other (a corner), with a few halts at traffic lights, at an average speed
that the schedule decided (city speeds, 18-28 km/h). A fix every 30 s (± 3 s).

What a phone adds, and the analysis must cope with (DESIGN §3 "Distance", "Stops"):
- Position error that wanders rather than jumps: an AR(1) process per axis (a fix 30 s
  later is strongly correlated with the last one), ~4 m outdoors while driving, ~8 m
  indoors in a shop; the reported accuracy follows the error's scale.
- Now and then a poor fix indoors: 30-60 m off, with an accuracy that says so (40-90 m).
- A gap on some days: the app killed or no signal for 17-25 minutes over lunch.
Speed and bearing are what the phone would compute: the speed along the road while
moving, 0 when stopped; no bearing when stopped.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

PING_SECONDS = 30
_M_PER_DEG = 111_320.0
_RHO = 0.92  # correlation of the position error between fixes 30 s apart
_SIGMA_MOVING_M = 4.0
_SIGMA_INDOORS_M = 8.0
_POOR_FIX_SHARE = 0.004


@dataclass
class Leg:
    start: datetime
    end: datetime
    a: tuple[float, float]  # (lat, lon)
    b: tuple[float, float]
    corner: tuple[float, float] | None = None
    halts: list[tuple[float, float]] = field(default_factory=list)  # (moving s, halt s)

    @property
    def moving(self) -> bool:
        return self.a != self.b

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    north = (b[0] - a[0]) * _M_PER_DEG
    east = (b[1] - a[1]) * _M_PER_DEG * math.cos(math.radians(a[0]))
    return math.hypot(north, east)


def drive(rng: random.Random, start: datetime, end: datetime, a: tuple, b: tuple) -> Leg:
    """A drive from a to b: one corner (north-south first or east-west first) and 0-3
    halts at lights that take no more than a third of the time."""
    corner = (b[0], a[1]) if rng.random() < 0.5 else (a[0], b[1])
    leg = Leg(start, end, a, b, corner=corner)
    budget = leg.seconds / 3
    for _ in range(rng.randint(0, 3)):
        halt = rng.uniform(20, 75)
        if halt > budget:
            break
        budget -= halt
        leg.halts.append((rng.uniform(0, 1), halt))  # (share of the moving time, seconds)
    leg.halts.sort()
    return leg


class PhoneTrack:
    """The day's legs, where the phone really is at any instant, and its pings."""

    def __init__(self, legs: list[Leg], seed: int):
        self.legs = legs
        self.seed = seed
        self.gaps: list[tuple[datetime, datetime]] = []

    def add_gap(self, start: datetime, minutes: float) -> None:
        self.gaps.append((start, start + timedelta(minutes=minutes)))

    # --- where the phone is ---------------------------------------------------------

    def _moving_share(self, leg: Leg, elapsed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(share of the road covered, halted?) after `elapsed` seconds of the leg."""
        halted_s = sum(h for _, h in leg.halts)
        moving_s = max(leg.seconds - halted_s, 1.0)
        moved = elapsed.astype(float).copy()
        halted = np.zeros(elapsed.shape, dtype=bool)
        offset = 0.0  # halting seconds before the current halt
        for share, seconds in leg.halts:
            begin = share * moving_s + offset
            inside = (elapsed >= begin) & (elapsed < begin + seconds)
            halted |= inside
            moved -= np.clip(elapsed - begin, 0, seconds)
            offset += seconds
        return np.clip(moved / moving_s, 0, 1), halted

    def _along(self, leg: Leg, share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        corner = leg.corner or leg.b
        first = _metres(leg.a, corner)
        total = max(first + _metres(corner, leg.b), 1e-9)
        split = first / total
        lat = np.where(
            share <= split,
            leg.a[0]
            + (corner[0] - leg.a[0])
            * np.divide(share, split, where=split > 0, out=np.ones_like(share)),
            corner[0] + (leg.b[0] - corner[0]) * (share - split) / max(1 - split, 1e-9),
        )
        lon = np.where(
            share <= split,
            leg.a[1]
            + (corner[1] - leg.a[1])
            * np.divide(share, split, where=split > 0, out=np.ones_like(share)),
            corner[1] + (leg.b[1] - corner[1]) * (share - split) / max(1 - split, 1e-9),
        )
        return lat, lon

    def positions(self, times: list[datetime]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lat, lon, moving) of the phone at these instants (no error added)."""
        lat = np.empty(len(times))
        lon = np.empty(len(times))
        moving = np.zeros(len(times), dtype=bool)
        if not times:
            return lat, lon, moving
        t0 = self.legs[0].start
        secs = np.array([(t - t0).total_seconds() for t in times])
        lat[:], lon[:] = self.legs[-1].b
        done = np.zeros(len(times), dtype=bool)
        for leg in self.legs:
            begin = (leg.start - t0).total_seconds()
            end = (leg.end - t0).total_seconds()
            mask = ~done & (secs >= begin) & (secs <= end)
            if not mask.any():
                continue
            done |= mask
            if not leg.moving:
                lat[mask], lon[mask] = leg.a
                continue
            share, halted = self._moving_share(leg, secs[mask] - begin)
            lat[mask], lon[mask] = self._along(leg, share)
            moving[mask] = ~halted
        return lat, lon, moving

    def position_at(self, at: datetime) -> tuple[float, float]:
        lat, lon, _ = self.positions([at])
        return float(lat[0]), float(lon[0])

    # --- what the phone reports -----------------------------------------------------

    def pings(self, until: datetime | None = None, skew: timedelta = timedelta()) -> list[tuple]:
        """(device time, lat, lon, accuracy_m, speed_mps, bearing, battery_pct) per fix,
        from the first leg to `until` (or the last leg's end); `skew`: a fast clock."""
        rng = np.random.default_rng(self.seed)
        start = self.legs[0].start
        end = until or self.legs[-1].end
        total = max((end - start).total_seconds(), 1.0)
        steps = rng.uniform(PING_SECONDS - 3, PING_SECONDS + 3, int(total / 27) + 2)
        offsets = np.concatenate([[0.0], np.cumsum(steps)])
        offsets = offsets[offsets <= total]
        times = [start + timedelta(seconds=float(s)) for s in offsets]
        lat, lon, moving = self.positions(times)
        sigma = np.where(moving, _SIGMA_MOVING_M, _SIGMA_INDOORS_M)
        error = np.zeros((len(times), 2))
        shocks = rng.normal(0, 1, (len(times), 2))
        scale = math.sqrt(1 - _RHO**2)
        for i in range(len(times)):
            previous = error[i - 1] if i else shocks[0] * sigma[0]
            error[i] = _RHO * previous + scale * sigma[i] * shocks[i]
        accuracy = np.clip(1.5 * sigma + rng.normal(0, 1.5, len(times)), 3, 60)
        poor = ~moving & (rng.random(len(times)) < _POOR_FIX_SHARE)
        if poor.any():
            angle = rng.uniform(0, 2 * math.pi, poor.sum())
            metres = rng.uniform(30, 60, poor.sum())
            error[poor] = np.column_stack([np.cos(angle), np.sin(angle)]) * metres[:, None]
            accuracy[poor] = rng.uniform(40, 90, poor.sum())
        cos_lat = np.cos(np.radians(lat))
        lat_out = lat + error[:, 0] / _M_PER_DEG
        lon_out = lon + error[:, 1] / (_M_PER_DEG * cos_lat)
        speed, bearing = self._speed_and_bearing(lat, lon, offsets, moving, rng)
        battery = 96 - 48 * offsets / total
        rows = []
        for i, at in enumerate(times):
            if any(g0 <= at < g1 for g0, g1 in self.gaps):
                continue
            rows.append(
                (
                    at + skew,
                    float(lat_out[i]),
                    float(lon_out[i]),
                    round(float(accuracy[i]), 1),
                    round(float(speed[i]), 1),
                    None if bearing[i] is None else round(float(bearing[i])),
                    round(float(battery[i]), 1),
                )
            )
        return rows

    @staticmethod
    def _speed_and_bearing(lat, lon, offsets, moving, rng):
        """The phone's own speed (from its motion) and heading; none while stopped."""
        n = len(offsets)
        speed = np.zeros(n)
        bearing: list[float | None] = [None] * n
        for i in range(1, n):
            if not moving[i]:
                continue
            north = (lat[i] - lat[i - 1]) * _M_PER_DEG
            east = (lon[i] - lon[i - 1]) * _M_PER_DEG * math.cos(math.radians(lat[i]))
            seconds = max(offsets[i] - offsets[i - 1], 1.0)
            speed[i] = max(0.0, math.hypot(north, east) / seconds * rng.normal(1, 0.05))
            bearing[i] = math.degrees(math.atan2(east, north)) % 360
        return speed, bearing
