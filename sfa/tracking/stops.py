"""Stops on fitted positions (sfa.tracking.fit): Li's sliding staypoints, then merged.

Li et al. (2008): from anchor i, extend j while p_j is inside the radius of p_i; it is a
stop if time(last inside) - time(p_i) >= the minimum, then the next anchor is the first
ping outside; otherwise the next anchor is i + 1 (trackintel instead jumps to j, which is
cheaper but can miss a stop whose best anchor lies after a moving ping).

"Inside" takes the fitted positions' own uncertainty into account: |p_i - p_j| <=
radius + 2·sqrt(σ_i² + σ_j²), σ from the fit (0 where the accuracy is unknown, where
this is Li's plain test). The margin is small, ≤ ~35 m at σ 43 m of raw jitter, because
it applies to fitted positions; a margin on the raw fixes would have to be 90+ m and
would turn a slow walk into a stop.

Two consecutive stops with no trip between them are one stop: when their centres lie
within the radius of each other and every position between them lies inside the radius
of one of the two centres. The joined stop keeps the positions inside the radius of its
own centre; what that leaves out at either end (an arrival Li's anchor took in) must be
shorter than a stop, or the two were separate stays (two shops 150 m apart, each within
100 m of a point between them, stay two stops). Li's anchor is a single ping, so an
anchor taken while still arriving (e.g. 95 m out at 30 km/h) ends its stop at the first
still ping just beyond 100 m of it, and the stay became two stops 10 s apart.

A stop's centre is the component-wise median of its fitted ECEF positions: arrival and
departure pings inside the radius do not drag it (a mean moved it ~14 m towards the
next shop on a slow walk), nor does an excursion, and ECEF has no antimeridian or pole.

Performance: anchors are pre-screened in one vectorised step (anchor i can only start a
stop if the first ping at least the minimum later is inside), which rules out nearly
every anchor while moving; extending an anchor tests growing chunks with numpy.
"""

import numpy as np
from numpy.typing import NDArray

_MARGIN_SIGMAS = 2.0
# The margin never exceeds this share of the radius: at the ends of the data a fitted
# position rests on the fixes of one side only and its σ grows (up to ~35 m at σ 43 m of
# jitter); an uncapped margin let a 2 km/h drift there fit a 160 m "radius" for 5 min.
_MAX_MARGIN_SHARE = 0.35

Span = tuple[int, int]  # indices of a stop's first and last ping


def find_stops(
    t: NDArray[np.int64],
    xyz: NDArray[np.float64],
    sigma_m: NDArray[np.float64],
    *,
    radius_m: float,
    min_us: int,
) -> tuple[list[Span], list[NDArray[np.float64]]]:
    """Stops as (first, last) index pairs and their ECEF centres: Li's staypoints, merged,
    grown around their centres and merged again (see the module doc)."""
    spans = staypoints(t, xyz, sigma_m, radius_m=radius_m, min_us=min_us)
    merger = _Merger(t, xyz, sigma_m, radius_m, min_us)
    spans, centres = merger.merge(spans, [centre(xyz, s) for s in spans])
    grown = _grow(spans, centres, xyz, sigma_m, radius_m)
    # Only a stop that grew has a new centre.
    centres = [
        c if g == s else centre(xyz, g) for s, g, c in zip(spans, grown, centres, strict=True)
    ]
    return merger.merge(grown, centres)


def staypoints(
    t: NDArray[np.int64],
    xyz: NDArray[np.float64],
    sigma_m: NDArray[np.float64],
    *,
    radius_m: float,
    min_us: int,
) -> list[Span]:
    """Li's sliding staypoints with the uncertainty margin, before merging."""
    n = t.size
    if n < 2:
        return []
    s2 = sigma_m * sigma_m if sigma_m.any() else None
    j = np.searchsorted(t, t + min_us, side="left")
    idx = np.flatnonzero(j < n)
    diff = xyz[j[idx]] - xyz[idx]
    limit = _limit2(radius_m, s2, idx, j[idx])
    cand = idx[np.einsum("ij,ij->i", diff, diff) <= limit]

    spans: list[Span] = []
    k = 0
    while k < cand.size:
        i = int(cand[k])
        out = _first_outside(xyz, s2, i, radius_m)
        if t[out - 1] - t[i] >= min_us:
            spans.append((i, out - 1))
            k = int(np.searchsorted(cand, out, side="left"))
        else:
            k += 1
    return spans


def _limit2(radius_m: float, s2: NDArray[np.float64] | None, a, b) -> NDArray[np.float64] | float:
    """Squared "inside" distance between positions a and b (index arrays or ints)."""
    if s2 is None:
        return radius_m * radius_m
    margin = np.minimum(_MARGIN_SIGMAS * np.sqrt(s2[a] + s2[b]), _MAX_MARGIN_SHARE * radius_m)
    return (radius_m + margin) ** 2


def _margin(sigma_m, radius_m: float):
    """Margin for a position against a centre (whose own σ is negligible)."""
    return np.minimum(_MARGIN_SIGMAS * sigma_m, _MAX_MARGIN_SHARE * radius_m)


def _first_outside(
    xyz: NDArray[np.float64], s2: NDArray[np.float64] | None, i: int, radius_m: float
) -> int:
    """First index after i outside the radius of xyz[i], or len(xyz)."""
    n = xyz.shape[0]
    s, size = i + 1, 64
    # Growing chunks: a long stay costs O(its length), a short one a single small step.
    while s < n:
        e = min(n, s + size)
        diff = xyz[s:e] - xyz[i]
        limit = _limit2(radius_m, s2, i, slice(s, e))
        out = np.flatnonzero(np.einsum("ij,ij->i", diff, diff) > limit)
        if out.size:
            return s + int(out[0])
        s, size = e, size * 2
    return n


