"""Full recompute of suspicious-visit flags and weekly anomalies, and a one-month team
report, at company scale (issue 4).

Data: 13 teams, 500 reps (one team of 50, twelve of 37-38), ~20,000 customers around
Jakarta, 20 ISO weeks of visits (~40 a week per rep: ~400,000) in company-local working
hours (Asia/Jakarta), each check-in 5-40 m from its customer; durations 3-70 min so that
too_short and overlong occur; market streets (shops ~10 m apart visited back to back:
consecutive_near runs and rapid bursts), a few customers registered from one spot
(clustered_customers), a few impossible legs, weeks with a burst of short visits and
reps whose plan compliance drops for some weeks; planned_visits for ~90 % of the visits
plus some missed plans, inserted directly. Everything is bulk-loaded with COPY (foreign
keys are checked once afterwards with anti-joins instead of row by row), then
VACUUM ANALYZE.

Measured, in this order, on a throwaway PostGIS cluster (scripts/pg.sh, fsync off unless
SFA_PG_FSYNC says otherwise):

1. `sfa.anomalies.service.recompute(session, date_from=first_day, date_to=last_day)`, one
   transaction, commit included (the first scoring of every visit: trust_score starts
   NULL); every statement it sends is listed with its wall time, the CPU time of the
   database backend (read from /proc; parallel workers not included) and the WAL it
   wrote. On this shared 2-core machine wall time swings 2-4x with other load, CPU and
   WAL barely move: compare those between runs;
2. the same again: must be idempotent (identical visit_flags and weekly_anomalies counts
   by code, rep_days/rep_weeks/customer_flags counts and trust scores);
3. baselines in the same run and database: a plain sequential aggregate over visits
   (`SELECT count(*), sum(dwell_seconds), ... FROM visits`; first run right after a
   cluster restart, so PostgreSQL's buffers are cold but the OS page cache is not) and
   `COPY (SELECT * FROM visits) TO STDOUT` streamed to /dev/null;
4. `analytics.reports.team_days` for the 50-rep team over one month (31 days), as an
   admin Principal: the whole month (every row through the export's server-side cursor,
   the CSV path) and the first JSON page (limit=50).

With --explain (or `auto`, the default, when the recompute misses its target) every
statement of one recompute is replayed as EXPLAIN (ANALYZE, BUFFERS) in a transaction
that is rolled back, and the plans of the slow ones are printed.

    .venv/bin/python bench/analytics_recompute.py [--reps 500] [--weeks 20]
        [--explain auto|always|never] [--plan-threshold SECONDS]

The `sfa` package measured is printed ("code measured"); to measure another
checkout put it first: PYTHONPATH=/other/checkout .venv/bin/python bench/.... Exit code 0
when idempotent and both targets are met, 1 otherwise. A full run takes ~1-2.5 minutes.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SFA_PG_FSYNC", "off")

from _common import ROOT, banner, copy_in, insert_customers, log, machine_line, pg_cluster

TARGET_RECOMPUTE_S = 20.0
TARGET_REPORT_MS = 300.0
TEAMS = 13
BIG_TEAM_REPS = 50
CUSTOMERS_PER_REP = 40
FIRST_MONDAY = date(2025, 11, 3)  # 20 weeks: 2025-W45 .. 2026-W12, across an ISO year
REPORT_MONTH = (date(2026, 1, 1), date(2026, 1, 31))
JAKARTA_UTC_OFFSET = timedelta(hours=7)  # Asia/Jakarta has no DST
CENTRE = (-6.2000, 106.8300)
SPREAD_DEG = 0.06  # customers within ~±6.6 km of the centre
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(CENTRE[0]))


def offset(lat: float, lon: float, metres: float, bearing: float) -> tuple[float, float]:
    return (
        lat + metres * math.cos(bearing) / M_PER_DEG_LAT,
        lon + metres * math.sin(bearing) / M_PER_DEG_LON,
    )


def approx_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot((a[0] - b[0]) * M_PER_DEG_LAT, (a[1] - b[1]) * M_PER_DEG_LON)


# ------------------------------------------------------------------ data


@dataclass
class Rep:
    id: int
    team_id: int
    portfolio: list[tuple[int, float, float]]  # (customer id, lat, lon)
    market: list[int] = field(default_factory=list)  # indexes into portfolio
    low_rate_weeks: range = range(0)


def team_sizes(reps: int) -> list[int]:
    rest = reps - BIG_TEAM_REPS
    base, extra = divmod(rest, TEAMS - 1)
    return [BIG_TEAM_REPS] + [base + (1 if i < extra else 0) for i in range(TEAMS - 1)]


def create_people_and_customers(session, rng: random.Random, reps: int):
    """Teams, reps, an admin and the customers; returns (admin id, big team id, [Rep])."""
    from sqlalchemy import text

    from sfa.users.models import Role, Team, User

    admin = User(
        username="bench.admin",
        full_name="Bench Admin",
        role=Role.admin,
        password_hash="!bench-no-login",
    )
    session.add(admin)
    out: list[Rep] = []
    big_team = None
    markets = clusters = 0
    for t, size in enumerate(team_sizes(reps)):
        team = Team(name=f"Bench team {t:02d}")
        session.add(team)
        session.flush()
        big_team = big_team or team.id
        users = [
            User(
                username=f"bench.rep.{t:02d}.{r:03d}",
                full_name=f"Bench Rep {t}.{r}",
                role=Role.rep,
                team_id=team.id,
                password_hash="!bench-no-login",
            )
            for r in range(size)
        ]
        session.add_all(users)
        session.flush()
        # Each rep serves ~40 customers of the team: scattered shops, and for one rep in
        # eight a market street of 4 shops ~10 m apart; a few teams have 3 customers
        # registered from one spot (within 1 m: the fake-customer pattern).
        lats, lons, layout = [], [], []
        for r in range(size):
            market = r % 8 == 3
            fake = r == 5 and t % 3 == 0
            n_plain = CUSTOMERS_PER_REP - (4 if market else 0) - (3 if fake else 0)
            for _ in range(n_plain):
                lats.append(CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG))
                lons.append(CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG))
                layout.append((r, False))
            if market:
                markets += 1
                m_lat = CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG)
                m_lon = CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG)
                for k in range(4):  # a row of shops along the street, 10 m apart
                    la, lo = offset(m_lat, m_lon, 10.0 * k, math.pi / 2)
                    lats.append(la)
                    lons.append(lo)
                    layout.append((r, True))
            if fake:
                clusters += 1
                f_lat = CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG)
                f_lon = CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG)
                for k in range(3):
                    la, lo = offset(f_lat, f_lon, 0.8, 2 * math.pi * k / 3)
                    lats.append(la)
                    lons.append(lo)
                    layout.append((r, False))
        customers = insert_customers(session, team.id, f"T{t:02d}", lats, lons)
        reps_of_team = [Rep(id=u.id, team_id=team.id, portfolio=[]) for u in users]
        for (r, in_market), customer in zip(layout, customers, strict=True):
            rep = reps_of_team[r]
            if in_market:
                rep.market.append(len(rep.portfolio))
            rep.portfolio.append(customer)
        out.extend(reps_of_team)
        log(f"  team {t + 1}/{TEAMS}: {size} reps, {len(customers)} customers")
    session.flush()
    # One rep in 25 lets plan compliance slide for 8 weeks in the middle of the period.
    for i, rep in enumerate(out):
        if i % 25 == 7:
            rep.low_rate_weeks = range(6, 14)
    session.execute(text("SELECT 1"))
    return admin.id, big_team, out, markets, clusters


NULL = "\\N"  # COPY text format


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S+00")


def _point(lat: float, lon: float) -> str:
    return f"SRID=4326;POINT({lon:.7f} {lat:.7f})"


@dataclass
class Generated:
    visits: io.StringIO
    planned: io.StringIO
    n_visits: int = 0
    n_planned: int = 0
    n_planned_done: int = 0
    dwell_sources: Counter = field(default_factory=Counter)


def generate_visits(reps: list[Rep], weeks: int, rng: random.Random) -> Generated:
    """Visits and planned visits of every rep, as COPY text (tab-separated)."""
    out = Generated(io.StringIO(), io.StringIO())
    vw, pw = out.visits.write, out.planned.write
    visit_id = planned_id = 0
    t0 = time.perf_counter()
    for n, rep in enumerate(reps):
        portfolio = rep.portfolio
        for week in range(weeks):
            monday = FIRST_MONDAY + timedelta(weeks=week)
            # ~40 visits a week (sd ~2.5); one rep-week in 100 is half a week off.
            total = max(30, min(50, round(rng.gauss(40, 2.5))))
            if rng.random() < 0.01:
                total = rng.randint(18, 26)
            order = list(range(len(portfolio)))
            rng.shuffle(order)
            while len(order) < total:
                order.append(rng.randrange(len(portfolio)))
            order = order[:total]
            days: list[list[int]] = [order[d::5] for d in range(5)]
            # Market reps walk their market street in one go, once a week.
            if rep.market:
                for day in days:
                    day[:] = [c for c in day if c not in rep.market]
                market_day = days[rng.randrange(5)]
                at = rng.randrange(len(market_day) + 1)
                market_day[at:at] = rep.market
            short_burst = rng.random() < 0.02  # a week of many short visits
            low_rate = week in rep.low_rate_weeks
            for d, day_customers in enumerate(days):
                local_day = monday + timedelta(days=d)
                day_utc = (
                    datetime(local_day.year, local_day.month, local_day.day, tzinfo=UTC)
                    - JAKARTA_UTC_OFFSET
                )
                clock = day_utc + timedelta(hours=8, minutes=rng.uniform(0, 60))
                day_end = day_utc + timedelta(hours=18, minutes=30)
                prev_pos = None
                planned_today: set[int] = set()
                rows = []
                for ci in day_customers:
                    cid, c_lat, c_lon = portfolio[ci]
                    in_market = ci in rep.market
                    dist_m = rng.uniform(5, 15) if in_market else rng.uniform(5, 40)
                    too_far = not in_market and rng.random() < 0.01
                    if too_far:
                        dist_m = rng.uniform(350, 900)
                    lat, lon = offset(c_lat, c_lon, dist_m, rng.uniform(0, 2 * math.pi))
                    if prev_pos is not None:
                        leg_m = approx_m(prev_pos, (lat, lon))
                        if in_market and leg_m < 60:
                            travel_min = rng.uniform(1, 2)
                        else:
                            travel_min = leg_m / 1000 / rng.uniform(15, 30) * 60 + rng.uniform(
                                3, 10
                            )
                            if leg_m > 3000 and rng.random() < 0.002:
                                travel_min = rng.uniform(0.5, 1.0)  # impossible leg
                        clock += timedelta(minutes=travel_min)
                    u = rng.random()
                    if in_market:
                        minutes = rng.uniform(4, 6)
                    elif (short_burst and u < 0.2) or u < 0.03:
                        minutes = rng.uniform(3, 4.9)
                    elif u > 0.97:
                        minutes = rng.uniform(60.5, 70)
                    else:
                        minutes = rng.triangular(6, 50, 18)
                    check_in = clock
                    clock += timedelta(minutes=minutes)
                    rows.append([cid, lat, lon, check_in, minutes, dist_m, too_far])
                    prev_pos = (lat, lon)
                for k, (cid, lat, lon, check_in, minutes, dist_m, too_far) in enumerate(rows):
                    visit_id += 1
                    u = rng.random()
                    if u < 0.95:
                        source = "check_out"
                    elif u < 0.98:
                        source = "pings"
                    else:
                        source = "not_checked_out"
                    if source == "check_out":
                        out_at = check_in + timedelta(minutes=minutes)
                        o_lat, o_lon = offset(
                            lat, lon, rng.uniform(0, 10), rng.uniform(0, 2 * math.pi)
                        )
                        check_out = (
                            f"{_ts(out_at)}\t{_point(o_lat, o_lon)}\t"
                            f"{rng.uniform(4, 25):.1f}\tf\tbench"
                        )
                        dwell = round(minutes * 60)
                    else:
                        check_out = "\\N\t\\N\t\\N\t\\N\t\\N"
                        if source == "pings":
                            dwell = round(minutes * 60)
                        else:
                            until = rows[k + 1][3] if k + 1 < len(rows) else day_end
                            dwell = round((until - check_in).total_seconds())
                    out.dwell_sources[source] += 1
                    planned = None
                    if cid not in planned_today and rng.random() < 0.9:
                        planned_today.add(cid)
                        planned_id += 1
                        planned = planned_id
                        pw(f"{planned_id}\t{rep.id}\t{cid}\t{local_day}\tjourney\t{visit_id}\n")
                        out.n_planned_done += 1
                    sent = check_in + timedelta(seconds=rng.uniform(0, 5))
                    vw(
                        f"{visit_id}\t{rep.id}\t{visit_id:032x}\tbench\t{cid}\t"
                        f"{planned or NULL}\tbench-phone-{rep.id}\t"
                        f"{_ts(check_in)}\t{_ts(sent)}\t{_ts(sent + timedelta(seconds=1))}\t"
                        f"{_point(lat, lon)}\t{rng.uniform(4, 25):.1f}\tf\t"
                        f"{'too_far' if too_far else 'verified'}\t{dist_m:.1f}\t300\t"
                        f"{check_out}\t{dwell}\t{source}\t{local_day}\n"
                    )
                # Planned but not visited: a few a week normally, ~40 % of the plan in
                # a low-compliance stretch.
                missed = rng.randint(3, 5) if low_rate else (1 if rng.random() < 0.08 else 0)
                visited = {r[0] for r in rows}
                candidates = [c[0] for c in portfolio if c[0] not in visited]
                for cid in rng.sample(candidates, min(missed, len(candidates))):
                    planned_id += 1
                    pw(f"{planned_id}\t{rep.id}\t{cid}\t{local_day}\tjourney\t\\N\n")
        if (n + 1) % 100 == 0:
            log(
                f"  generated visits of {n + 1}/{len(reps)} reps "
                f"({visit_id:,} visits, {time.perf_counter() - t0:.1f} s)"
            )
    out.n_visits, out.n_planned = visit_id, planned_id
    return out


VISIT_COLUMNS = (
    "id, rep_id, client_id, request_hash, customer_id, planned_visit_id, device_id, "
    "check_in_at, sent_at, received_at, check_in_position, check_in_accuracy_m, "
    "check_in_mock, verification_status, distance_to_customer_m, radius_m, check_out_at, "
    "check_out_position, check_out_accuracy_m, check_out_mock, check_out_hash, "
    "dwell_seconds, dwell_source, local_day"
)
PLANNED_COLUMNS = "id, rep_id, customer_id, day, source, visit_id"


def load(session, reps_n: int, weeks: int):
    from sqlalchemy import text

    rng = random.Random(20260104)
    log("creating teams, reps and customers")
    admin_id, big_team, reps, markets, clusters = create_people_and_customers(session, rng, reps_n)
    log(f"generating visits ({reps_n} reps x {weeks} weeks)")
    gen = generate_visits(reps, weeks, rng)
    log(f"COPY {gen.n_visits:,} visits and {gen.n_planned:,} planned visits")
    t0 = time.perf_counter()
    # Bulk load: foreign-key triggers off for this session, checked once below.
    session.execute(text("SET LOCAL session_replication_role = replica"))
    copy_in(session, "visits", VISIT_COLUMNS, gen.visits)
    copy_in(session, "planned_visits", PLANNED_COLUMNS, gen.planned)
    session.execute(text("SET LOCAL session_replication_role = origin"))
    orphans = session.execute(
        text(
            "SELECT (SELECT count(*) FROM visits v WHERE NOT EXISTS "
            "        (SELECT 1 FROM users u WHERE u.id = v.rep_id)"
            "        OR NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = v.customer_id)) + "
            "       (SELECT count(*) FROM planned_visits p WHERE NOT EXISTS "
            "        (SELECT 1 FROM visits v WHERE v.id = p.visit_id) AND p.visit_id IS NOT NULL)"
        )
    ).scalar_one()
    assert orphans == 0, f"{orphans} rows break a foreign key"
    session.execute(text("SELECT setval('visits_id_seq', :n)"), {"n": gen.n_visits})
    session.execute(text("SELECT setval('planned_visits_id_seq', :n)"), {"n": gen.n_planned})
    session.commit()
    log(f"  loaded in {time.perf_counter() - t0:.1f} s; VACUUM ANALYZE")
    t0 = time.perf_counter()
    engine = session.get_bind()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))
    log(f"  VACUUM ANALYZE {time.perf_counter() - t0:.1f} s")
    big_team_reps = sum(1 for r in reps if r.team_id == big_team)
    return admin_id, big_team, big_team_reps, gen, markets, clusters


# ------------------------------------------------------------------ measuring


def statement_labels() -> dict[str, str]:
    """SQL text of analytics' statements -> a short name."""
    from sqlalchemy.sql.elements import TextClause

    from sfa.anomalies import aggregates, service
    from sfa.visits import flagging, indicators

    labels = {}
    modules = (
        (indicators, "indicators"),
        (flagging, "flagging"),
        (aggregates, "aggregates"),
        (service, "anomalies"),
    )
    for module, prefix in modules:
        for name, value in vars(module).items():
            if isinstance(value, TextClause):
                value = value.text
            if (
                name.startswith("_")
                and name.isupper()
                and isinstance(value, str)
                and name not in ("_INSERT", "_SCOPED_VISITS", "_RESCORE", "_WEIGHTS")
            ):
                labels[value] = f"{prefix}.{name}"
    return labels


