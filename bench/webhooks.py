"""Webhooks: deliveries/s to a local receiver, and event-to-delivery latency.

A receiver process on 127.0.0.1 (HTTP/1.1 keep-alive, answers 200) and 10 subscriptions
to it (10 paths), each taking `announcement.due`.

(a) deliveries/s: N events emitted (distinct subjects), then the dispatcher loop as the
    scheduler runs it (`DispatchLoop`: drain the `webhooks` consumer, claim, POST signed
    with `SFA_WEBHOOKS_WORKERS` threads, record) until all N×10 are delivered.
    Baseline, same run: a bare POST loop of the same N×10 bodies to the same receiver,
    with the same number of threads and one keep-alive client (no database, no
    signature). Target: ours / bare ≥ 0.5.
(b) latency at `--rate` events/s (default 200) for `--seconds`: a separate process emits
    one event per transaction at that pace while the dispatcher loop runs; latency =
    `delivered_at` (recorded after the receiver's answer) minus `occurred_at` (the emit),
    p50/p99 over every delivery. Target: p99 ≤ 2 s.

Nothing leaves 127.0.0.1. `.venv/bin/python bench/webhooks.py [--events 2000]
[--rate 200] [--seconds 15]`
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

os.environ["SFA_WEBHOOKS_ALLOW_LOOPBACK"] = "true"

from _common import banner, free_port, log, machine_line, percentile, pg_cluster

ENDPOINTS = 10
TARGET_RATIO = 0.5
TARGET_P99_S = 2.0
EVENT_TYPE = "announcement.due"


def _serve(port: int, ready) -> None:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real receiver
        # One write per answer, sent at once: the headers and the body in separate
        # segments would wait for the client's delayed ACK (40 ms each).
        wbufsize = -1
        disable_nagle_algorithm = True

        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    ThreadingHTTPServer.request_queue_size = 256  # many keep-alive clients connect at once
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    ready.set()
    server.serve_forever()


def _emit(session, subject: str) -> None:
    from datetime import UTC, datetime

    from sfa.events import service as events

    events.emit(
        session,
        EVENT_TYPE,
        subject_kind="announcement",
        subject_id=subject,
        actor=events.SYSTEM,
        payload={
            "announcement_id": 1,
            "kind": "promotion",
            "title": f"bench {subject}",
            "team_ids": None,
            "effective_at": datetime.now(UTC),
        },
    )


def _subscribe(port: int) -> list[int]:
    from sfa.db import session_scope
    from sfa.users.models import Role, User
    from sfa.webhooks.models import WebhookEndpoint
    from sfa.webhooks.signing import new_secret

    with session_scope() as session:
        admin = User(username="bench-admin", full_name="Bench", role=Role.admin, password_hash="x")
        session.add(admin)
        session.flush()
        rows = [
            WebhookEndpoint(
                name=f"bench-{i}",
                url=f"http://127.0.0.1:{port}/e{i}",
                event_types=[EVENT_TYPE],
                secret=new_secret(),
                owner_user_id=admin.id,
                created_by=f"user:{admin.id}",
            )
            for i in range(ENDPOINTS)
        ]
        session.add_all(rows)
        session.flush()
        return [r.id for r in rows]


def _delivered(since_id: int = 0) -> tuple[int, int]:
    from sqlalchemy import text

    from sfa.db import session_scope

    with session_scope() as session:
        done, total = session.execute(
            text(
                "SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) "
                "FROM webhook_deliveries WHERE id > :since"
            ),
            {"since": since_id},
        ).one()
    return done, total


def _last_delivery_id() -> int:
    from sqlalchemy import text

    from sfa.db import session_scope

    with session_scope() as session:
        return session.execute(text("SELECT coalesce(max(id), 0) FROM webhook_deliveries")).scalar()


def _run_loop_until(expected: int, since: int, timeout: float) -> float:
    """Run the dispatcher loop in a thread until `expected` deliveries are delivered."""
    from sfa.webhooks.jobs import DispatchLoop

    loop = DispatchLoop()
    start = time.perf_counter()
    loop.start_thread()
    try:
        while time.perf_counter() - start < timeout:
            done, _ = _delivered(since)
            if done >= expected:
                break
            time.sleep(0.05)
    finally:
        elapsed = time.perf_counter() - start
        loop.stop()
    return elapsed


def throughput(events: int, port: int) -> tuple[float, float]:
    from sfa.db import session_scope

    since = _last_delivery_id()
    with session_scope() as session:
        for i in range(events):
            _emit(session, f"a-{i}")
    expected = events * ENDPOINTS
    log(f"(a) {events} events emitted; dispatching {expected} deliveries")
    elapsed = _run_loop_until(expected, since, timeout=600)
    done, _ = _delivered(since)
    ours = done / elapsed
    log(f"(a) {done} delivered in {elapsed:.2f} s")

    import httpx
    from sqlalchemy import text

    with session_scope() as session:
        bodies = [
            (url, body)
            for url, body in session.execute(
                text(
                    "SELECT e.url, d.body FROM webhook_deliveries d "
                    "JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id > :s"
                ),
                {"s": since},
            )
        ]
    from sfa.config import get_settings

    threads = get_settings().webhooks_workers
    with httpx.Client(trust_env=False, timeout=15) as client, ThreadPoolExecutor(threads) as pool:
        start = time.perf_counter()
        statuses = list(
            pool.map(
                lambda ub: (
                    client.post(
                        ub[0], content=ub[1], headers={"content-type": "application/json"}
                    ).status_code
                ),
                bodies,
            )
        )
        bare_elapsed = time.perf_counter() - start
    assert all(s == 200 for s in statuses)
    bare = len(bodies) / bare_elapsed
    return ours, bare


def _emitter(url: str, rate: float, seconds: float, started) -> None:
    from _common import use_database

    use_database(url)
    from sfa.db import session_scope

    started.set()
    begin = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - begin) < seconds:
        due = n / rate
        if due > elapsed:
            time.sleep(due - elapsed)
        with session_scope() as session:
            _emit(session, f"b-{n}")
        n += 1


def _activate(endpoints: int) -> None:
    from sqlalchemy import text

    from sfa.db import session_scope

    with session_scope() as session:
        session.execute(
            text(
                "UPDATE webhook_endpoints SET active = (id <= (SELECT min(id) FROM "
                "webhook_endpoints) + :n - 1)"
            ),
            {"n": endpoints},
        )


def latency(
    url: str, rate: float, seconds: float, endpoints: int
) -> tuple[list[float], int, float]:
    from sqlalchemy import text

    from sfa.db import session_scope
    from sfa.webhooks.jobs import DispatchLoop

    _activate(endpoints)
    since = _last_delivery_id()
    loop = DispatchLoop()
    loop.start_thread()
    spawn = mp.get_context("spawn")
    started = spawn.Event()
    proc = spawn.Process(target=_emitter, args=(url, rate, seconds, started))
    proc.start()
    proc.join()
    expected = int(rate * seconds) * endpoints
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        done, total = _delivered(since)
        if total >= expected * 0.99 and done >= total:
            break
        time.sleep(0.1)
    loop.stop()
    with session_scope() as session:
        rows = session.execute(
            text(
                "SELECT extract(epoch FROM delivered_at - occurred_at) FROM webhook_deliveries "
                "WHERE id > :s AND state = 'delivered' ORDER BY 1"
            ),
            {"s": since},
        ).scalars()
        values = [float(v) for v in rows]
    done, total = _delivered(since)
    return values, total, done / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    banner("webhooks: deliveries/s and event-to-delivery latency (bench/webhooks.py)")
    print(machine_line())
    port = free_port()
    ready = mp.Event()
    receiver = mp.get_context("fork").Process(target=_serve, args=(port, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    try:
        with pg_cluster() as cluster:
            _subscribe(port)
            ours, bare = throughput(args.events, port)
            ratio = ours / bare
            verdict = "ok" if ratio >= TARGET_RATIO else "MISSED"
            print(
                f"(a) {ENDPOINTS} endpoints, {args.events * ENDPOINTS} deliveries: "
                f"{ours:,.0f} deliveries/s; bare POST loop {bare:,.0f}/s; "
                f"ratio {ratio:.2f} (target ≥ {TARGET_RATIO}) {verdict}"
            )
            for endpoints in (ENDPOINTS, 1):
                values, total, share = latency(cluster.url, args.rate, args.seconds, endpoints)
                p50, p99 = percentile(values, 50), percentile(values, 99)
                verdict = "ok" if p99 <= TARGET_P99_S else "MISSED"
                print(
                    f"(b) {args.rate:.0f} events/s × {endpoints} endpoint(s) for "
                    f"{args.seconds:.0f} s: {total} deliveries ({share:.1%} delivered), "
                    f"event-to-delivery p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms "
                    f"(target p99 ≤ {TARGET_P99_S:.0f} s) {verdict}"
                )
            print(machine_line("end"))
    finally:
        receiver.terminate()
        receiver.join()


if __name__ == "__main__":
    main()