def grow(
    spans: list[Span], xyz: NDArray[np.float64], sigma_m: NDArray[np.float64], *, radius_m: float
) -> list[Span]:
    """Extend each stop over the neighbouring pings inside the radius of its centre, up to
    the stops beside it (module doc)."""
    return _grow(spans, [centre(xyz, s) for s in spans], xyz, sigma_m, radius_m)


def _grow(spans: list[Span], centres, xyz, sigma_m, radius_m: float) -> list[Span]:
    grown: list[Span] = []
    n = xyz.shape[0]
    for number, ((s, e), c) in enumerate(zip(spans, centres, strict=True)):
        floor = grown[-1][1] + 1 if grown else 0
        ceiling = spans[number + 1][0] if number + 1 < len(spans) else n
        s = _run_inside(xyz, sigma_m, c, radius_m, s - 1, floor - 1) + 1
        e = _run_inside(xyz, sigma_m, c, radius_m, e + 1, ceiling) - 1
        grown.append((s, e))
    return grown


def _run_inside(xyz, sigma_m, c, radius_m: float, start: int, stop: int) -> int:
    """The first index from `start` towards `stop` (exclusive, either direction) outside
    the radius of centre c, or `stop`."""
    step = 1 if stop >= start else -1
    if start == stop:
        return stop
    # Usually the very next ping is already outside (the rep drives off): decide that one
    # with plain floats before any array work.
    dx, dy, dz = (xyz[start] - c).tolist()
    limit = radius_m + min(_MARGIN_SIGMAS * float(sigma_m[start]), _MAX_MARGIN_SHARE * radius_m)
    if dx * dx + dy * dy + dz * dz > limit * limit:
        return start
    k, size = start + step, 8
    while k != stop:
        end = min(stop, k + size) if step > 0 else max(stop, k - size)
        idx = np.arange(k, end, step)
        d = xyz[idx] - c
        limit = radius_m + _margin(sigma_m[idx], radius_m)
        out = np.flatnonzero(np.einsum("ij,ij->i", d, d) > limit * limit)
        if out.size:
            return int(idx[out[0]])
        k, size = end, size * 4
    return stop


def centre(xyz: NDArray[np.float64], span: Span) -> NDArray[np.float64]:
    """The stop's centre in ECEF: component-wise median of its fitted positions."""
    s, e = span
    points = xyz[s : e + 1]
    k = points.shape[0]
    # np.partition directly: np.median's generic machinery costs more than the work here.
    low, high = (k - 1) // 2, k // 2
    part = np.partition(points, (low, high), axis=0)
    return (part[low] + part[high]) / 2.0


def merge(
    spans: list[Span],
    t: NDArray[np.int64],
    xyz: NDArray[np.float64],
    sigma_m: NDArray[np.float64],
    *,
    radius_m: float,
    min_us: int,
) -> list[Span]:
    """Join consecutive stops with no trip between them (module doc)."""
    return _Merger(t, xyz, sigma_m, radius_m, min_us).merge(spans, [centre(xyz, s) for s in spans])[
        0
    ]


class _Merger:
    def __init__(self, t, xyz, sigma_m, radius_m: float, min_us: int) -> None:
        self.t, self.xyz, self.sigma_m = t, xyz, sigma_m
        self.radius_m, self.min_us = radius_m, min_us

    def merge(
        self, spans: list[Span], centres: list[NDArray[np.float64]]
    ) -> tuple[list[Span], list[NDArray[np.float64]]]:
        if len(spans) < 2:
            return spans, centres
        merged, merged_centres = [spans[0]], [centres[0]]
        for span, b in zip(spans[1:], centres[1:], strict=True):
            joined = self._join(merged[-1], span, merged_centres[-1], b)
            if joined is None:
                merged.append(span)
                merged_centres.append(b)
            else:
                merged[-1] = joined
                merged_centres[-1] = centre(self.xyz, joined)
        return merged, merged_centres

    def _join(self, prev: Span, span: Span, a, b) -> Span | None:
        """The two stops as one, or None when there is a trip between them or they are two
        stays: their centres are farther apart than the radius, a position between them is
        outside both radii, or the positions left outside the radius of the joined centre
        (an arrival or departure Li's anchor took in) last as long as a stop of their own."""
        xyz, r = self.xyz, self.radius_m
        d = a - b
        if float(d @ d) > r * r:
            return None
        between = slice(prev[1] + 1, span[0])
        if not np.all(
            np.minimum(self._d2(between, a), self._d2(between, b)) <= self._limit2(between)
        ):
            return None
        whole = slice(prev[0], span[1] + 1)
        inside = np.flatnonzero(
            self._d2(whole, centre(xyz, (prev[0], span[1]))) <= self._limit2(whole)
        )
        if not inside.size:
            return None
        first, last = prev[0] + int(inside[0]), prev[0] + int(inside[-1])
        t = self.t
        if t[first] - t[prev[0]] >= self.min_us or t[span[1]] - t[last] >= self.min_us:
            return None
        return first, last

    def _d2(self, part: slice, c) -> NDArray[np.float64]:
        d = self.xyz[part] - c
        return np.einsum("ij,ij->i", d, d)

    def _limit2(self, part: slice) -> NDArray[np.float64]:
        return (self.radius_m + _margin(self.sigma_m[part], self.radius_m)) ** 2