_TICK = os.sysconf("SC_CLK_TCK")


def _process_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process `pid`."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


class StatementTimer:
    """Wraps session.execute: per statement, the wall time, the CPU time of the database
    backend (from /proc: the cluster is local; parallel workers not included) and the WAL
    written. CPU and WAL barely depend on other load on the machine, wall time does.
    Keeps each statement's SQL and parameters for the EXPLAIN replay."""

    def __init__(self, session):
        from sqlalchemy import text

        self.session = session
        self.labels = statement_labels()
        # (label, wall s, rows, sql, params, backend cpu s, WAL bytes)
        self.records: list[tuple[str, float, int, str, dict, float, int]] = []
        self._execute = session.execute
        self._lsn = text("SELECT pg_current_wal_insert_lsn()")
        self._wal = text("SELECT pg_wal_lsn_diff(CAST(:b AS pg_lsn), CAST(:a AS pg_lsn))")
        self.backend = session.execute(text("SELECT pg_backend_pid()")).scalar_one()

    def __enter__(self):
        execute = self._execute

        def timed(statement, params=None, *args, **kwargs):
            sql = getattr(statement, "text", None)
            lsn0 = execute(self._lsn).scalar_one()
            cpu0 = _process_cpu(self.backend)
            t0 = time.perf_counter()
            result = execute(statement, params, *args, **kwargs)
            seconds = time.perf_counter() - t0
            cpu = _process_cpu(self.backend) - cpu0
            wal = execute(
                self._wal, {"a": str(lsn0), "b": str(execute(self._lsn).scalar_one())}
            ).scalar_one()
            if sql is not None:
                label = self.labels.get(sql) or " ".join(sql.split())[:48]
                rows = getattr(result, "rowcount", -1)
                self.records.append((label, seconds, rows, sql, dict(params or {}), cpu, int(wal)))
            return result

        self.session.execute = timed
        return self

    def __exit__(self, *exc):
        del self.session.execute

    def table(self) -> str:
        total = sum(r[1] for r in self.records) or 1
        lines = [
            f"    {'statement':<48} {'wall s':>7} {'share':>6} {'cpu s':>6} "
            f"{'WAL MB':>7} {'rows':>9}"
        ]
        for label, seconds, rows, _, _, cpu, wal in self.records:
            lines.append(
                f"    {label:<48} {seconds:7.3f} {100 * seconds / total:5.1f}% "
                f"{cpu:6.2f} {wal / 1048576:7.1f} {rows:9,}"
            )
        lines.append(
            f"    {'sum':<48} {total:7.3f} {'':6} "
            f"{sum(r[5] for r in self.records):6.2f} "
            f"{sum(r[6] for r in self.records) / 1048576:7.1f}"
        )
        return "\n".join(lines)


