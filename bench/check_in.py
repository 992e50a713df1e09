"""Check-in latency (p50/p99) and throughput with 32 concurrent clients.

Measured: POST /v1/visits/check-in against `sfa serve --workers 2`, from a separate load
process (asyncio + httpx, 32 concurrent tasks, each one rep checking in at the customers of
its team, a fresh client_id per check-in, the position ~20 m from the customer). Baselines
in the same run and the same load process, with the same 32 tasks:

- GET /healthz: no database, no auth: the HTTP stack's own ceiling on this machine
  (load generator included: it shares the 2 cores);
- GET /v1/me: a database session and transaction, token decode, user lookup and
  principal: what every authenticated request pays before its own work.

Each phase runs for --seconds after a short unrecorded warm-up. When a target is missed
(or with --profile always) one more check-in phase runs under py-spy and the statements
of one check-in are listed (counted in-process with a SQLAlchemy event listener).

    .venv/bin/python bench/check_in.py [--clients 32] [--seconds 15]
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import multiprocessing as mp
import resource
import shutil
import sys
import tempfile
import time
import uuid
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

TARGET_P99_MS = 50.0
TARGET_RATE = 500.0
TEAMS = 4
CUSTOMERS_PER_TEAM = 300
OFFSET_DEG = 0.00018  # ~20 m: inside the verification radius


def checkin_body(rep_index: int, customer: tuple[int, float, float], k: int) -> dict:
    now = datetime.now(UTC)
    _, lat, lon = customer
    sign = 1 if k % 2 else -1
    return {
        "client_id": str(uuid.uuid4()),
        "customer_id": customer[0],
        "at": (now - timedelta(seconds=2)).isoformat(),
        "lat": lat + sign * OFFSET_DEG,
        "lon": lon - sign * OFFSET_DEG,
        "accuracy_m": 8.0,
        "mock": False,
        "sent_at": now.isoformat(),
        "device_id": f"bench-phone-{rep_index}",
    }


# ------------------------------------------------------------------ load process


async def _phase(spec: dict, kind: str, seconds: float, warmup: float) -> dict:
    import asyncio
    import json
    from urllib.parse import urlsplit

    clients = spec["clients"]  # [(rep_index, token, [customers])]
    latencies: list[float] = []
    errors: list[str] = []
    status_counts: dict[int, int] = {}
    base = urlsplit(spec["base_url"])
    use_httpx = spec["client"] == "httpx"
    if use_httpx:
        import httpx

        limits = httpx.Limits(max_connections=len(clients), max_keepalive_connections=len(clients))
        shared = httpx.AsyncClient(base_url=spec["base_url"], limits=limits, timeout=30)
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = record_from + seconds

    async def task(i: int) -> None:
        rep_index, token, customers = clients[i]
        # A new connection per request: the server closes it after answering.
        close = b"Connection: close\r\n" if spec["connect"] == "per-request" else b""
        auth = close + f"Authorization: Bearer {token}\r\n".encode()
        json_auth = auth + b"Content-Type: application/json\r\n"
        conn = None if use_httpx else RawHttp(base.hostname, base.port)
        k = 0
        # Open loop (--rate): each task sends at its share of the offered rate, latency
        # counted from the scheduled send time (no coordinated omission). Closed loop
        # (default): the next request goes as soon as the previous answer is in.
        interval = len(clients) / spec["rate"] if spec["rate"] else 0.0
        next_at = start + interval * i / len(clients)
        # Clients connect one after another over the first half of the warm-up, as phones
        # do, not in one burst: in a burst the kernel may hand most connections to the
        # uvicorn worker that happens to accept first, leaving the other core idle.
        await asyncio.sleep(warmup / 2 * i / len(clients))
        try:
            while True:
                if interval:
                    delay = next_at - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    t = next_at
                    next_at += interval
                else:
                    t = time.perf_counter()
                if t >= stop_at:
                    return
                k += 1
                if kind == "healthz":
                    method, path, headers, body = "GET", "/healthz", close, b""
                elif kind == "me":
                    method, path, headers, body = "GET", "/v1/me", auth, b""
                else:
                    payload = checkin_body(rep_index, customers[k % len(customers)], k)
                    method, path, headers = "POST", "/v1/visits/check-in", json_auth
                    body = json.dumps(payload).encode()
                if use_httpx:
                    hdrs = dict(
                        line.split(": ", 1)
                        for line in headers.decode().strip().split("\r\n")
                        if line
                    )
                    response = await shared.request(
                        method, path, headers=hdrs, content=body or None
                    )
                    status, text = response.status_code, response.text
                else:
                    status, raw = await conn.request(method, path, headers, body)
                    text = raw.decode(errors="replace") if status >= 300 else ""
                done = time.perf_counter()
                if t >= record_from and done <= stop_at:
                    latencies.append(done - t)
                    status_counts[status] = status_counts.get(status, 0) + 1
                    if status >= 300 and len(errors) < 3:
                        errors.append(f"{status} {text[:200]}")
        finally:
            if conn is not None:
                conn.close()

    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        await asyncio.gather(*(task(i) for i in range(len(clients))))
    finally:
        if use_httpx:
            await shared.aclose()
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return {
        "latencies": latencies,
        "errors": errors,
        "status": status_counts,
        "seconds": seconds,
        "client_cpu": cpu / (time.perf_counter() - start),
    }


def load_process(conn, spec: dict) -> None:
    import asyncio

    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    conn.send("ready")
    while True:
        command = conn.recv()
        if command == "quit":
            return
        kind, seconds, warmup = command
        try:
            conn.send(asyncio.run(_phase(spec, kind, seconds, warmup)))
        except Exception as exc:
            conn.send({"error": repr(exc)})


# ------------------------------------------------------------------ statements per check-in


@contextlib.contextmanager
def principal_cache_on(url: str):
    """This process's principal cache listening, as in an API worker (its lifespan), so
    that the in-process figures match the server's path."""
    from sfa.auth.principal_cache import cache
    from sfa.db import libpq_url

    cache.start(libpq_url(url))
    try:
        deadline = time.monotonic() + 10
        while not cache.enabled and time.monotonic() < deadline:
            time.sleep(0.01)
        if not cache.enabled:
            raise RuntimeError("the principal cache did not start listening")
        yield
    finally:
        cache.stop()


