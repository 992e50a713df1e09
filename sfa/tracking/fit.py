"""Where the phone most likely was: fitted positions from noisy fixes (pure numpy).

A phone's fix is its true position plus an error the phone itself estimates: Android's
`accuracy` (and iOS's `horizontalAccuracy`) is the radius of 68 % confidence, which for
a two-dimensional Gaussian error is 1.51 σ per axis. Stop detection and distance work on
fitted positions, not on the raw fixes, in two steps:

1. Excursions. A single fix that leaves the stop radius and comes straight back (both of
   its legs longer than the radius, its two neighbours within the radius of each other
   and at most a minute apart) is multipath, whatever accuracy it claims: it is moved to
   the midpoint of its neighbours. No real trip leaves and returns that way, and at
   walking or parking speed the neighbours show that the phone did not go anywhere.
2. Smoothing by the reported accuracy. Each fix is replaced by an accuracy-weighted
   local linear fit (weights 1/σ²) over the 2m+1 fixes around it, m chosen so that the
   fit's σ is about TARGET_SIGMA_M, capped at ±MAX_HALF_WINDOW_S in time. A linear fit,
   not a mean, so that steady movement is not pulled back (a mean lags by half its
   window at the start and end of a walk); where the window is centred the two agree.
   Fixes as accurate as the target, and fixes of unknown accuracy, are left as they are.

Why this and not the other candidates (measured on seeded jitter of 10/20/30/43 m per
axis with phone-like accuracies, ten seeds each; the table is in docs/gps-noise.md):
- before, two stationary hours added 0 / 22 / 1,087 / 20,231 m per hour and split into
  up to 9 stops; a 500 m walk between two shops counted 1.4-29 times;
- an accuracy-aware radius on the raw fixes must grow to ~190 m to hold σ 43 m, and a
  3 km/h walk then fits a 5-minute "stop" (walks counted at 98-470 %);
- a robust centre (running median) alone still lets 30-43 m jitter leave a 100 m radius
  (up to 5 km per hour, 10 stops) and does nothing for the distance;
- hysteresis on the distance alone (count a move once it exceeds 2σ) still adds up to
  12 km per hour at σ 43 m;
- a constant-velocity Kalman filter + RTS smoother meets the targets as well (walks
  100-140 % at q = 0.1), but it is a per-fix Python loop, 40-60 times the cost of this
  fit, which would lose the stop detection's ≥ 20× lead over trackintel;
- this fit: 0 m per hour and one stop at every level, walks between shops 98-109 %.
The fitted positions' σ (`sigma_m`) goes on to stop detection (a small margin on the
radius) and to the distance (a move counts once it exceeds 2σ).
"""

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from sfa import geo

# Reported accuracy (68 % radius) per σ of each axis of a 2-D Gaussian: sqrt(-2 ln 0.32).
ACCURACY_PER_SIGMA = math.sqrt(-2.0 * math.log(1.0 - 0.68))
TARGET_SIGMA_M = 5.0
MAX_HALF_WINDOW_S = 60.0
# How a fix of unknown accuracy weighs beside known ones (it is never smoothed itself).
_UNKNOWN_SIGMA_M = 10.0
_EXCURSION_SPAN_US = 60_000_000


