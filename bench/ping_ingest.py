"""Ping ingest through the API ÷ raw COPY of the same rows into the same table.

Measured: POST /v1/pings against `sfa serve --workers 2`, from a separate load process
with several concurrent clients (one rep each, batches of 500 sent one after another, as
a phone does). Baseline, in the same run and the same load process: the same rows, the
same batches, the same number of concurrent connections, each batch COPYed in its own
transaction by sfa.tracking.ingest.copy_rows (no HTTP, JSON, validation, partition check,
savepoint or rep_days upsert). Partitions exist for both; the tables are truncated
before every measured pass. Rounds alternate API / COPY; the ratio uses the best pass of
each (and every pass is printed).

    .venv/bin/python bench/ping_ingest.py [--clients 6] [--batches 30] [--batch 500]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import (
    RawHttp,
    access_token,
    api_server,
    banner,
    log,
    machine_busy,
    machine_line,
    make_teams,
    percentile,
    pg_cluster,
    profile_summary,
    py_spy,
    tree_cpu,
)

TARGET_RATIO = 0.5
STEP = timedelta(seconds=5)


# ------------------------------------------------------------------ data (both sides)


def make_batches(rep_index: int, t0: datetime, n_batches: int, batch: int) -> list[list[dict]]:
    """A rep driving around Jakarta: a seeded random walk, one ping every 5 s."""
    import numpy as np

    rng = np.random.default_rng(1000 + rep_index)
    n = n_batches * batch
    lat = -6.2 + np.cumsum(rng.normal(0, 0.00008, n)) + rng.uniform(-0.05, 0.05)
    lon = 106.83 + np.cumsum(rng.normal(0, 0.00008, n)) + rng.uniform(-0.05, 0.05)
    acc = rng.uniform(3, 40, n).round(1)
    speed = rng.uniform(0, 12, n).round(2)
    bearing = rng.uniform(0, 360, n).round(1)
    alt = rng.uniform(5, 40, n).round(1)
    battery = np.linspace(95, 30, n).round(0)
    device = f"bench-phone-{rep_index}"
    pings = [
        {
            "at": (t0 + i * STEP).isoformat(),
            "lat": round(float(lat[i]), 7),
            "lon": round(float(lon[i]), 7),
            "accuracy_m": float(acc[i]),
            "speed_mps": float(speed[i]),
            "bearing": float(bearing[i]),
            "altitude_m": float(alt[i]),
            "battery_pct": float(battery[i]),
            "device_id": device,
        }
        for i in range(n)
    ]
    return [pings[k : k + batch] for k in range(0, n, batch)]


def copy_row(rep_id: int, p: dict) -> tuple:
    """The row the API stores for this ping (same column order as ingest.copy_rows)."""
    from sfa.tracking.ingest import ewkb_hex

    return (
        rep_id,
        datetime.fromisoformat(p["at"]),
        ewkb_hex(p["lat"], p["lon"]),
        p["accuracy_m"],
        p["speed_mps"],
        p["bearing"],
        p["altitude_m"],
        p["battery_pct"],
        False,
        p["device_id"],
    )


# ------------------------------------------------------------------ load process


def _run_threads(work, n_clients: int) -> tuple[float, list[list[float]], list]:
    """Run work(i, barrier) in n threads released together; wall time of the pass."""
    barrier = threading.Barrier(n_clients + 1)
    results: list = [None] * n_clients
    errors: list = []

    def runner(i: int) -> None:
        try:
            results[i] = work(i, barrier)
        except BaseException as exc:  # reported to the parent, never swallowed
            errors.append(repr(exc))
            barrier.abort()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(n_clients)]
    for th in threads:
        th.start()
    barrier.wait()
    started = time.perf_counter()
    for th in threads:
        th.join()
    wall = time.perf_counter() - started
    if errors:
        raise RuntimeError("; ".join(errors[:3]))
    return wall, results, errors


async def _api_pass(base_url: str, clients: list, bodies: list) -> tuple[float, list, list]:
    """One API pass: a task per client posts its batches one after another; wall time of
    the pass and each client's (latencies, accepted)."""
    from urllib.parse import urlsplit

    base = urlsplit(base_url)

    async def work(i: int, start: asyncio.Event):
        _, _, token = clients[i]
        # A new connection per batch, as a phone that posts every few minutes does
        # (uvicorn's keep-alive is 5 s). It also spreads the load over the workers:
        # long-lived connections opened in a burst can all land on one of them.
        headers = (
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
            "Connection: close\r\n"
        ).encode()
        http = RawHttp(base.hostname, base.port)
        try:
            status, _ = await http.request("GET", "/healthz")  # before the clock
            if status != 200:
                raise RuntimeError(f"GET /healthz: HTTP {status}")
            await start.wait()
            latencies, accepted = [], 0
            for body in bodies[i]:
                t = time.perf_counter()
                status, payload = await http.request("POST", "/v1/pings", headers, body)
                latencies.append(time.perf_counter() - t)
                if status != 200:
                    raise RuntimeError(f"HTTP {status}: {payload[:300]!r}")
                out = json.loads(payload)
                if out["rejected"] or out["duplicates"]:
                    raise RuntimeError(f"unexpected ingest result {out}")
                accepted += out["accepted"]
            return latencies, accepted
        finally:
            http.close()

    start = asyncio.Event()
    tasks = [asyncio.create_task(work(i, start)) for i in range(len(clients))]
    await asyncio.sleep(0.2)  # every client connected and waiting
    started = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    return time.perf_counter() - started, results, []