def statements_of_one_check_in(clients) -> list[str]:
    """The SQL one check-in runs, through the real app in-process (no HTTP server)."""
    from fastapi.testclient import TestClient
    from sqlalchemy import event

    from api.main import create_app
    from sfa.db import get_engine

    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", record)
    try:
        rep_index, token, customers = clients[0]
        with TestClient(create_app()) as client:
            headers = {"Authorization": f"Bearer {token}"}
            for k in (10_001, 10_002):  # the first warms caches; the second is listed
                seen.clear()
                r = client.post(
                    "/v1/visits/check-in",
                    headers=headers,
                    json=checkin_body(rep_index, customers[k % len(customers)], k),
                )
                if r.status_code != 201:
                    raise RuntimeError(f"check-in failed: {r.status_code} {r.text[:200]}")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def completed(result):
    """The value of an endpoint: run an `async def` one to its end (the hot endpoints
    await nothing, so one step finishes them, without an event loop's overhead)."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as done:
        return done.value
    result.close()
    raise RuntimeError(f"{result.__qualname__} awaited something: not measurable inline")


def sync_path_breakdown(clients, n: int = 300) -> list[str]:
    """The synchronous part of a check-in request (what blocks the event loop: the
    session, principal, service, response model, commit), in-process and single-threaded,
    without HTTP or concurrency: wall and CPU per check-in, then a cProfile split.

    Compared with GET /v1/me's synchronous part (principal + user lookup) the same way."""
    import cProfile
    import pstats

    from fastapi import Response

    from api.deps import finish
    from api.routers import auth as auth_router
    from api.routers import visits as visits_router
    from api.schemas.visits import CheckInIn
    from sfa.auth import service as auth_service
    from sfa.db import get_sessionmaker

    maker = get_sessionmaker()
    counter = [20_000]

    def request(kind: str) -> None:
        rep_index, token, customers = clients[counter[0] % len(clients)]
        counter[0] += 1
        session = maker()
        principal = auth_service.principal_for_token(session, access_token=token)
        if kind == "checkin":
            k = counter[0]
            # From the JSON bytes, as the endpoint reads its body (api/bodies.py: strict).
            body = CheckInIn.model_validate_json(
                json.dumps(checkin_body(rep_index, customers[k % len(customers)], k))
            )
            out = completed(visits_router.check_in(session, principal, body, Response()))
        else:
            out = completed(auth_router.me(session, principal))
        if hasattr(out, "model_dump_json"):
            out.model_dump_json()
        finish(session, None)  # commit

    lines = []
    for kind in ("me", "checkin"):
        for _ in range(20):
            request(kind)  # warm caches
        wall0, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            request(kind)
        wall = (time.perf_counter() - wall0) / n * 1000
        cpu = (time.process_time() - cpu0) / n * 1000
        lines.append(
            f"  {kind:8} {wall:6.2f} ms wall, {cpu:6.2f} ms CPU of this process "
            "per request (single thread, no HTTP)"
        )
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        request("checkin")
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    wanted = [
        ("principal_for_token", "auth/service.py", "principal (token; cached, else users SELECT)"),
        ("check_in_with_flags", "visits/service.py", "visit_service.check_in_with_flags"),
        ("get_settings", "company/service.py", "  company settings (cached)"),
        ("get_visible_point", "customers/repository.py", "  customer SELECT"),
        ("insert_check_in", "visits/repository.py", "  the check-in statement (+ ORM object)"),
        ("of", "schemas/visits.py", "VisitOut.of (response model)"),
        ("commit", "orm/session.py", "COMMIT"),
        ("execute", "psycopg/cursor.py", "all psycopg Cursor.execute (DB round trips)"),
    ]
    total = sum(v[3] for k, v in stats.items() if k[2] == "request")
    lines.append(f"  cProfile of {n} check-ins (wall, profiler overhead included), per check-in:")
    for func, where, label in wanted:
        calls = cum = 0.0
        for (file, _, name), (_, ncalls, _, ct, _) in stats.items():
            if name == func and file.endswith(where):
                calls += ncalls
                cum += ct
        lines.append(
            f"    {label:44}{1000 * cum / n:6.2f} ms {100 * cum / total:5.1f}%"
            f"  ({calls / n:.1f} calls)"
        )
    return lines


