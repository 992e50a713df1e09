"""Stop detection: sfa.tracking.track against trackintel's generate_staypoints (sliding).

Same pings, same thresholds (dist_threshold = stop_radius_m, time_threshold =
stop_min_minutes, gap_threshold = gap_minutes, include_last=True because we also keep a
stay still open at the end of the data):

- 50 synthetic field days (bench/_days.py), 100 m / 5 min / 15 min (company defaults);
- the real trace tests/data/limerick-bus-304/bus-304-2019-02-18.gpx, 50 m / 1 min.

Both get the pings our cleaning accepted (analyse_track's `accepted`), so the agreement
compares the stop algorithms, not the outlier filters. Timed:
- ours, full: analyse_track on the raw pings (cleaning, speed filter, gaps, stops, trips,
  distance) -- everything, against trackintel's stops only;
- ours, stops only: fit.fit_positions + stops.find_stops + track._make_stops on the
  cleaned arrays (the fitted positions are part of our stop detection; the same input
  trackintel gets);
- trackintel: generate_staypoints on a prepared Positionfixes GeoDataFrame (building the
  frame is timed separately and not counted).
Agreement: share of our stops matched by a trackintel staypoint within 50 m (centroids)
whose time interval overlaps, and vice versa; on the synthetic days also the share of
true shop stays found by each.

    .venv/bin/python bench/stops_vs_trackintel.py [--days 50]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
from _common import ROOT, banner, log, machine_line
from _days import make_day

GPX = ROOT / "tests" / "data" / "limerick-bus-304" / "bus-304-2019-02-18.gpx"
TARGET_SPEEDUP = 20.0
MATCH_M = 50.0


@dataclass
class Span:
    start: datetime
    end: datetime
    lat: float
    lon: float


def best_time(fn, *, min_runs: int = 3, min_seconds: float = 1.0, max_runs: int = 50):
    """Best wall time of repeated runs (and the last result)."""
    times, result, spent = [], None, 0.0
    while len(times) < max_runs and (len(times) < min_runs or spent < min_seconds):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
        spent += times[-1]
    return min(times), len(times), result


def _dist_m(a: Span, b: Span) -> float:
    from sfa import geo

    return geo.distance_m(lat1=a.lat, lon1=a.lon, lat2=b.lat, lon2=b.lon)


def matched_share(ours: list[list[Span]], theirs: list[list[Span]]) -> float:
    """Share of spans in `ours` with a span of the same day in `theirs` within MATCH_M
    that overlaps it in time."""
    total = hit = 0
    for mine, other in zip(ours, theirs, strict=True):
        for s in mine:
            total += 1
            if any(
                o.start <= s.end and s.start <= o.end and _dist_m(s, o) <= MATCH_M for o in other
            ):
                hit += 1
    return hit / total if total else float("nan")


def run_case(name: str, days_pings: list, thresholds, truth: list[list[Span]] | None):
    """days_pings: per day, a list of TrackPoint (raw)."""
    import geopandas as gpd
    import pandas as pd
    import trackintel as ti
    from shapely import points

    from sfa.tracking import fit, stops, track

    windows = [(p[0].at, p[-1].at + timedelta(seconds=1)) for p in days_pings]
    n_raw = sum(len(p) for p in days_pings)

    def ours_full():
        return [
            track.analyse_track(p, thresholds=thresholds, window_start=w0, window_end=w1)
            for p, (w0, w1) in zip(days_pings, windows, strict=True)
        ]

    t_full, runs_full, summaries = best_time(ours_full)
    accepted = [s.accepted for s in summaries]
    n_acc = sum(len(a) for a in accepted)
    log(f"{name}: ours (analyse_track) {t_full * 1000:.1f} ms, best of {runs_full}")

    # Stop part only, on the cleaned arrays: fitting the positions (excursions, accuracy
    # smoothing), Li's staypoints, merging, and the stops with their centres.
    gap_us = round(thresholds.gap_minutes * 60_000_000)
    min_us = round(thresholds.stop_min_minutes * 60_000_000)
    arrays = []
    for acc in accepted:
        t = np.fromiter(((p.at - track._EPOCH) // track._US for p in acc), np.int64, len(acc))
        lat = np.fromiter((p.lat for p in acc), float, len(acc))
        lon = np.fromiter((p.lon for p in acc), float, len(acc))
        accuracy = np.fromiter((p.accuracy_m or 0.0 for p in acc), float, len(acc))
        arrays.append((t, lat, lon, accuracy, acc))

    def ours_stops():
        out = []
        for t, lat, lon, accuracy, acc in arrays:
            fitted = fit.fit_positions(t, lat, lon, accuracy, radius_m=thresholds.stop_radius_m)
            spans, centres = stops.find_stops(
                t, fitted.xyz, fitted.sigma_m, radius_m=thresholds.stop_radius_m, min_us=min_us
            )
            out.append(track._make_stops(spans, centres, t, acc, gap_us))
        return out

    t_stops, runs_stops, our_stops = best_time(ours_stops)
    log(f"{name}: ours (stops only) {t_stops * 1000:.2f} ms, best of {runs_stops}")

    t = time.perf_counter()
    frames = []
    for user, acc in enumerate(accepted):
        frames.append(
            pd.DataFrame(
                {
                    "user_id": user,
                    "tracked_at": pd.to_datetime([p.at for p in acc], utc=True),
                    "geometry": points([p.lon for p in acc], [p.lat for p in acc]),
                }
            )
        )
    pfs = gpd.GeoDataFrame(
        pd.concat(frames, ignore_index=True), geometry="geometry", crs="EPSG:4326"
    )
    pfs.index.name = "id"
    pfs = ti.Positionfixes(pfs)
    t_frame = time.perf_counter() - t

    def theirs():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ti.preprocessing.generate_staypoints(
                pfs,
                method="sliding",
                dist_threshold=thresholds.stop_radius_m,
                time_threshold=thresholds.stop_min_minutes,
                gap_threshold=thresholds.gap_minutes,
                include_last=True,
                n_jobs=1,
            )

    t_ti, runs_ti, (_, sp) = best_time(theirs, min_runs=3, min_seconds=2.0, max_runs=5)
    log(f"{name}: trackintel {t_ti * 1000:.1f} ms, best of {runs_ti}")

    ours_spans = [[Span(s.start, s.end, s.lat, s.lon) for s in day] for day in our_stops]
    theirs_spans: list[list[Span]] = [[] for _ in accepted]
    for row in sp.itertuples():
        theirs_spans[int(row.user_id)].append(
            Span(
                row.started_at.to_pydatetime(),
                row.finished_at.to_pydatetime(),
                row.geometry.y,
                row.geometry.x,
            )
        )
    full_spans = [
        [Span(s.start, s.end, s.lat, s.lon) for s in summary.stops] for summary in summaries
    ]
    if full_spans != ours_spans:
        log(f"{name}: note: stops of analyse_track differ from the stop-only path")

    n_ours = sum(len(d) for d in ours_spans)
    n_theirs = sum(len(d) for d in theirs_spans)
    print(
        f"\n{name}: {len(days_pings)} day(s), {n_raw:,} pings ({n_acc:,} accepted), "
        f"radius {thresholds.stop_radius_m:g} m, min {thresholds.stop_min_minutes:g} min, "
        f"gap {thresholds.gap_minutes:g} min"
    )
    print(
        f"  ours, analyse_track (everything)  {t_full * 1000:9.2f} ms"
        f"   speed-up vs trackintel x{t_ti / t_full:,.1f}"
    )
    print(
        f"  ours, stop detection only         {t_stops * 1000:9.2f} ms"
        f"   speed-up vs trackintel x{t_ti / t_stops:,.1f}"
    )
    print(
        f"  trackintel generate_staypoints    {t_ti * 1000:9.2f} ms"
        f"   (+{t_frame * 1000:.0f} ms to build its GeoDataFrame, not counted)"
    )

    def verdict(ratio: float) -> str:
        return f"{'meets' if ratio >= TARGET_SPEEDUP else 'MISSES'} (x{ratio:,.1f})"

    print(
        f"  target >= x{TARGET_SPEEDUP:g} faster: stop detection only "
        f"{verdict(t_ti / t_stops)}; whole analyse_track {verdict(t_ti / t_full)}"
    )
    print(
        f"  stops: ours {n_ours} ({n_ours / len(days_pings):.1f}/day), trackintel "
        f"{n_theirs} ({n_theirs / len(days_pings):.1f}/day)"
    )
    print(
        f"  agreement (within {MATCH_M:g} m, overlapping in time): "
        f"{100 * matched_share(ours_spans, theirs_spans):.1f}% of our stops matched by "
        f"trackintel, {100 * matched_share(theirs_spans, ours_spans):.1f}% of trackintel's "
        f"matched by ours"
    )
    if truth is not None:
        print(
            f"  true shop stays found (a stop within {MATCH_M:g} m overlapping the stay): "
            f"ours {100 * matched_share(truth, ours_spans):.1f}%, trackintel "
            f"{100 * matched_share(truth, theirs_spans):.1f}%"
        )
        minutes = [(s.end - s.start).total_seconds() / 60 for d in ours_spans for s in d]
        minutes_ti = [(s.end - s.start).total_seconds() / 60 for d in theirs_spans for s in d]
        print(
            f"  median stop length: ours {np.median(minutes):.1f} min, trackintel "
            f"{np.median(minutes_ti):.1f} min (trackintel ends a stop at the first ping "
            "outside, we at the last ping inside)"
        )
    return t_ti / t_full, t_ti / t_stops


def synthetic(n_days: int):
    from sfa.tracking.track import TrackPoint

    days, truth = [], []
    for seed in range(1, n_days + 1):
        d = make_day(seed=seed)
        instants = d.instants()
        days.append(
            [
                TrackPoint(at=a, lat=la, lon=lo, accuracy_m=ac)
                for a, la, lo, ac in zip(
                    instants, d.lat.tolist(), d.lon.tolist(), d.accuracy_m.tolist(), strict=True
                )
            ]
        )
        midnight = datetime.fromtimestamp(d.midnight_us / 1e6, tz=instants[0].tzinfo)
        truth.append(
            [
                Span(
                    midnight + timedelta(seconds=s.arrive),
                    midnight + timedelta(seconds=s.depart),
                    s.lat,
                    s.lon,
                )
                for s in d.shops
            ]
        )
    return days, truth


def gpx_day(path: Path):
    from sfa.tracking.protocols import parse_gpx
    from sfa.tracking.track import TrackPoint

    return [
        TrackPoint(at=p["at"], lat=p["lat"], lon=p["lon"], accuracy_m=p.get("accuracy_m"))
        for _, p in parse_gpx(path.read_bytes()).points
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=50)
    args = parser.parse_args()

    banner("stop detection: sfa.tracking.track vs trackintel generate_staypoints")
    print(machine_line())
    try:
        import trackintel
    except ImportError as exc:
        print(
            f"trackintel is not installed ({exc}); install bench/requirements.txt. "
            "Only our own timings are printed."
        )
        trackintel = None
    from sfa.tracking.track import TrackThresholds

    if trackintel is None:
        return 1
    print(f"trackintel {trackintel.__version__}")
    log(f"generating {args.days} synthetic days")
    days, truth = synthetic(args.days)
    ratios = [run_case("synthetic field days", days, TrackThresholds(), truth)]
    if GPX.exists():
        ratios.append(
            run_case(
                f"real trace {GPX.name}",
                [gpx_day(GPX)],
                TrackThresholds(stop_radius_m=50, stop_min_minutes=1),
                None,
            )
        )
    else:
        print(f"\n{GPX} not found: real-trace case skipped")
    for k, what in enumerate(("whole analyse_track", "stop detection only")):
        values = [r[k] for r in ratios]
        print(
            f"\nspeed-up over trackintel, {what}: "
            f"{', '.join(f'x{v:,.1f}' for v in values)} (geometric mean "
            f"x{math.exp(sum(map(math.log, values)) / len(values)):,.1f})",
            end="",
        )
    print()
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
