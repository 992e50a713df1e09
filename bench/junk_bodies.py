"""/healthz latency while anonymous clients post junk bodies (issue 12).

Before the fix, a 1.9 MiB `[1,1,1,…]` posted to /v1/pings without a token was parsed and
validated on the event loop before the token was looked at (11 s during which the
process answered nothing, /healthz included), and a 20 MB body held the API for minutes.

Measured against `sfa serve --workers 2`, from a separate load process: 8 clients ask
/healthz in a closed loop, first alone (the baseline), then while 4 other clients post,
one after another and without credentials, 20 MB bodies (declared with Content-Length)
and 1.9 MiB JSON arrays to POST /v1/pings, and the same array with a forged token.
Printed: /healthz p50/p99 in both phases and their ratio, and how the junk was answered
(status, time to the answer).

    .venv/bin/python bench/junk_bodies.py [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import time
from collections import Counter

from _common import RawHttp, api_server, banner, log, machine_line, percentile, pg_cluster

PROBES = 8
ARRAY = b"[" + b"1," * (1_000_000 - 1) + b"1]"  # 1.9 MiB
BIG = 20 * 1024 * 1024
CHUNK = b" " * 65536


async def _probe(host, port, until, latencies, failures):
    """/healthz in a closed loop; a request that fails or takes past the phase's end
    (the server dropped or never answered it) is counted as a failure too."""
    client = RawHttp(host, port)
    try:
        while time.monotonic() < until:
            started = time.perf_counter()
            try:
                status, _ = await asyncio.wait_for(
                    client.request("GET", "/healthz"), timeout=max(until - time.monotonic(), 0.1)
                )
            except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
                # Unanswered until the phase ended (or dropped): it counts in the
                # percentiles with the time it waited, a stall is not left out.
                failures.append(1)
                latencies.append((time.perf_counter() - started) * 1000)
                client.close()
                client = RawHttp(host, port)
                continue
            if status == 200:
                latencies.append((time.perf_counter() - started) * 1000)
    finally:
        client.close()


async def _send_junk(host, port, kind) -> str:
    """One anonymous junk request on a new connection; the answer's status."""
    auth = b"Authorization: Bearer forged.token.value\r\n" if kind == "forged" else b""
    size = BIG if kind == "20MB" else len(ARRAY)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(
            b"POST /v1/pings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"%sContent-Length: %d\r\n\r\n" % (auth, size)
        )
        reading = asyncio.ensure_future(reader.readuntil(b"\r\n\r\n"))
        if kind == "20MB":
            sent = 0
            while sent < size and not reading.done():
                writer.write(CHUNK)
                await writer.drain()
                sent += len(CHUNK)
        else:
            writer.write(ARRAY)
            await writer.drain()
        return (await reading)[9:12].decode()
    finally:
        writer.close()


async def _junk(host, port, until, kind, outcomes):
    """Junk requests one after another until the phase ends; one that is not answered
    within 20 s of the end is counted as unanswered."""
    while time.monotonic() < until:
        started = time.perf_counter()
        try:
            status = await asyncio.wait_for(
                _send_junk(host, port, kind), timeout=max(until - time.monotonic(), 0) + 20
            )
        except TimeoutError:
            status = "none"
        except (ConnectionError, asyncio.IncompleteReadError):
            status = "reset"
        outcomes.append((kind, status, (time.perf_counter() - started) * 1000))


async def _phase(host, port, seconds, junk: bool):
    until = time.monotonic() + seconds
    latencies: list[float] = []
    outcomes: list = []
    failures: list = []
    tasks = [_probe(host, port, until, latencies, failures) for _ in range(PROBES)]
    if junk:
        tasks += [_junk(host, port, until, kind, outcomes) for kind in ARGS.junk.split(",")]
    await asyncio.gather(*tasks)
    outcomes += [("healthz", "failed", 0.0)] * len(failures)
    return sorted(latencies), outcomes


def _load(host, port, seconds, queue, args):
    global ARGS
    ARGS = args  # the child process of a spawn start has not parsed them
    baseline = asyncio.run(_phase(host, port, seconds, junk=False))
    with_junk = asyncio.run(_phase(host, port, seconds, junk=True))
    queue.put((baseline, with_junk))


def _row(name, latencies):
    n = len(latencies)
    if not n:
        return f"{name:<34}  no answer"
    return (
        f"{name:<34}{n / ARGS.seconds:>9,.0f}{percentile(latencies, 50):>9.1f}"
        f"{percentile(latencies, 99):>9.1f}{latencies[-1]:>9.1f}{n:>8}"
    )


def main() -> None:
    banner("junk bodies: GET /healthz while anonymous clients post junk to /v1/pings")
    print(machine_line())
    with pg_cluster() as cluster, api_server(cluster.url) as server:
        host, port = "127.0.0.1", int(server.base_url.rsplit(":", 1)[1])
        log(f"/healthz alone for {ARGS.seconds} s, then with junk for {ARGS.seconds} s")
        queue: mp.Queue = mp.Queue()
        proc = mp.Process(target=_load, args=(host, port, ARGS.seconds, queue, ARGS))
        proc.start()
        (base, _), (junk, outcomes) = queue.get(timeout=ARGS.seconds * 2 + 120)
        proc.join()
    print(f"{PROBES} /healthz clients, closed loop, API with 2 workers")
    print(f"{'':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'n':>8}")
    print(_row("GET /healthz alone (baseline)", base))
    print(_row("GET /healthz while junk is posted", junk))
    ratio = percentile(junk, 99) / percentile(base, 99)
    print(f"ratio p99 with junk / alone = x{ratio:.2f}")
    counts = Counter((kind, status) for kind, status, _ in outcomes)
    for (kind, status), n in sorted(counts.items()):
        times = sorted(ms for k, s, ms in outcomes if (k, s) == (kind, status))
        print(
            f"junk {kind:<7} answered {status}: {n:>5} times, "
            f"p50 {percentile(times, 50):.1f} ms, max {times[-1]:.1f} ms"
        )
    print(machine_line("end"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument(
        "--junk",
        default="20MB,array,array,forged",
        help="one junk sender per item: 20MB, array (1.9 MiB), forged (array, forged token)",
    )
    ARGS = parser.parse_args()
    main()
