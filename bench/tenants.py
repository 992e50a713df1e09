"""Many companies on one API process (docs/tenancy.md): its memory and its database
connections with 50 companies, and an authenticated read spread over them against the
same read of one company.

Measured in one run on one throwaway cluster: a registry of N companies (default 50;
the first made by `sfa tenants create`'s code, the others copies of its database, as
`CREATE DATABASE ... TEMPLATE` makes them, each registered), each with an administrator
and 200 customers, served by one `sfa serve --workers 1` with the deployed pool settings
(SFA_TENANT_POOL_SIZE 2, SFA_TENANT_MAX_ENGINES 64) and a shortened idle time:

1. the API's RSS and its connections (pg_stat_activity, by the application name its
   libpq is given) after start, then after one request to each company;
2. `GET /v1/customers?limit=10` (a threaded endpoint: token, principal, one query), C
   clients in a separate load process, closed loop: every request to the next company
   in turn (X-Company and that company's token) against all of them on one company,
   measured one / spread / one; the ratio is spread over the mean of the two "one"
   passes; peak RSS and connections sampled meanwhile;
3. the connections once SFA_TENANT_IDLE_SECONDS have passed without a request: the
   companies' pools closed, their principal-cache listeners stopped.

The budget for N companies, checked at the end: RSS ≤ 200 MB up to 50 companies, 1 MB
more for each beyond (the process alone is ~160 MB of modules and app; each open
company adds an engine with its statement cache, a principal cache and its listener's
thread), and connections ≤ N × (tenant_pool_size + 1) + (db_pool_size -
tenant_pool_size) + 25 (193 at 50): each open company keeps its pooled connections and
one principal-cache listener; the process keeps at most db_pool_size - tenant_pool_size
burst connections as spares beyond those (sfa/tenants/pool.py); 25 for the default
company's pool in use, its listener and the registry's pool. "connections opened" per
pass is what a company busier than its kept pool pays for connections it cannot keep.

    .venv/bin/python bench/tenants.py [--companies 50] [--seconds 15] [--clients 8]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import secrets
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from _common import RawHttp, api_server, banner, log, machine_line, percentile, pg_cluster

POOL_SIZE = int(os.environ.get("SFA_TENANT_POOL_SIZE", "2"))
DB_POOL_SIZE = int(os.environ.get("SFA_DB_POOL_SIZE", "20"))
IDLE_SECONDS = 20
CUSTOMERS = 200
PATH = "/v1/customers?limit=10"
# The companies' processes (the API, and the principal-cache listeners it starts) need
# about three connections per company: more than PostgreSQL's default 100.
os.environ["SFA_PG_OPTIONS"] = "-c max_connections=400 " + os.environ.get("SFA_PG_OPTIONS", "")
os.environ.setdefault("SFA_JWT_SECRET", "bench-" + secrets.token_hex(24))


def budget(companies: int) -> tuple[float, int]:
    """(RSS in MB, connections) the API may use with `companies` open."""
    spares = DB_POOL_SIZE - POOL_SIZE
    return 200 + max(0, companies - 50) * 1.0, companies * (POOL_SIZE + 1) + spares + 25


# ---------------------------------------------------------------- the companies


def _server(url: str) -> str:
    return url.rsplit("/", 1)[0]


def make_companies(default_url: str, count: int) -> list[tuple[str, str]]:
    """`count` companies of a new registry; returns [(slug, access token of its admin)]."""
    import psycopg
    from psycopg import sql
    from sqlalchemy import select, text

    from sfa.auth import tokens
    from sfa.config import get_settings
    from sfa.db import get_engine, libpq_url, session_scope
    from sfa.tenants import engines, registry, repository, service
    from sfa.tenants.models import Tenant
    from sfa.users.models import User

    server = _server(default_url)
    admin_url = libpq_url(f"{server}/postgres")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE sfa_registry")
    os.environ["SFA_TENANTS_URL"] = f"{server}/sfa_registry"
    get_settings.cache_clear()
    registry.clear()
    started = time.perf_counter()
    first = service.create(
        registry.get_registry(), slug="c000", admin_password="bench-admin-pass"
    ).tenant
    took = time.perf_counter() - started
    log(f"company c000 created as `sfa tenants create` does in {took:.1f} s")
    with service.company_database(first), session_scope() as session:
        session.execute(
            text(
                "INSERT INTO customers (code, name, customer_class, location_status, "
                "is_distributor) SELECT 'C-' || i, 'Toko ' || i, 'toko', 'imported', false "
                "FROM generate_series(1, :n) i"
            ),
            {"n": CUSTOMERS},
        )
        admin_id = session.scalar(select(User.id).where(User.username == "admin"))
    engines.clear()  # no connection to the template may stay open while it is copied
    started = time.perf_counter()
    tenants = [first]
    reg = registry.get_registry()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for number in range(1, count):
            slug = f"c{number:03d}"
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY").format(
                    sql.Identifier(f"sfa_{slug}"), sql.Identifier("sfa_c000")
                )
            )
            tenant = Tenant(slug=slug, display_name=slug, database_url=f"{server}/sfa_{slug}")
            repository.add(reg.engine, tenant)
            tenants.append(tenant)
    took = time.perf_counter() - started
    log(f"{count - 1} more companies copied and registered in {took:.1f} s")
    out = []
    for tenant in tenants:
        with service.company_database(tenant):
            out.append((tenant.slug, tokens.issue(admin_id, "access")))
    engines.clear()
    reg.dispose()
    get_engine().dispose()  # the bench holds no connection while the API is measured
    return out


# ---------------------------------------------------------------- what the API holds


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[1] == str(pid):
                out.append(int(entry.name))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of `pid` and its children (uvicorn's workers, if any), in MB."""
    total = 0
    for one in (pid, *_children(pid)):
        try:
            status = Path(f"/proc/{one}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def _socket_ports(pids: list[int], server_port: int) -> list[int]:
    """The local ports of the TCP connections `pids` hold to `server_port`."""
    inodes = set()
    for pid in pids:
        fds = Path(f"/proc/{pid}/fd")
        for fd in fds.iterdir() if fds.exists() else ():
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    ports = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote, inode = fields[1], fields[2], fields[9]
            if inode in inodes and int(remote.rsplit(":", 1)[1], 16) == server_port:
                ports.append(int(local.rsplit(":", 1)[1], 16))
    return ports


class Connections:
    """The API process's connections to the cluster (pool connections and the
    principal-cache listeners alike), found by their client ports in pg_stat_activity."""

    def __init__(self, default_url: str, pid: int):
        import psycopg
        from sqlalchemy.engine import make_url

        from sfa.db import libpq_url

        self.pid, self.port = pid, make_url(default_url).port
        self.conn = psycopg.connect(libpq_url(f"{_server(default_url)}/postgres"), autocommit=True)

    def count(self) -> tuple[int, int, int]:
        """(connections, those on company databases of the registry, how many such
        databases): the rest are the default company's and the registry's."""
        pids = [self.pid, *_children(self.pid)]
        row = self.conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE datname LIKE 'sfa\\_c%%'), "
            "count(DISTINCT datname) FILTER (WHERE datname LIKE 'sfa\\_c%%') "
            "FROM pg_stat_activity WHERE client_port = ANY(%s)",
            (_socket_ports(pids, self.port),),
        ).fetchone()
        return row[0], row[1], row[2]

    def opened(self) -> int:
        """Connections ever opened to the company databases (pg_stat_database)."""
        return int(
            self.conn.execute(
                "SELECT coalesce(sum(sessions), 0) FROM pg_stat_database "
                "WHERE datname LIKE 'sfa\\_c%'"
            ).fetchone()[0]
        )

    def close(self) -> None:
        self.conn.close()


