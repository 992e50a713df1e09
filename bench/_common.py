"""Shared pieces of the benchmarks: a throwaway PostGIS cluster, the API as a real server,
test data (teams, reps, customers, tokens) and result formatting.

Nothing here touches the project's own cluster (.pgdata) or any server it did not start:
every cluster lives in a temporary folder on a free port and is stopped by its pid
(scripts/pg.sh stop); every API server is a child process stopped by its own pid.
"""

from __future__ import annotations

import contextlib
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
# Long-lived access tokens: a benchmark must not fail because a token expired mid-run.
os.environ.setdefault("SFA_ACCESS_TOKEN_MINUTES", "240")

_T0 = time.perf_counter()


def _terminate(signum, frame):
    # A timeout's SIGTERM must still run the `finally` blocks that stop our cluster and
    # server; Python's default would exit without them.
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminate)


def log(message: str) -> None:
    """Progress line on stderr, with the seconds since the benchmark started."""
    print(f"[{time.perf_counter() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def interrupt(proc: subprocess.Popen, *, timeout: float) -> None:
    """Stop a child as Ctrl-C would (it cleans up), killing it if it takes too long."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def machine_line(when: str = "start") -> str:
    load = os.getloadavg()
    return (
        f"machine: {os.cpu_count()} cores, load average {load[0]:.2f} {load[1]:.2f} "
        f"{load[2]:.2f} at {when} (other processes on the machine add noise)"
    )


def use_database(url: str) -> None:
    """Point this process's sfa settings, engine and sessions at `url`."""
    from sfa import db as sfa_db
    from sfa.config import get_settings

    os.environ["SFA_DATABASE_URL"] = url
    get_settings.cache_clear()
    sfa_db.get_engine.cache_clear()
    sfa_db.get_sessionmaker.cache_clear()


@dataclass
class Cluster:
    url: str  # SQLAlchemy URL of the benchmark database
    pid: int  # the postmaster


@contextlib.contextmanager
def pg_cluster(db: str = "sfa_bench") -> Iterator[Cluster]:
    """A migrated throwaway PostGIS database.

    fsync follows SFA_PG_FSYNC (scripts/pg.sh; default on, like production)."""
    from sfa import migrate

    data_dir = Path(tempfile.mkdtemp(prefix="sfa-bench-pg-"))
    port = free_port()
    script = ROOT / "scripts" / "pg.sh"
    log(
        f"starting a throwaway PostGIS cluster in {data_dir} on port {port} "
        f"(fsync={os.environ.get('SFA_PG_FSYNC', 'on')})"
    )
    # A server that has been running keeps finished WAL segments and reuses them; a new
    # cluster creates (and zero-fills, and fsyncs: 16 MB) a segment every few seconds
    # under write load, and each creation stalls every commit for 50-100 ms here. That is
    # the fresh cluster's cost, not ours: min_wal_size keeps recycled segments and
    # _warm_wal() makes them before anything is measured.
    env = os.environ | {
        "SFA_PG_OPTIONS": f"-c min_wal_size={WARM_WAL_MB}MB "
        f"-c max_wal_size={4 * WARM_WAL_MB}MB " + os.environ.get("SFA_PG_OPTIONS", "")
    }
    subprocess.run(
        [script, "start", str(data_dir), str(port), db],
        check=True,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    try:
        url = f"postgresql+psycopg://sfa@127.0.0.1:{port}/{db}"
        use_database(url)
        migrate.upgrade(url)
        _warm_wal()
        log(
            f"migrated; {WARM_WAL_MB} MB of WAL segments ready for reuse, as on a server "
            "that has been running"
        )
        pid = int((data_dir / "postmaster.pid").read_text().split()[0])
        yield Cluster(url, pid)
    finally:
        from sfa import db as sfa_db

        with contextlib.suppress(Exception):
            sfa_db.get_engine().dispose()
        subprocess.run([script, "stop", str(data_dir)], check=False)
        shutil.rmtree(data_dir, ignore_errors=True)


WARM_WAL_MB = 512


def _warm_wal() -> None:
    """Write WARM_WAL_MB of WAL and checkpoint: later writes reuse those segments."""
    from sqlalchemy import text

    from sfa.db import session_scope

    with session_scope() as session:
        # PLAIN storage: no compression, so each ~1.8 KB row is ~1.8 KB of WAL.
        session.execute(text("CREATE TABLE _bench_wal (g int, pad text)"))
        session.execute(text("ALTER TABLE _bench_wal ALTER pad SET STORAGE PLAIN"))
        session.execute(
            text(
                "INSERT INTO _bench_wal SELECT g, repeat(md5(g::text), 56) "
                "FROM generate_series(1, :rows) g"
            ),
            {"rows": WARM_WAL_MB * 1024 * 1024 // 1850},
        )
        session.execute(text("DROP TABLE _bench_wal"))
    with session_scope() as session:
        session.execute(text("CHECKPOINT"))


@dataclass
class Server:
    base_url: str
    pid: int
    log_path: Path


@contextlib.contextmanager
def api_server(
    url: str, *, workers: int = 2, log_level: str = "warning", factory: str | None = None
) -> Iterator[Server]:
    """`sfa serve --workers N` as a real server on a free loopback port.

    The log level defaults to warning: per-request access lines would otherwise be
    written by both uvicorn and our middleware for every request (set BENCH_LOG_LEVEL=info
    to include that cost)."""
    import httpx

    port = free_port()
    log_level = os.environ.get("BENCH_LOG_LEVEL", log_level)
    log_dir = Path(tempfile.mkdtemp(prefix="sfa-bench-api-"))
    log_path = log_dir / "server.log"
    # A bench drives a few users hard: the rate limits stay on (their cost is measured)
    # but far above the load.
    env = {
        "SFA_RATE_LIMIT_USER_PER_MINUTE": "1000000000",
        "SFA_RATE_LIMIT_API_KEY_PER_MINUTE": "1000000000",
    }
    env |= os.environ | {"SFA_DATABASE_URL": url, "SFA_LOG_LEVEL": log_level}
    factory = factory or os.environ.get("BENCH_APP_FACTORY")
    if factory is None:
        command = [
            str(VENV_BIN / "sfa"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ]
    else:  # an app factory "module:function" under bench/, for A/B experiments
        command = [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            factory,
            "--app-dir",
            str(ROOT / "bench"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            log_level,
        ]
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    log(
        f"API server pid {proc.pid}: {factory or 'sfa serve'} --workers {workers} on {base} "
        f"(log level {log_level})"
    )
    try:
        deadline = time.monotonic() + 60
        ready = 0
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the API server exited ({proc.returncode}):\n" + log_path.read_text()[-3000:]
                )
            try:
                # Several answers in a row: each worker must have started.
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    ready += 1
                    if ready >= 4 * workers:
                        break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the API server did not answer within 60 s")
            time.sleep(0.2)
        yield Server(base, proc.pid, log_path)
    finally:
        if proc.poll() is None:
            interrupt(proc, timeout=20)
        shutil.rmtree(log_dir, ignore_errors=True)
        log(f"API server pid {proc.pid} stopped")


_TICK = os.sysconf("SC_CLK_TCK")


def _proc_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds of it and its reaped children), from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            # utime + stime + cutime + cstime: the last two hold the CPU of children that
            # already exited (PostgreSQL backends of closed connections, for instance).
            table[int(entry.name)] = (int(fields[1]), sum(map(int, fields[11:15])) / _TICK)
    return table


def tree_cpu(*roots: int) -> dict[int, float]:
    """CPU seconds used so far by each root process and all its descendants."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    out = {}
    for root in roots:
        total, stack = 0.0, [root]
        while stack:
            pid = stack.pop()
            total += table.get(pid, (0, 0.0))[1]
            stack.extend(children.get(pid, []))
        out[root] = total
    return out


def machine_busy() -> float:
    """CPU seconds all processes on the machine have used so far (from /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / _TICK


def worker_pids(parent: int) -> list[int]:
    """Child processes of `parent` (uvicorn's workers)."""
    return sorted(pid for pid, (ppid, _) in _proc_table().items() if ppid == parent)


# ---------------------------------------------------------------- test data

# Central Jakarta: where the synthetic teams work.
JAKARTA = (-6.2000, 106.8300)


def make_teams(
    session,
    *,
    teams: int,
    reps_per_team: int,
    customers_per_team: int,
    seed: int = 7,
    spread_deg: float = 0.05,
):
    """Teams with reps and customers around Jakarta; returns
    [(team_id, [rep_id...], [(customer_id, lat, lon)...])]."""
    import numpy as np
    from sqlalchemy import text

    from sfa.users.models import Role, Team, User

    rng = np.random.default_rng(seed)
    out = []
    for t in range(teams):
        team = Team(name=f"Bench team {t:03d}")
        session.add(team)
        session.flush()
        reps = [
            User(
                username=f"bench.rep.{t:03d}.{r:03d}",
                full_name=f"Bench Rep {t}.{r}",
                role=Role.rep,
                team_id=team.id,
                password_hash="!bench-no-login",
            )
            for r in range(reps_per_team)
        ]
        session.add_all(reps)
        session.flush()
        c_lat = JAKARTA[0] + rng.uniform(-spread_deg, spread_deg, customers_per_team)
        c_lon = JAKARTA[1] + rng.uniform(-spread_deg, spread_deg, customers_per_team)
        customers = insert_customers(session, team.id, f"T{t:03d}", c_lat, c_lon)
        out.append((team.id, [u.id for u in reps], customers))
    session.execute(text("ANALYZE"))
    return out


def insert_customers(session, team_id: int, prefix: str, lats, lons):
    """Customers of one team at the given points; returns [(id, lat, lon)]."""
    from sqlalchemy import text

    rows = (
        session.execute(
            text(
                "INSERT INTO customers (code, name, customer_class, team_id, location, "
                "location_status, is_distributor) "
                "SELECT :prefix || '-' || i, 'Toko ' || :prefix || '-' || i, 'toko', :team, "
                "ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography, 'imported', false "
                "FROM unnest(CAST(:lats AS float8[]), CAST(:lons AS float8[])) "
                "WITH ORDINALITY AS p(lat, lon, i) ORDER BY i RETURNING id"
            ),
            {
                "prefix": prefix,
                "team": team_id,
                "lats": [float(x) for x in lats],
                "lons": [float(x) for x in lons],
            },
        )
        .scalars()
        .all()
    )
    return [(cid, float(la), float(lo)) for cid, la, lo in zip(rows, lats, lons, strict=True)]


def copy_in(session, table: str, columns: str, buffer) -> None:
    """COPY the tab-separated text in `buffer` (a StringIO) into `table` (`columns`), in
    8 MB writes, on the session's connection (its transaction)."""
    raw = session.connection().connection.driver_connection
    data = buffer.getvalue()
    step = 8 << 20
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for i in range(0, len(data), step):
            copy.write(data[i : i + step])


def access_token(user_id: int) -> str:
    from sfa.auth import tokens

    return tokens.issue(user_id, "access")


# ---------------------------------------------------------------- reporting


def percentile(sorted_values, q: float) -> float:
    """Nearest-rank percentile of an ascending list (q in 0..100)."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, math.ceil(q / 100 * len(sorted_values)) - 1))
    return sorted_values[k]


def banner(title: str) -> None:
    print(f"\n=== {title} ===", flush=True)


# ---------------------------------------------------------------- profiling


@contextlib.contextmanager
def py_spy(pid: int, out_path: Path, rate: int = 200) -> Iterator[None]:
    """Sample `pid` and its subprocesses (uvicorn's workers) with py-spy while the block
    runs; raw collapsed stacks go to out_path. Only CPU-active threads are sampled."""
    exe = VENV_BIN / "py-spy"
    if not exe.exists():
        log("py-spy is not installed (bench/requirements.txt): no profile")
        yield
        return
    proc = subprocess.Popen(
        [
            str(exe),
            "record",
            "--pid",
            str(pid),
            "--subprocesses",
            "--gil",
            "--rate",
            str(rate),
            "--format",
            "raw",
            "--output",
            str(out_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(1.0)  # py-spy attaches to every worker before the load starts
    try:
        yield
    finally:
        interrupt(proc, timeout=30)


def _short(frame: str) -> str:
    """'func (path:line)' -> 'func (short/path)', dropping the line number."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", str(ROOT) + "/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def profile_summary(raw_path: Path, *, top: int = 25, only: tuple[str, ...] = ()) -> str:
    """Inclusive and self shares of the sampled CPU time per function.

    `only` keeps inclusive rows whose path starts with one of these prefixes."""
    inclusive: dict[str, int] = {}
    self_time: dict[str, int] = {}
    total = 0
    if not raw_path.exists():
        return "(no profile recorded)"
    for line in raw_path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = [_short(f) for f in stack.split(";") if not f.startswith("process ") and f.strip()]
        if not frames:
            continue
        total += n
        for frame in set(frames):
            inclusive[frame] = inclusive.get(frame, 0) + n
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + n
    if not total:
        return "(no samples)"

    def keep(frame: str) -> bool:
        path = frame.rsplit("(", 1)[1]
        return not only or path.startswith(only)

    lines = [f"{total} samples of busy worker threads; inclusive share (own code):"]
    rows = sorted(((n, f) for f, n in inclusive.items() if keep(f)), reverse=True)[:top]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for n, f in rows]
    lines.append("self share (any code):")
    rows = sorted(((n, f) for f, n in self_time.items()), reverse=True)[:top]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for n, f in rows]
    return "\n".join(lines)


class RawHttp:
    """A minimal HTTP/1.1 keep-alive client on asyncio streams: one connection, one
    request at a time, Content-Length bodies only (what uvicorn sends here).

    Why not httpx: on this 2-core machine httpx's AsyncClient costs ~1.6 ms of CPU per
    request, so the load generator alone saturates a core near 600 req/s and steals it
    from the server under test (see bench/README.md). This client costs a small fraction."""

    def __init__(self, host: str, port: int):
        self.host, self.port = host, port
        self.reader = self.writer = None

    async def request(
        self, method: str, path: str, headers: bytes = b"", body: bytes = b""
    ) -> tuple[int, bytes]:
        import asyncio

        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write(
            b"%s %s HTTP/1.1\r\nHost: %s\r\n%sContent-Length: %d\r\n\r\n%s"
            % (method.encode(), path.encode(), self.host.encode(), headers, len(body), body)
        )
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        lower = head.lower()
        at = lower.find(b"\r\ncontent-length:")
        if at < 0:
            raise RuntimeError(f"response without Content-Length: {head[:200]!r}")
        length = int(lower[at + 17 : lower.index(b"\r\n", at + 2)])
        payload = await self.reader.readexactly(length)
        if b"\r\nconnection: close" in lower:
            self.writer.close()
            self.writer = None
        return status, payload

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