class Fitted(NamedTuple):
    xyz: NDArray[np.float64]  # fitted ECEF positions, shape (n, 3)
    sigma_m: NDArray[np.float64]  # σ per axis of each fitted position; 0 when unknown
    moved: NDArray[np.bool_]  # the positions that differ from their fix
    fix_lat: NDArray[np.float64]  # the fixes themselves
    fix_lon: NDArray[np.float64]

    def lat_lon(self, index: NDArray[np.intp]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """(lat, lon) of the fitted positions at `index`: a fix's own coordinates where it
        was not moved (bit for bit), converted from ECEF where it was. Only the positions
        that are needed are converted (trip vertices: a small share of a day)."""
        lat, lon = self.fix_lat[index], self.fix_lon[index]
        moved = self.moved[index]
        if moved.any():
            lat[moved], lon[moved] = geo.lat_lon_of_ecef(self.xyz[index[moved]])
        return lat, lon


def fit_positions(
    t: NDArray[np.int64],
    lat: NDArray[np.float64],
    lon: NDArray[np.float64],
    accuracy_m: NDArray[np.float64],
    *,
    radius_m: float,
) -> Fitted:
    """Fitted positions of cleaned fixes in time order (see the module doc).

    `accuracy_m` is 0 where unknown."""
    xyz = geo.to_ecef(lat=lat, lon=lon)
    known = accuracy_m > 0
    sigma = np.where(known, accuracy_m / ACCURACY_PER_SIGMA, 0.0)
    moved = _repair_excursions(t, xyz, radius_m)
    if (known & (sigma > TARGET_SIGMA_M)).any():
        xyz, sigma, smoothed = _local_linear(t, xyz, sigma, known)
        moved |= smoothed
    return Fitted(xyz, sigma, moved, lat, lon)


def _repair_excursions(t: NDArray[np.int64], xyz: NDArray[np.float64], radius_m: float):
    """Move single-fix excursions (module doc, step 1) in place; returns the moved mask."""
    n = t.size
    moved = np.zeros(n, dtype=bool)
    if n < 3:
        return moved
    before, fix, after = xyz[:-2], xyz[1:-1], xyz[2:]
    r2 = radius_m * radius_m
    out = (
        (_sq(fix - before) > r2)
        & (_sq(after - fix) > r2)
        & (_sq(after - before) <= r2)
        & (t[2:] - t[:-2] <= _EXCURSION_SPAN_US)
    )
    candidates = np.flatnonzero(out) + 1
    # Two neighbouring candidates are a jump there and back, not two excursions: the
    # first one (in time order) is the excursion, and its repair settles the second.
    keep = (
        candidates[np.concatenate(([True], np.diff(candidates) > 1))]
        if candidates.size
        else candidates
    )
    xyz[keep] = (xyz[keep - 1] + xyz[keep + 1]) / 2.0
    moved[keep] = True
    return moved


def _sq(d: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.einsum("ij,ij->i", d, d)


def _local_linear(
    t: NDArray[np.int64], xyz: NDArray[np.float64], sigma: NDArray[np.float64], known
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """Accuracy-weighted local linear fit of each fix that needs one (module doc, step 2).

    Window sums come from one cumulative sum, so the whole day costs a few numpy passes.
    Coordinates and times are taken relative to the first fix, and each window's time
    moments relative to its own fix, to keep cancellation far below a millimetre."""
    n = t.size
    # 2m+1 fixes of σ each average to σ/sqrt(2m+1): m from the fix's own σ.
    need = np.flatnonzero(known & (sigma > TARGET_SIGMA_M))
    m = np.ceil(((sigma[need] / TARGET_SIGMA_M) ** 2 - 1.0) / 2.0).astype(np.intp)
    # 2m+1 fixes, centred where possible, slid inside the data at its ends, then cut to
    # ±MAX_HALF_WINDOW_S around the fix.
    lo = np.clip(need - m, 0, None)
    hi = np.minimum(lo + 2 * m, n - 1)
    lo = np.maximum(hi - 2 * m, 0)
    half = round(MAX_HALF_WINDOW_S * 1e6)
    lo = np.maximum(lo, np.searchsorted(t, t[need] - half, side="left"))
    hi = np.minimum(hi, np.searchsorted(t, t[need] + half, side="right") - 1)
    keep = hi > lo
    need, lo, hi = need[keep], lo[keep], hi[keep]

    s = np.where(known, sigma, _UNKNOWN_SIGMA_M)
    w = 1.0 / (s * s)
    sec = (t - t[0]) / 1e6
    rel = xyz - xyz[0]
    ws = w * sec
    # Columns: Σw, Σw·t, Σw·t², Σw·x (3), Σw·t·x (3), summed over each window.
    moments = np.column_stack((w, ws, ws * sec, rel * w[:, None], rel * ws[:, None]))
    cum = np.concatenate((np.zeros((1, moments.shape[1])), np.cumsum(moments, axis=0)))
    sums = cum[hi + 1] - cum[lo]
    tc = sec[need]
    sw = sums[:, 0]
    st = sums[:, 1] - tc * sw
    stt = sums[:, 2] - 2 * tc * sums[:, 1] + tc * tc * sw
    sx = sums[:, 3:6]
    stx = sums[:, 6:9] - tc[:, None] * sx
    det = sw * stt - st * st
    # A window whose fixes are (nearly) simultaneous has no slope: its mean is the fit.
    linear = (hi - lo >= 2) & (det > 1e-9 * sw * stt)
    safe = np.where(linear, det, 1.0)
    intercept = np.where(
        linear[:, None],
        (stt[:, None] * sx - st[:, None] * stx) / safe[:, None],
        sx / sw[:, None],
    )
    out = xyz.copy()
    out[need] = xyz[0] + intercept
    f_sigma = sigma.copy()
    f_sigma[need] = np.sqrt(np.where(linear, stt / safe, 1.0 / sw))
    fitted = np.zeros(n, dtype=bool)
    fitted[need] = True
    return out, f_sigma, fitted