def recompute_once(session_factory, first_day: date, last_day: date):
    from sfa.anomalies import service

    session = session_factory()
    try:
        with StatementTimer(session) as timer:
            t0 = time.perf_counter()
            anomalies = service.recompute(session, date_from=first_day, date_to=last_day)
            t1 = time.perf_counter()
            session.commit()
            t2 = time.perf_counter()
    finally:
        session.close()
    return t2 - t0, t2 - t1, anomalies, timer


def counts(session):
    from sqlalchemy import text

    flags = dict(
        session.execute(
            text("SELECT code, count(*) FROM visit_flags GROUP BY code ORDER BY code")
        ).all()
    )
    anomalies = dict(
        session.execute(
            text("SELECT code, count(*) FROM weekly_anomalies GROUP BY code ORDER BY code")
        ).all()
    )
    other = session.execute(
        text(
            "SELECT (SELECT count(*) FROM rep_days), (SELECT count(*) FROM rep_weeks), "
            "(SELECT count(*) FROM customer_flags), "
            "(SELECT count(*) FROM visits WHERE trust_score < 100), "
            "(SELECT count(DISTINCT visit_id) FROM visit_flags), "
            "(SELECT round(avg(trust_score), 2) FROM visits)"
        )
    ).one()
    return flags, anomalies, other