class Peak:
    """The highest RSS and connection count sampled while the block runs."""

    def __init__(self, pid: int, connections: Connections):
        self.pid, self.connections = pid, connections
        self.rss, self.conns = 0.0, 0
        self._stop = threading.Event()

    def __enter__(self) -> Peak:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self.rss = max(self.rss, rss_mb(self.pid))
            self.conns = max(self.conns, self.connections.count()[0])

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- load


async def _load(spec: dict) -> dict:
    import asyncio

    base = urlsplit(spec["base_url"])
    start = time.perf_counter()
    record_from, stop_at = start + spec["warmup"], start + spec["warmup"] + spec["seconds"]
    latencies: list[float] = []
    errors: list[str] = []
    headers = [
        f"X-Company: {slug}\r\nAuthorization: Bearer {token}\r\n".encode()
        for slug, token in spec["companies"]
    ]

    async def client(first: int) -> None:
        conn = RawHttp(base.hostname, base.port)
        k = first
        try:
            while (t := time.perf_counter()) < stop_at:
                status, raw = await conn.request("GET", PATH, headers[k % len(headers)])
                k += spec["clients"]
                done = time.perf_counter()
                if status != 200 and len(errors) < 3:
                    errors.append(f"{status} {raw[:200]!r}")
                if t >= record_from and done <= stop_at:
                    latencies.append(done - t)
        finally:
            conn.close()

    await asyncio.gather(*(client(n) for n in range(spec["clients"])))
    return {"latencies": latencies, "errors": errors}


def _run_load(conn, spec: dict) -> None:
    import asyncio

    conn.send(asyncio.run(_load(spec)))


