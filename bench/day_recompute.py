"""Day recompute: 500 reps x 2,000 pings, every day through sfa.tracking.days.refresh_day.

Data: synthetic field days (bench/_days.py, seeded): ~20 shops per rep, each shop a
customer of the rep's team (plus 100 other customers per team), a check-in at 80 % of
the shop stays (half of them checked out), pings COPYed into `pings`, then VACUUM ANALYZE.

Measured, in the same run:
- baseline: one plain SELECT of the same pings (the columns refresh_day reads:
  at, lat, lon, accuracy) fetched into Python: a sequential read of the table;
- per-rep read: repository.pings_between for each day (the read refresh_day does);
- pass 1: refresh_day for every day, one session/transaction per rep (computes and
  inserts rep_days, rep_stops, visit flags);
- pass 2: the same again (the scheduler's recompute of days already stored).
The ratio is pass time / baseline time; a breakdown shows where refresh_day spends it.

    .venv/bin/python bench/day_recompute.py [--reps 500] [--pings 2000]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
from _common import banner, insert_customers, log, machine_line, make_teams, pg_cluster
from _days import DAY, TZ, make_day

REPS_PER_TEAM = 25
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load(session_scope, reps: int, n_pings: int) -> tuple[list[int], dict]:
    from sqlalchemy import text

    from sfa.tracking.ingest import copy_rows, ewkb_hex
    from sfa.tracking.partitions import ensure_partitions

    n_teams = -(-reps // REPS_PER_TEAM)
    with session_scope() as session:
        teams = make_teams(
            session,
            teams=n_teams,
            reps_per_team=REPS_PER_TEAM,
            customers_per_team=100,
            seed=11,
            spread_deg=0.1,
        )
        midnight = datetime.combine(DAY, datetime.min.time(), tzinfo=TZ)
        ensure_partitions(session, [midnight, midnight + timedelta(days=1)])
    rep_ids = [r for _, team_reps, _ in teams for r in team_reps][:reps]
    team_of = {r: team_id for team_id, team_reps, _ in teams for r in team_reps}
    stats = {"pings": 0, "shops": 0, "visits": 0}
    chunk = 25
    for start in range(0, len(rep_ids), chunk):
        with session_scope() as session:
            rows = []
            visit_cols = defaultdict(list)
            for rep_id in rep_ids[start : start + chunk]:
                day = make_day(seed=rep_id, n_pings=n_pings)
                stats["pings"] += len(day.t_us)
                stats["shops"] += len(day.shops)
                device = f"bench-phone-{rep_id}"
                for u, la, lo, acc in zip(
                    day.t_us.tolist(),
                    day.lat.tolist(),
                    day.lon.tolist(),
                    day.accuracy_m.tolist(),
                    strict=True,
                ):
                    rows.append(
                        (
                            rep_id,
                            EPOCH + timedelta(microseconds=u),
                            ewkb_hex(la, lo),
                            acc,
                            None,
                            None,
                            None,
                            None,
                            False,
                            device,
                        )
                    )
                customers = insert_customers(
                    session,
                    team_of[rep_id],
                    f"R{rep_id}",
                    [s.lat for s in day.shops],
                    [s.lon for s in day.shops],
                )
                rng = np.random.default_rng(rep_id + 99)
                for shop, (customer_id, _, _) in zip(day.shops, customers, strict=True):
                    if rng.random() >= 0.8:
                        continue  # an unlogged visit: a stop at a customer, no check-in
                    at = day.midnight_us + int((shop.arrive + rng.uniform(30, 180)) * 1e6)
                    out = (
                        day.midnight_us + int((shop.depart - rng.uniform(0, 120)) * 1e6)
                        if rng.random() < 0.5
                        else None
                    )
                    check_in = EPOCH + timedelta(microseconds=at)
                    check_out = EPOCH + timedelta(microseconds=out) if out else None
                    visit_cols["rep"].append(rep_id)
                    visit_cols["customer"].append(customer_id)
                    visit_cols["at"].append(check_in)
                    visit_cols["lat"].append(shop.lat + 0.00008)
                    visit_cols["lon"].append(shop.lon - 0.00005)
                    visit_cols["out"].append(check_out)
                    visit_cols["dwell"].append(
                        int((check_out - check_in).total_seconds()) if check_out else None
                    )
                    visit_cols["client"].append(str(uuid.UUID(int=int(rng.integers(2**62)))))
            copy_rows(session, "pings", rows)
            session.execute(
                text(
                    "INSERT INTO visits (rep_id, client_id, request_hash, customer_id, check_in_at,"
                    " received_at, check_in_position, check_in_accuracy_m, check_in_mock,"
                    " verification_status, distance_to_customer_m, radius_m, local_day,"
                    " check_out_at, check_out_hash, dwell_seconds, dwell_source) "
                    "SELECT rep, client, 'bench', customer, at, at,"
                    " ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, 10, false,"
                    " 'verified', 10, 300, :day, out, CASE WHEN out IS NULL THEN NULL"
                    " ELSE 'bench' END, dwell,"
                    " CASE WHEN out IS NULL THEN NULL ELSE 'check_out'::dwell_source END "
                    "FROM unnest(CAST(:rep AS bigint[]), CAST(:client AS uuid[]),"
                    " CAST(:customer AS bigint[]), CAST(:at AS timestamptz[]),"
                    " CAST(:lat AS float8[]), CAST(:lon AS float8[]),"
                    " CAST(:out AS timestamptz[]), CAST(:dwell AS int[]))"
                    " AS v(rep, client, customer, at, lat, lon, out, dwell)"
                ),
                {"day": DAY, **visit_cols},
            )
            stats["visits"] += len(visit_cols["rep"])
        log(
            f"loaded {min(start + chunk, len(rep_ids))}/{len(rep_ids)} reps "
            f"({stats['pings']:,} pings)"
        )
    return rep_ids, stats


class Timers:
    """Wraps functions refresh_day calls (in this process only) to split its time."""

    def __init__(self):
        self.seconds: dict[str, float] = defaultdict(float)
        self._undo = []

    def wrap(self, module, name: str, label: str) -> None:
        original = getattr(module, name)

        def timed(*args, **kwargs):
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - t

        setattr(module, name, timed)
        self._undo.append((module, name, original))

    def restore(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)
        self._undo.clear()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--pings", type=int, default=2000, help="pings per rep-day")
    args = parser.parse_args()

    banner(f"day recompute: {args.reps} reps x {args.pings:,} pings, refresh_day per day")
    print(machine_line())
    with pg_cluster() as cluster:
        from sqlalchemy import create_engine, text

        from sfa.company import service as company_service
        from sfa.db import get_engine, session_scope
        from sfa.tracking import days
        from sfa.tracking import repository as tracking_repository

        t = time.perf_counter()
        rep_ids, stats = load(session_scope, args.reps, args.pings)
        log(f"data loaded in {time.perf_counter() - t:.1f} s; VACUUM ANALYZE")
        autocommit = create_engine(cluster.url, isolation_level="AUTOCOMMIT")
        with autocommit.connect() as conn:
            conn.execute(text("VACUUM ANALYZE"))
            size = conn.execute(
                text(
                    "SELECT pg_size_pretty(sum(pg_total_relation_size(c.oid))) FROM pg_class c "
                    "JOIN pg_inherits i ON i.inhrelid = c.oid "
                    "WHERE i.inhparent = 'pings'::regclass"
                )
            ).scalar()
        autocommit.dispose()

        def plain_select() -> tuple[float, int]:
            raw = get_engine().raw_connection()
            try:
                t = time.perf_counter()
                with raw.cursor() as cur:
                    cur.execute(
                        "SELECT at, ST_Y(position::geometry), ST_X(position::geometry),"
                        " accuracy_m FROM pings"
                    )
                    n = len(cur.fetchall())
                elapsed = time.perf_counter() - t
                raw.commit()
            finally:
                raw.close()
            return elapsed, n

        plain_select()  # warm the caches; not recorded
        base_s, base_n = min(plain_select() for _ in range(2))
        log(f"baseline plain SELECT: {base_n:,} rows in {base_s:.2f} s")
        if base_n != stats["pings"]:
            raise RuntimeError(f"{base_n} pings stored, {stats['pings']} generated")

        with session_scope() as session:
            settings = company_service.get_company_settings(session)
        win = days.window(settings, DAY)
        t = time.perf_counter()
        for rep_id in rep_ids:
            with session_scope() as session:
                tracking_repository.pings_between(session, rep_id, win.start, win.end)
        per_rep_read_s = time.perf_counter() - t
        log(f"per-rep reads (pings_between): {per_rep_read_s:.2f} s")

        passes = []
        for number in (1, 2):
            timers = Timers()
            timers.wrap(tracking_repository, "pings_between", "read pings (pings_between)")
            timers.wrap(days, "analyse_track", "analyse_track (clean, stops, trips)")
            timers.wrap(tracking_repository, "nearest_customers", "nearest customers of stops")
            timers.wrap(days.visit_repository, "day_visits", "day visits")
            timers.wrap(days, "_close_open_visits", "dwell of open visits")
            timers.wrap(days, "_drive_bys", "drive-by flags")
            # Writes the visits' dwell, the day's flags (one replacement, rescored), the
            # day row and its stops.
            timers.wrap(days, "store_day", "store visits, flags, rep_days, rep_stops")
            per_day = []
            t = time.perf_counter()
            try:
                for k, rep_id in enumerate(rep_ids, start=1):
                    t_day = time.perf_counter()
                    with session_scope() as session:
                        days.refresh_day(session, rep_id=rep_id, day=DAY, settings=settings)
                    per_day.append(time.perf_counter() - t_day)
                    if k % 100 == 0:
                        log(f"pass {number}: {k}/{len(rep_ids)} days")
            finally:
                timers.restore()
            wall = time.perf_counter() - t
            passes.append((wall, sorted(per_day), dict(timers.seconds)))
            log(f"pass {number}: {wall:.2f} s")

        with session_scope() as session:
            summary = session.execute(
                text(
                    "SELECT count(*), avg(distance_m), avg(accepted_count), "
                    "sum((SELECT count(*) FROM rep_stops s WHERE s.rep_id = d.rep_id "
                    "AND s.day = d.day)) FROM rep_days d"
                )
            ).one()
            stops_at_customers = session.execute(
                text(
                    "SELECT count(*) FILTER (WHERE customer_id IS NOT NULL), "
                    "count(*) FILTER (WHERE visit_id IS NOT NULL) FROM rep_stops"
                )
            ).one()
            flags = dict(
                session.execute(text("SELECT code, count(*) FROM visit_flags GROUP BY code")).all()
            )

    n_days = len(rep_ids)
    print(
        f"\n{n_days} rep-days, {stats['pings']:,} pings ({size} in pings partitions), "
        f"{stats['shops']:,} shop stays, {stats['visits']:,} check-ins"
    )
    print(
        f"baseline, plain SELECT of all pings (at, lat, lon, accuracy) into Python: "
        f"{base_s:.2f} s ({base_n / base_s:,.0f} rows/s)"
    )
    print(
        f"per-rep reads, pings_between for each day (TrackPoint objects): {per_rep_read_s:.2f} s "
        f"(x{per_rep_read_s / base_s:.2f} the baseline)"
    )
    for number, (wall, per_day, seconds) in enumerate(passes, start=1):
        what = "first compute" if number == 1 else "recompute of stored days"
        print(
            f"pass {number} ({what}): {wall:.2f} s wall, {1000 * wall / n_days:.1f} ms/day "
            f"(p50 {1000 * per_day[len(per_day) // 2]:.1f}, "
            f"max {1000 * per_day[-1]:.1f}), {n_days / wall:.1f} days/s; "
            f"ratio to baseline x{wall / base_s:.1f}"
        )
        accounted = 0.0
        for label, s in sorted(seconds.items(), key=lambda kv: -kv[1]):
            accounted += s
            print(f"    {label:38}{1000 * s / n_days:7.2f} ms/day  {100 * s / wall:5.1f}%")
        rest = wall - accounted
        print(
            f"    {'rest (session, settings, commit)':38}{1000 * rest / n_days:7.2f} ms/day  "
            f"{100 * rest / wall:5.1f}%"
        )
    print(
        f"days stored: {summary[0]}, avg {summary[1] / 1000:.1f} km, "
        f"{summary[2]:.0f} accepted pings/day, {summary[3] / max(summary[0], 1):.1f} stops/day "
        f"({stops_at_customers[0]:,} at a customer, {stops_at_customers[1]:,} with a "
        f"check-in); visit flags: {flags or 'none'}"
    )
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