def load_process(conn, spec: dict) -> None:
    """Separate process: prepares bodies and rows, then runs the passes the parent asks.

    The API side posts with RawHttp on asyncio (uvloop), not httpx in threads: httpx cost
    ~1.4 ms of CPU per 500-ping batch, a fifth of a core at these rates, taken from the
    server under test on this 2-core machine (bench/README.md)."""
    import uvloop
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sfa.tracking.ingest import copy_rows

    t0 = datetime.fromisoformat(spec["t0"])
    clients = spec["clients"]  # [(rep_index, rep_id, token)]
    bodies, rows = [], []
    for rep_index, rep_id, _ in clients:
        batches = make_batches(rep_index, t0, spec["n_batches"], spec["batch"])
        bodies.append([json.dumps(b).encode() for b in batches])
        rows.append([[copy_row(rep_id, p) for p in b] for b in batches])
    engine = create_engine(spec["db_url"], pool_size=len(clients), max_overflow=0)
    uvloop.install()
    conn.send("ready")

    def api_pass():
        return asyncio.run(_api_pass(spec["base_url"], clients, bodies))

    def copy_pass():
        def work(i: int, barrier):
            latencies = []
            with Session(engine) as session:
                session.connection()  # check a connection out before the clock starts
                session.commit()
                barrier.wait()
                for batch in rows[i]:
                    t = time.perf_counter()
                    copy_rows(session, "pings", batch)
                    session.commit()
                    latencies.append(time.perf_counter() - t)
            return latencies, sum(len(b) for b in rows[i])

        return _run_threads(work, len(clients))

    while True:
        command = conn.recv()
        if command == "quit":
            break
        try:
            wall, results, _ = api_pass() if command == "api" else copy_pass()
            conn.send(
                {
                    "wall": wall,
                    "latencies": [x for r in results for x in r[0]],
                    "stored": sum(r[1] for r in results),
                }
            )
        except Exception as exc:
            conn.send({"error": repr(exc)})
    engine.dispose()