def measure(spec: dict) -> dict:
    """One pass in a load process of its own: throughput and latency."""
    parent, child = mp.Pipe()
    process = mp.get_context("fork").Process(target=_run_load, args=(child, spec))
    process.start()
    out = parent.recv()
    process.join()
    if out["errors"]:
        raise RuntimeError(f"requests failed: {out['errors']}")
    ordered = sorted(out["latencies"])
    return {
        "rate": len(ordered) / spec["seconds"],
        "p50": percentile(ordered, 50) * 1000,
        "p99": percentile(ordered, 99) * 1000,
    }


def touch_all(base_url: str, companies: list[tuple[str, str]]) -> None:
    import asyncio

    async def run() -> None:
        base = urlsplit(base_url)
        conn = RawHttp(base.hostname, base.port)
        try:
            for slug, token in companies:
                headers = f"X-Company: {slug}\r\nAuthorization: Bearer {token}\r\n".encode()
                status, raw = await conn.request("GET", PATH, headers)
                if status != 200:
                    raise RuntimeError(f"{slug}: {status} {raw[:200]!r}")
        finally:
            conn.close()

    asyncio.run(run())


# ---------------------------------------------------------------- the run


def _state(name: str, rss: float, conns: tuple[int, int, int]) -> None:
    print(
        f"{name:<44} RSS {rss:7.1f} MB   connections {conns[0]:4d} "
        f"({conns[1]:4d} on {conns[2]:3d} company databases)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--companies", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    print(machine_line())
    with pg_cluster() as cluster:
        companies = make_companies(cluster.url, args.companies)
        os.environ |= {
            "SFA_TENANT_POOL_SIZE": str(POOL_SIZE),
            "SFA_TENANT_IDLE_SECONDS": str(IDLE_SECONDS),
        }
        with api_server(cluster.url, workers=1) as server:
            connections = Connections(cluster.url, server.pid)
            try:
                results = run_phases(server, companies, connections, args)
            finally:
                connections.close()
    report(results, args)
    print(machine_line("end"))


def run_phases(server, companies, connections: Connections, args) -> dict:
    spec = {"base_url": server.base_url, "clients": args.clients, "seconds": args.seconds}
    spec["warmup"] = 2.0
    banner(f"one API process, {len(companies)} companies")
    out: dict = {"start": (rss_mb(server.pid), connections.count())}
    _state("after start (the default company only)", *out["start"])
    touch_all(server.base_url, companies)
    out["touched"] = (rss_mb(server.pid), connections.count())
    _state(f"after one request to each of {len(companies)}", *out["touched"])

    passes = {}
    with Peak(server.pid, connections) as peak:
        for name, chosen in (
            ("one", companies[:1]),
            ("spread", companies),
            ("one again", companies[:1]),
        ):
            before = connections.opened()
            passes[name] = measure(spec | {"companies": chosen})
            passes[name]["opened"] = connections.opened() - before
            print(
                f"GET {PATH}, {name:<10} ({len(chosen):3d} companies) "
                f"{passes[name]['rate']:7.1f}/s  p50 {passes[name]['p50']:6.1f} ms  "
                f"p99 {passes[name]['p99']:6.1f} ms  {passes[name]['opened']:5d} connections opened"
            )
    out |= {"passes": passes, "peak": (peak.rss, peak.conns)}
    print(f"{'peak during the loads':<44} RSS {peak.rss:7.1f} MB   connections {peak.conns:4d}")

    log(f"waiting {IDLE_SECONDS} s (the idle time) and a sweep without requests")
    deadline = time.monotonic() + IDLE_SECONDS + 10
    while time.monotonic() < deadline and connections.count()[2] > 0:
        time.sleep(1)
    out["idle"] = (rss_mb(server.pid), connections.count())
    _state(f"after {IDLE_SECONDS} s without requests", *out["idle"])
    return out


def report(out: dict, args) -> None:
    passes = out["passes"]
    one = (passes["one"]["rate"] + passes["one again"]["rate"]) / 2
    banner("ratios and budget")
    ratio = passes["spread"]["rate"] / one
    print(
        f"throughput spread over {args.companies} / one company: {ratio:.2f}x "
        f"(one company: {passes['one']['rate']:.1f} then {passes['one again']['rate']:.1f}/s)"
    )
    print(f"RSS after touching all / before: {out['touched'][0] / out['start'][0]:.2f}x")
    rss_budget, conn_budget = budget(args.companies)
    rss = max(out["touched"][0], out["peak"][0])
    conns = max(out["touched"][1][0], out["peak"][1])
    for name, value, limit, unit in (
        ("RSS", rss, rss_budget, " MB"),
        ("connections", conns, conn_budget, ""),
    ):
        verdict = "met" if value <= limit else "NOT met"
        print(f"budget {name}: peak {value:.0f}{unit} ≤ {limit:.0f}{unit}: {verdict}")
    idle = out["idle"][1]
    print(
        f"after the idle time: {idle[0]} connections, {idle[1]} of them on company databases: "
        + ("every company's pool closed" if idle[2] == 0 else "NOT all closed")
    )


if __name__ == "__main__":
    main()