def restart_cluster(cluster_dir: Path, port: int, db: str) -> None:
    """Stop and start the throwaway cluster (by its own data folder): cold shared buffers.

    The caller checkpoints first so that the shutdown has little to write; scripts/pg.sh
    stop gives up after 10 s, so a slower exit (a loaded machine) is waited for here."""
    script = ROOT / "scripts" / "pg.sh"
    pid = int((cluster_dir / "postmaster.pid").read_text().split()[0])
    subprocess.run([script, "stop", str(cluster_dir)], check=False, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while Path(f"/proc/{pid}").exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"the benchmark cluster (pid {pid}) did not stop in 120 s")
        time.sleep(0.2)
    subprocess.run(
        [script, "start", str(cluster_dir), str(port), db], check=True, stdout=subprocess.DEVNULL
    )


SEQ_SCAN_SQL = (
    "SELECT count(*), sum(dwell_seconds), min(check_in_at), max(check_out_at), "
    "sum(distance_to_customer_m), sum(trust_score) FROM visits"
)


def baselines(engine):
    """(seq-scan seconds: first, then best of 3 more; COPY seconds, bytes)."""
    from sqlalchemy import text

    seq = []
    for _ in range(4):
        with engine.connect() as conn:
            t0 = time.perf_counter()
            conn.execute(text(SEQ_SCAN_SQL)).one()
            seq.append(time.perf_counter() - t0)
    copies = []
    with engine.connect() as conn, open(os.devnull, "wb") as sink:
        raw = conn.connection.driver_connection
        for _ in range(2):
            size = 0
            t0 = time.perf_counter()
            with raw.cursor() as cur, cur.copy("COPY (SELECT * FROM visits) TO STDOUT") as cp:
                for block in cp:
                    sink.write(block)
                    size += len(block)
            copies.append(time.perf_counter() - t0)
        raw.rollback()
    return seq[0], min(seq[1:]), min(copies), size