# ------------------------------------------------------------------ parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--batches", type=int, default=50, help="batches per client")
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--profile",
        choices=("auto", "always", "never"),
        default="auto",
        help="py-spy one extra API pass (auto: when the target is missed)",
    )
    args = parser.parse_args()

    banner("ping ingest: POST /v1/pings ÷ raw COPY")
    print(machine_line())
    total = args.clients * args.batches * args.batch
    # Recent device times (the API refuses pings > 24 h in the future); whole seconds.
    t0 = (datetime.now(UTC) - timedelta(days=3)).replace(microsecond=0)
    span = args.batches * args.batch * STEP

    with pg_cluster() as cluster:
        url = cluster.url
        from sqlalchemy import text

        from sfa.db import session_scope
        from sfa.tracking.partitions import ensure_partitions

        with session_scope() as session:
            ((_, rep_ids, _),) = make_teams(
                session, teams=1, reps_per_team=args.clients, customers_per_team=10
            )
            # Partitions for every month the pings touch exist before either side runs.
            ensure_partitions(
                session,
                [t0 + k * timedelta(hours=6) for k in range(int(span / timedelta(hours=6)) + 2)],
            )
        clients = [(i, rep_id, access_token(rep_id)) for i, rep_id in enumerate(rep_ids)]

        def reset():
            with session_scope() as session:
                session.execute(text("TRUNCATE pings, rep_days"))

        with api_server(url, workers=args.workers) as server:
            ctx = mp.get_context("spawn")
            parent_end, child_end = ctx.Pipe()
            spec = {
                "t0": t0.isoformat(),
                "clients": clients,
                "n_batches": args.batches,
                "batch": args.batch,
                "base_url": server.base_url,
                "db_url": url,
            }
            loader = ctx.Process(target=load_process, args=(child_end, spec), daemon=True)
            loader.start()
            log(
                f"load process pid {loader.pid}: preparing {total:,} pings "
                f"({args.clients} clients x {args.batches} batches x {args.batch})"
            )
            if parent_end.recv() != "ready":
                raise RuntimeError("load process failed to start")

            def count_pings() -> int:
                with session_scope() as session:
                    return session.execute(text("SELECT count(*) FROM pings")).scalar()

            def run(kind: str) -> dict:
                reset()
                log(f"{kind} pass: {total:,} pings ...")
                roots = (server.pid, cluster.pid, loader.pid)
                cpu0 = tree_cpu(*roots)
                busy0 = machine_busy()
                parent_end.send(kind)
                out = parent_end.recv()
                cpu1 = tree_cpu(*roots)
                busy = machine_busy() - busy0
                if "error" in out:
                    raise RuntimeError(f"{kind} pass failed: {out['error']}")
                out["cpu"] = [cpu1[r] - cpu0[r] for r in roots]
                out["others"] = max(0.0, busy - sum(out["cpu"])) / out["wall"]
                # Every response said "accepted"; are the rows committed yet? FastAPI ends
                # request-scoped yield dependencies (our commit) after the response is sent,
                # so right after the last response a batch may still be uncommitted.
                out["uncommitted"] = total - count_pings()
                deadline = time.monotonic() + 10
                stored = total - out["uncommitted"]
                while stored != total and time.monotonic() < deadline:
                    time.sleep(0.02)
                    stored = count_pings()
                with session_scope() as session:
                    out["dirty"] = session.execute(
                        text("SELECT count(*) FROM rep_days WHERE dirty")
                    ).scalar()
                if stored != total or out["stored"] != total:
                    raise RuntimeError(
                        f"{kind} pass stored {stored} of {total} pings "
                        f"({out['stored']} reported accepted)"
                    )
                if out["uncommitted"]:
                    log(
                        f"{kind} pass: {out['uncommitted']} pings reported accepted were not "
                        "committed yet when the last response arrived"
                    )
                out["rate"] = total / out["wall"]
                lat = sorted(out["latencies"])
                log(
                    f"{kind} pass: {out['rate']:,.0f} pings/s, {out['wall']:.2f} s, "
                    f"batch p50 {percentile(lat, 50) * 1000:.0f} ms "
                    f"p99 {percentile(lat, 99) * 1000:.0f} ms"
                )
                return out

            # Warm-up (imports, connection pools, caches), not measured.
            run("api")
            passes: dict[str, list[dict]] = {"api": [], "copy": []}
            for _ in range(args.rounds):
                passes["api"].append(run("api"))
                passes["copy"].append(run("copy"))
            ratio = max(o["rate"] for o in passes["api"]) / max(o["rate"] for o in passes["copy"])
            profile = None
            if args.profile == "always" or (args.profile == "auto" and ratio < TARGET_RATIO):
                raw = Path(tempfile.mkdtemp(prefix="sfa-bench-prof-")) / "ingest.txt"
                log("profiling one more API pass with py-spy (not counted)")
                with py_spy(server.pid, raw):
                    run("api")
                profile = profile_summary(raw, only=("api/", "sfa/"))
                shutil.rmtree(raw.parent, ignore_errors=True)
            parent_end.send("quit")
            loader.join(timeout=30)

    best = {k: max(v, key=lambda o: o["rate"]) for k, v in passes.items()}
    print(
        f"\n{total:,} pings per pass: {args.clients} concurrent clients (one rep each), "
        f"batches of {args.batch}, API with {args.workers} workers"
    )
    print(
        f"{'':28}{'pings/s':>10}{'wall s':>9}{'batch p50':>11}{'batch p99':>11}"
        f"   every pass (pings/s)"
    )
    labels = {"api": "POST /v1/pings (API)", "copy": "raw COPY (baseline)"}
    for kind in ("api", "copy"):
        b = best[kind]
        lat = sorted(b["latencies"])
        every = ", ".join(f"{o['rate']:,.0f}" for o in passes[kind])
        print(
            f"{labels[kind]:28}{b['rate']:>10,.0f}{b['wall']:>9.2f}"
            f"{percentile(lat, 50) * 1000:>9.0f}ms{percentile(lat, 99) * 1000:>9.0f}ms"
            f"   {every}"
        )
    ratio = best["api"]["rate"] / best["copy"]["rate"]
    per_round = [a["rate"] / c["rate"] for a, c in zip(passes["api"], passes["copy"], strict=True)]
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(
        f"ratio API / COPY = {ratio:.2f} (target >= {TARGET_RATIO}: {verdict}); "
        f"per round: {', '.join(f'{r:.2f}' for r in per_round)}, "
        f"median {statistics.median(per_round):.2f}"
    )
    lagging = [o["uncommitted"] for o in passes["api"] if o["uncommitted"]]
    print(
        f"API passes where pings answered as accepted were not yet committed when the "
        f"last response arrived: {len(lagging)} of {len(passes['api'])}"
        + (f" (up to {max(lagging)} pings)" if lagging else "")
    )
    print(
        f"rep_days rows marked dirty by an API pass: {best['api']['dirty']} "
        f"(COPY pass: {best['copy']['dirty']})"
    )
    print(
        "CPU seconds during the best pass (API workers / PostgreSQL / load process), "
        "per 100k pings; and CPU used meanwhile by other processes on the machine:"
    )
    for kind in ("api", "copy"):
        per = [c * 100_000 / total for c in best[kind]["cpu"]]
        print(
            f"  {labels[kind]:26}{per[0]:6.2f} / {per[1]:6.2f} / {per[2]:6.2f}"
            f"   others {best[kind]['others']:.2f} cores"
        )
    if profile:
        print("\nwhere the API workers spend CPU during POST /v1/pings (py-spy):")
        print(profile)
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