# ------------------------------------------------------------------ parent


def rate_met(result: dict, offered: float) -> bool:
    """Closed loop: the measured rate is the capacity. Open loop: the offered rate (at
    least the target) must have been served, give or take the requests still in flight
    at the end of the window."""
    if not offered:
        return result["rate"] >= TARGET_RATE
    return offered >= TARGET_RATE and result["rate"] >= 0.99 * offered


def connections_per_worker(server) -> str:
    """How the clients' keep-alive connections are spread over uvicorn's workers (the
    kernel hands each new connection to whichever worker accepts first; an uneven split
    leaves a core idle). From `ss`; '?' when it is not available."""
    import re
    import subprocess

    port = server.base_url.rsplit(":", 1)[1]
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", out):
        counts[pid] = counts.get(pid, 0) + 1
    return "/".join(str(n) for n in sorted(counts.values(), reverse=True)) or "?"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=15.0, help="recorded per phase")
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: lean asyncio HTTP/1.1 (default) or httpx",
    )
    parser.add_argument(
        "--connect",
        choices=("keep-alive", "per-request"),
        default="keep-alive",
        help="one connection per client for the whole run (default), or a "
        "new connection per request, as a phone that checks in every few "
        "minutes makes",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=0.0,
        help="open loop: offered requests/s in total (default: closed loop, "
        "each client sends again as soon as it has its answer)",
    )
    args = parser.parse_args()

    banner("check-in: POST /v1/visits/check-in, latency and throughput")
    print(machine_line())
    with pg_cluster() as cluster:
        from sqlalchemy import text

        from sfa.db import session_scope

        reps_per_team = -(-args.clients // TEAMS)
        with session_scope() as session:
            teams = make_teams(
                session,
                teams=TEAMS,
                reps_per_team=reps_per_team,
                customers_per_team=CUSTOMERS_PER_TEAM,
            )
        reps = [(rep_id, customers) for _, rep_ids, customers in teams for rep_id in rep_ids]
        clients = [
            (i, access_token(rep_id), customers)
            for i, (rep_id, customers) in enumerate(reps[: args.clients])
        ]
        log(f"{TEAMS} teams, {len(reps)} reps, {TEAMS * CUSTOMERS_PER_TEAM} customers")

        results: dict[str, dict] = {}
        profile = None
        with api_server(cluster.url, workers=args.workers) as server:
            ctx = mp.get_context("spawn")
            parent_end, child_end = ctx.Pipe()
            spec = {
                "base_url": server.base_url,
                "clients": clients,
                "client": args.client,
                "rate": args.rate,
                "connect": args.connect,
            }
            loader = ctx.Process(target=load_process, args=(child_end, spec), daemon=True)
            loader.start()
            if parent_end.recv() != "ready":
                raise RuntimeError("load process failed to start")
            log(
                f"load process pid {loader.pid}: {args.clients} concurrent tasks "
                f"(asyncio, {args.client} client)"
            )

            def sessions() -> int:
                with session_scope() as session:
                    return session.execute(
                        text(
                            "SELECT sessions FROM pg_stat_database "
                            "WHERE datname = current_database()"
                        )
                    ).scalar()

            def phase(kind: str) -> dict:
                log(f"{kind}: {args.warmup:g} s warm-up + {args.seconds:g} s recorded ...")
                roots = (server.pid, cluster.pid)
                sessions0 = sessions()
                cpu0 = tree_cpu(*roots)
                busy0 = machine_busy()
                t0 = time.perf_counter()
                parent_end.send((kind, args.seconds, args.warmup))
                time.sleep(args.warmup + args.seconds / 2)
                split = connections_per_worker(server)
                out = parent_end.recv()
                out["split"] = split
                wall = time.perf_counter() - t0
                cpu1 = tree_cpu(*roots)
                busy = machine_busy() - busy0
                out["new_sessions"] = sessions() - sessions0
                if "error" in out:
                    raise RuntimeError(f"{kind} phase failed: {out['error']}")
                out["server_cpu"] = (cpu1[server.pid] - cpu0[server.pid]) / wall
                out["pg_cpu"] = (cpu1[cluster.pid] - cpu0[cluster.pid]) / wall
                out["other_cpu"] = max(
                    0.0, busy / wall - out["server_cpu"] - out["pg_cpu"] - out["client_cpu"]
                )
                lat = sorted(out["latencies"])
                out["rate"] = len(lat) / out["seconds"]
                out["p50"], out["p90"], out["p99"] = (
                    percentile(lat, q) * 1000 for q in (50, 90, 99)
                )
                out["max"] = lat[-1] * 1000 if lat else float("nan")
                out["n"] = len(lat)
                bad = sum(n for s, n in out["status"].items() if s >= 300)
                log(
                    f"{kind}: {out['rate']:,.0f} req/s, p50 {out['p50']:.1f} ms, "
                    f"p99 {out['p99']:.1f} ms, {bad} errors {out['errors'][:1]}"
                )
                if bad:
                    raise RuntimeError(f"{kind}: {bad} failed requests: {out['errors']}")
                return out

            results["healthz"] = phase("healthz")
            results["me"] = phase("me")
            results["checkin"] = phase("checkin")
            c = results["checkin"]
            missed = c["p99"] > TARGET_P99_MS or not rate_met(c, args.rate)
            statements = breakdown = None
            if args.profile == "always" or (args.profile == "auto" and missed):
                raw = Path(tempfile.mkdtemp(prefix="sfa-bench-prof-")) / "checkin.txt"
                log("profiling one more check-in phase with py-spy (not counted)")
                with py_spy(server.pid, raw):
                    parent_end.send(("checkin", min(args.seconds, 10.0), 1.0))
                    parent_end.recv()
                profile = profile_summary(raw, top=30, only=("api/", "sfa/"))
                shutil.rmtree(raw.parent, ignore_errors=True)
                with principal_cache_on(cluster.url):
                    statements = statements_of_one_check_in(clients)
                    log("in-process breakdown of the synchronous path")
                    breakdown = sync_path_breakdown(clients)
            parent_end.send("quit")
            loader.join(timeout=30)
        with session_scope() as session:
            visits = session.execute(text("SELECT count(*) FROM visits")).scalar()
            verified = session.execute(
                text("SELECT count(*) FROM visits WHERE verification_status = 'verified'")
            ).scalar()

    labels = {
        "healthz": "GET /healthz (baseline)",
        "me": "GET /v1/me (auth+DB)",
        "checkin": "POST /v1/visits/check-in",
    }
    print(
        f"\n{args.clients} concurrent clients, {args.seconds:g} s recorded per phase, "
        f"API with {args.workers} workers"
        + (f", open loop at {args.rate:g} req/s offered" if args.rate else ", closed loop")
        + "; CPU in cores (of 2)"
    )
    print(
        f"{'':27}{'req/s':>8}{'p50 ms':>8}{'p90 ms':>8}{'p99 ms':>8}{'max ms':>8}"
        f"{'n':>7}{'API cpu':>9}{'PG cpu':>8}{'load cpu':>9}{'others':>8}"
    )
    for kind, label in labels.items():
        r = results[kind]
        print(
            f"{label:27}{r['rate']:>8,.0f}{r['p50']:>8.1f}{r['p90']:>8.1f}{r['p99']:>8.1f}"
            f"{r['max']:>8.1f}{r['n']:>7}{r['server_cpu']:>9.2f}{r['pg_cpu']:>8.2f}"
            f"{r['client_cpu']:>9.2f}{r['other_cpu']:>8.2f}"
        )
    h, m = results["healthz"], results["me"]
    print(
        "('others': CPU used meanwhile by processes that are not this benchmark's, in cores;"
        " more than ~0.2 means the figures are depressed by other work on the machine)"
    )
    print(
        f"ratio check-in / healthz: throughput {c['rate'] / h['rate']:.3f}, "
        f"p50 latency x{c['p50'] / h['p50']:.1f}, p99 latency x{c['p99'] / h['p99']:.1f}"
    )
    print(
        f"ratio check-in / me:      throughput {c['rate'] / m['rate']:.3f}, "
        f"p50 latency x{c['p50'] / m['p50']:.1f}, p99 latency x{c['p99'] / m['p99']:.1f}"
    )
    per_checkin_ms = 1000 * c["server_cpu"] / c["rate"]
    print(
        f"API CPU per request: check-in {per_checkin_ms:.2f} ms, "
        f"me {1000 * m['server_cpu'] / m['rate']:.2f} ms, "
        f"healthz {1000 * h['server_cpu'] / h['rate']:.2f} ms; PostgreSQL CPU per "
        f"check-in {1000 * c['pg_cpu'] / c['rate']:.2f} ms"
    )
    print(
        "client connections per API worker (mid-phase): "
        + ", ".join(f"{k} {results[k]['split']}" for k in labels)
    )
    print(
        "new PostgreSQL connections opened by the API during each phase: "
        + ", ".join(f"{k} {results[k]['new_sessions']}" for k in labels)
    )
    p99_ok = "met" if c["p99"] <= TARGET_P99_MS else "MISSED"
    print(
        f"targets: p99 <= {TARGET_P99_MS:g} ms: {p99_ok}"
        f" ({c['p99']:.1f}); >= {TARGET_RATE:g} check-ins/s: "
        f"{'met' if rate_met(c, args.rate) else 'MISSED'} ({c['rate']:,.0f}"
        + (f" of {args.rate:,.0f} offered)" if args.rate else ")")
    )
    if not args.rate:
        print(
            f"(closed loop: mean latency = clients / throughput, so p99 <= "
            f"{TARGET_P99_MS:g} ms with {args.clients} clients needs more than "
            f"{args.clients / TARGET_P99_MS * 1000:,.0f} check-ins/s; --rate R measures "
            "latency at a fixed offered load instead)"
        )
    print(f"visits stored: {visits:,} ({verified:,} verified)")
    if statements is not None:
        print(f"\nstatements of one check-in ({len(statements)}, plus BEGIN/COMMIT):")
        for s in statements:
            print(f"  {s[:150]}")
    if breakdown:
        print("\nsynchronous path of a request, in-process (no HTTP, no concurrency):")
        print("\n".join(breakdown))
    if profile:
        print(
            "\nwhere the API workers spend CPU during check-ins (py-spy, GIL held; "
            "samples on the event-loop thread are less reliable than the in-process "
            "split above):"
        )
        print(profile)
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