def team_report(session_factory, admin_id: int, team_id: int):
    """Timings (ms) of team_days for one team over the month: export and first page."""
    from analytics import reports
    from sfa.auth.principal import ROLE_SCOPES, Principal
    from sfa.users.models import Role

    principal = Principal(kind="user", id=admin_id, role=Role.admin, scopes=ROLE_SCOPES[Role.admin])
    filters = reports.Filters(team_id=team_id, date_from=REPORT_MONTH[0], date_to=REPORT_MONTH[1])
    results = {}
    for name, limit in (
        ("whole month (every row, the CSV export path)", None),
        ("first page (limit=50, JSON)", 50),
    ):
        times: list[float] = []
        rows: list[dict] = []
        total = 0
        for _ in range(6):
            session = session_factory()
            try:
                t0 = time.perf_counter()
                report = reports.team_days(session, principal=principal, filters=filters)
                if limit is None:
                    rows = [row for batch in report.batches(session) for row in batch]
                    total = len(rows)
                else:
                    page = report.page(session, limit=limit)
                    rows, total = page.items, page.total
                times.append((time.perf_counter() - t0) * 1000)
            finally:
                session.close()
        reps = len({row["rep_id"] for row in rows})
        results[name] = (times, total, len(rows), reps)
    return results


def explain_all(session_factory, records) -> list[tuple[str, float, str]]:
    """Replay the statements of one recompute under EXPLAIN ANALYZE, then roll back."""
    from sqlalchemy import text

    plans = []
    session = session_factory()
    try:
        for label, _, _, sql, params, _, _ in records:
            if sql.lstrip().upper().startswith(("SET ", "RESET ")):
                session.execute(text(sql), params)  # settings, not plannable
                continue
            t0 = time.perf_counter()
            lines = (
                session.execute(text("EXPLAIN (ANALYZE, BUFFERS) " + sql), params).scalars().all()
            )
            plans.append((label, time.perf_counter() - t0, "\n".join(lines)))
    finally:
        session.rollback()
        session.close()
    return plans


