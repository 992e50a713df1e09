"""Past one machine (docs/scaling.md): check-in throughput with 2 API processes against 1,
and check-in latency while reports are read from a streaming replica.

Measured, in one run on one throwaway cluster (and a replica of it, `scripts/pg.sh
replica`), from a separate load process (asyncio, keep-alive connections, closed loop):

1. check-ins/s and p50/p99 with 24 concurrent clients against `sfa serve --workers 1`,
   then `--workers 2` (two processes on one socket): the ratio 2 vs 1;
2. with the replica configured, check-in p50/p99 alone, then with 4 more clients asking
   for a report (`/v1/reports/team-days`, a month, as an admin) served by the replica,
   then the same report load with the replica switched off (reports on the primary).

On 2 cores the load generator, both API processes and PostgreSQL (two of them in part 2)
share the same CPUs: expect 2 vs 1 well below 2.

    .venv/bin/python bench/multi_process.py [--seconds 12] [--clients 24]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from _common import (
    ROOT,
    RawHttp,
    access_token,
    api_server,
    banner,
    free_port,
    log,
    machine_line,
    make_teams,
    percentile,
    pg_cluster,
)

REPORT_CLIENTS = 4
OFFSET_DEG = 0.00018  # ~20 m from the customer: a verified check-in


async def _load(spec: dict) -> dict:
    import asyncio
    import json

    base = urlsplit(spec["base_url"])
    start = time.perf_counter()
    record_from, stop_at = start + spec["warmup"], start + spec["warmup"] + spec["seconds"]
    results: dict[str, list[float]] = {"check_in": [], "report": []}
    errors: list[str] = []

    async def client(kind: str, token: str, customers: list) -> None:
        conn = RawHttp(base.hostname, base.port)
        auth = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n".encode()
        k = 0
        try:
            while (t := time.perf_counter()) < stop_at:
                k += 1
                if kind == "check_in":
                    cid, lat, lon = customers[k % len(customers)]
                    now = datetime.now(UTC)
                    body = json.dumps(
                        {
                            "client_id": str(uuid.uuid4()),
                            "customer_id": cid,
                            "at": (now - timedelta(seconds=2)).isoformat(),
                            "lat": lat + OFFSET_DEG,
                            "lon": lon,
                            "accuracy_m": 8.0,
                        }
                    ).encode()
                    status, raw = await conn.request("POST", "/v1/visits/check-in", auth, body)
                else:
                    status, raw = await conn.request("GET", spec["report_path"], auth)
                done = time.perf_counter()
                if status >= 300 and len(errors) < 3:
                    errors.append(f"{kind} {status} {raw[:200]!r}")
                if t >= record_from and done <= stop_at:
                    results[kind].append(done - t)
        finally:
            conn.close()

    tasks = [client("check_in", token, customers) for token, customers in spec["reps"]]
    tasks += [client("report", spec["admin"], []) for _ in range(spec["report_clients"])]
    await asyncio.gather(*tasks)
    return {"results": results, "errors": errors, "seconds": spec["seconds"]}


def _run_load(conn, spec: dict) -> None:
    import asyncio

    conn.send(asyncio.run(_load(spec)))


def measure(spec: dict) -> dict:
    """One phase in a load process of its own."""
    parent, child = mp.Pipe()
    process = mp.get_context("fork").Process(target=_run_load, args=(child, spec))
    process.start()
    out = parent.recv()
    process.join()
    if out["errors"]:
        log(f"errors: {out['errors']}")
    return out


def summary(values: list[float], seconds: float) -> dict:
    ordered = sorted(values)
    return {
        "rate": len(ordered) / seconds,
        "p50": percentile(ordered, 50) * 1000,
        "p99": percentile(ordered, 99) * 1000,
        "n": len(ordered),
    }


def line(name: str, s: dict) -> str:
    return f"{name:<44} {s['rate']:8.1f}/s  p50 {s['p50']:7.1f} ms  p99 {s['p99']:7.1f} ms"


def seed(clients: int) -> dict:
    from sfa.db import session_scope
    from sfa.users.models import Role, User

    with session_scope() as session:
        teams = make_teams(session, teams=4, reps_per_team=clients // 4, customers_per_team=200)
        admin = User(
            username="bench.admin",
            full_name="Bench Admin",
            role=Role.admin,
            password_hash="!bench-no-login",
        )
        session.add(admin)
        session.flush()
        admin_id = admin.id
    reps = [(access_token(rep), customers) for _, rep_ids, customers in teams for rep in rep_ids]
    return {"reps": reps[:clients], "admin": access_token(admin_id)}


@contextlib.contextmanager
def replica_of(url: str):
    """A streaming replica of the benchmark cluster, stopped by its pid at the end."""
    from sqlalchemy.engine import make_url

    folder = Path(tempfile.mkdtemp(prefix="sfa-bench-replica-"))
    port = free_port()
    script = ROOT / "scripts" / "pg.sh"
    primary = make_url(url)
    subprocess.run(
        [script, "replica", str(primary.port), str(folder), str(port)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield primary.set(port=port).render_as_string(hide_password=False)
    finally:
        subprocess.run([script, "stop", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--clients", type=int, default=24)
    args = parser.parse_args()
    print(machine_line())
    today = datetime.now(UTC).date()
    report = f"/v1/reports/team-days?date_from={today - timedelta(days=30)}&date_to={today}"
    with pg_cluster() as cluster:
        data = seed(args.clients)
        base_spec = data | {"seconds": args.seconds, "warmup": 2.0, "report_path": report}

        banner("check-ins: 2 API processes vs 1")
        by_workers = {}
        for workers in (1, 2):
            with api_server(cluster.url, workers=workers) as server:
                spec = base_spec | {"base_url": server.base_url, "report_clients": 0}
                out = measure(spec)
            by_workers[workers] = summary(out["results"]["check_in"], out["seconds"])
            print(line(f"check-in, {workers} API process(es)", by_workers[workers]))
        print(
            f"ratio 2 vs 1: throughput {by_workers[2]['rate'] / by_workers[1]['rate']:.2f}x, "
            f"p99 {by_workers[2]['p99'] / by_workers[1]['p99']:.2f}x"
        )

        banner("check-ins while reports read the replica (2 API processes)")
        phases = {}
        with replica_of(cluster.url) as replica_url:
            os.environ["SFA_DATABASE_REPLICA_URL"] = replica_url
            try:
                with api_server(cluster.url, workers=2) as server:
                    for name, reporters in (
                        ("alone", 0),
                        ("reports on the replica", REPORT_CLIENTS),
                    ):
                        spec = base_spec | {
                            "base_url": server.base_url,
                            "report_clients": reporters,
                        }
                        phases[name] = measure(spec)
            finally:
                os.environ.pop("SFA_DATABASE_REPLICA_URL")
            with api_server(cluster.url, workers=2) as server:
                spec = base_spec | {"base_url": server.base_url, "report_clients": REPORT_CLIENTS}
                phases["reports on the primary"] = measure(spec)
        alone = summary(phases["alone"]["results"]["check_in"], args.seconds)
        for name, out in phases.items():
            check_ins = summary(out["results"]["check_in"], out["seconds"])
            print(line(f"check-in, {name}", check_ins))
            if out["results"]["report"]:
                print(line(f"  report, {name}", summary(out["results"]["report"], out["seconds"])))
            if name != "alone":
                print(
                    f"  check-in p99 vs alone: {check_ins['p99'] / alone['p99']:.2f}x, "
                    f"throughput {check_ins['rate'] / alone['rate']:.2f}x"
                )
    print(machine_line("end"))


if __name__ == "__main__":
    main()