# ------------------------------------------------------------------ main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=500)
    parser.add_argument("--weeks", type=int, default=20)
    parser.add_argument("--explain", choices=("auto", "always", "never"), default="auto")
    parser.add_argument(
        "--plan-threshold",
        type=float,
        default=0.5,
        help="print the plans of statements slower than this (seconds)",
    )
    args = parser.parse_args()

    first_day = FIRST_MONDAY
    last_day = FIRST_MONDAY + timedelta(weeks=args.weeks, days=-1)
    banner(
        f"analytics recompute: {args.reps} reps x {args.weeks} weeks ({first_day} .. {last_day})"
    )
    print(machine_line())
    import sfa

    print(f"code measured: {Path(sfa.__file__).parent}")
    db = "sfa_bench_analytics"
    with pg_cluster(db) as cluster:
        from sqlalchemy import text

        from sfa import db as sfa_db

        session_factory = sfa_db.get_sessionmaker()
        session = session_factory()
        t0 = time.perf_counter()
        try:
            admin_id, big_team, big_team_reps, gen, markets, clusters = load(
                session, args.reps, args.weeks
            )
            n_customers, n_reps = session.execute(
                text(
                    "SELECT (SELECT count(*) FROM customers), "
                    "(SELECT count(*) FROM users WHERE role = 'rep')"
                )
            ).one()
            size_mb = session.execute(
                text("SELECT pg_total_relation_size('visits') / 1048576.0")
            ).scalar_one()
        finally:
            session.close()
        load_s = time.perf_counter() - t0
        print(
            f"data: {n_reps} reps in {TEAMS} teams, {n_customers:,} customers "
            f"({markets} market streets, {clusters} one-spot clusters), "
            f"{gen.n_visits:,} visits ({size_mb:.0f} MB with indexes; dwell sources "
            f"{dict(gen.dwell_sources)}), {gen.n_planned:,} planned visits "
            f"({gen.n_planned_done:,} done); generated and loaded in {load_s:.1f} s"
        )

        def measured_pass(label: str):
            log(label)
            seconds, commit, anomalies, timer = recompute_once(session_factory, first_day, last_day)
            with session_factory() as s:
                counted = counts(s)
            log(f"  {seconds:.2f} s")
            return seconds, commit, anomalies, timer, counted

        r1, commit1, anomalies1, timer1, (flags1, anom1, other1) = measured_pass("recompute #1")
        r2, commit2, anomalies2, timer2, (flags2, anom2, other2) = measured_pass(
            "recompute #2 (idempotence)"
        )
        idempotent = flags1 == flags2 and anom1 == anom2 and other1 == other2

        log("baselines: sequential scan after a cluster restart, COPY TO STDOUT")
        with session_factory() as s:
            cluster_dir = Path(s.execute(text("SHOW data_directory")).scalar_one())
            s.execute(text("CHECKPOINT"))
        sfa_db.get_engine().dispose()
        port = int(cluster.url.rsplit(":", 1)[1].split("/")[0])
        restart_cluster(cluster_dir, port, db)
        seq_cold, seq_warm, copy_s, copy_bytes = baselines(sfa_db.get_engine())

        log("team report: team_days, 31 days")
        report = team_report(session_factory, admin_id, big_team)

        banner("results")
        print(
            f"recompute #1: {r1:.2f} s wall (commit {commit1 * 1000:.0f} ms), "
            f"{anomalies1:,} anomalies stored; per statement:"
        )
        print(timer1.table())
        print(
            f"recompute #2: {r2:.2f} s wall (commit {commit2 * 1000:.0f} ms), "
            f"{anomalies2:,} anomalies stored; per statement:"
        )
        print(timer2.table())
        print(
            f"idempotent (flags, anomalies, rep_days/rep_weeks/customer_flags counts, "
            f"trust scores identical): {'yes' if idempotent else 'NO'}"
        )
        print(
            f"visits: {gen.n_visits:,}; flagged visits: {other1[4]:,}; "
            f"trust < 100: {other1[3]:,}; mean trust score {other1[5]}"
        )
        print(
            "visit_flags by code: "
            + ", ".join(f"{k} {v:,}" for k, v in flags1.items())
            + f" (total {sum(flags1.values()):,})"
        )
        print(
            "weekly_anomalies by code: "
            + ", ".join(f"{k} {v:,}" for k, v in anom1.items())
            + f" (total {sum(anom1.values()):,})"
        )
        print(f"rep_days {other1[0]:,}, rep_weeks {other1[1]:,}, flagged customers {other1[2]:,}")
        print(
            f"baseline seq scan ({SEQ_SCAN_SQL[:60]}...): {seq_cold * 1000:.0f} ms first "
            f"after restart (PostgreSQL buffers cold, OS cache warm), "
            f"{seq_warm * 1000:.0f} ms best warm"
        )
        print(
            f"baseline COPY (SELECT * FROM visits) TO STDOUT -> /dev/null: "
            f"{copy_s * 1000:.0f} ms ({copy_bytes / 1048576:.0f} MB)"
        )
        print(
            f"ratio recompute #1 / seq scan: {r1 / seq_cold:.0f}x (cold), "
            f"{r1 / seq_warm:.0f}x (warm); / COPY: {r1 / copy_s:.1f}x"
        )
        print(
            f"ratio recompute #2 / seq scan: {r2 / seq_cold:.0f}x (cold), "
            f"{r2 / seq_warm:.0f}x (warm); / COPY: {r2 / copy_s:.1f}x"
        )
        worst_report = 0.0
        for name, (times, total, items, reps) in report.items():
            print(
                f"team report analytics.reports.team_days, team of {big_team_reps} reps, "
                f"{REPORT_MONTH[0]}..{REPORT_MONTH[1]}, {name}: {total:,} rows "
                f"({items:,} returned, {reps} reps); first {times[0]:.1f} ms, median "
                f"{statistics.median(times[1:]):.1f} ms, max {max(times[1:]):.1f} ms"
            )
            worst_report = max(worst_report, times[0], max(times[1:]))
        ok_recompute = max(r1, r2) <= TARGET_RECOMPUTE_S
        ok_report = worst_report <= TARGET_REPORT_MS
        print(
            f"target full recompute <= {TARGET_RECOMPUTE_S:.0f} s: "
            f"{'met' if ok_recompute else 'MISSED'} ({r1:.2f} s, {r2:.2f} s)"
        )
        print(
            f"target one-month team report <= {TARGET_REPORT_MS:.0f} ms: "
            f"{'met' if ok_report else 'MISSED'} (worst {worst_report:.1f} ms)"
        )

        if args.explain == "always" or (args.explain == "auto" and not ok_recompute):
            log("EXPLAIN ANALYZE of every statement of one recompute (rolled back)")
            plans = explain_all(session_factory, timer1.records)
            banner("EXPLAIN (ANALYZE, BUFFERS) per statement (replayed, rolled back)")
            for label, seconds, _ in plans:
                print(f"    {label:<48} {seconds:8.3f} s")
            for label, seconds, plan in plans:
                if seconds >= args.plan_threshold:
                    print(f"\n--- {label} ({seconds:.2f} s)\n{plan}")
        return 0 if idempotent and ok_recompute and ok_report else 1


if __name__ == "__main__":
    sys.exit(main())
