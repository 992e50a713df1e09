"""Pipeline metrics (`GET /v1/reports/pipeline`, analytics/pipeline.py) at company scale
(issue 15).

Data: one pipeline of 7 stages (5 open, Won, Lost), 20 teams of 10 reps, 100,000
opportunities opened over the last two years, and 1,000,000 stage-history rows (4-16 stays
per deal, 10 on average: forward moves, skipped stages, moves back), each deal ending won
(40 %), lost (35 %, with a reason) or still open (25 %). Every stay tiles the deal's life
as the move service writes it (each left_at is the next entered_at). Bulk-loaded with
COPY, then VACUUM ANALYZE.

Measured, in this order, on a throwaway PostGIS cluster (scripts/pg.sh, fsync off):

1. baseline: a sequential scan of the whole history table
   (`SELECT count(*), sum(left_at - entered_at) FROM opportunity_stage_history`), the
   cheapest any question about every stay can be;
2. `analytics.pipeline.pipeline_report` as an admin Principal for one team's quarter
   (team_id + date_from/date_to of the last complete quarter) — target <= 300 ms;
3. the same for the whole company, all time — target <= 2 s;
4. the whole company by team, and one quarter for the company (for information).

Each is run once cold-ish (first) and then 5 more times: the median and the worst of
those are printed, with the ratio to the baseline scan. With --explain (or `auto` when a
target is missed) the five statements of the slowest case are replayed under EXPLAIN
(ANALYZE, BUFFERS).

    .venv/bin/python bench/pipeline_metrics.py [--deals 100000] [--rows 1000000]
        [--explain auto|always|never]

Exit code 0 when both targets are met, 1 otherwise. A full run takes ~2-4 minutes (most of it
generating and loading the data).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

os.environ.setdefault("SFA_PG_FSYNC", "off")

from _common import ROOT, banner, copy_in, log, machine_line, pg_cluster

sys.path.insert(0, str(ROOT))

TARGET_TEAM_MS = 300.0
TARGET_COMPANY_MS = 2000.0
TEAMS, REPS_PER_TEAM = 20, 10
STAGES = [
    ("Prospect", 10, "open"),
    ("Qualified", 25, "open"),
    ("Trial", 40, "open"),
    ("Proposal", 60, "open"),
    ("Negotiation", 80, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]
REASONS = ("price", "competitor", "no budget", "no response", "timing")
SEQ_SCAN_SQL = (
    "SELECT count(*), sum(extract(epoch FROM COALESCE(left_at, entered_at) - entered_at)) "
    "FROM opportunity_stage_history"
)
OPP_COLUMNS = (
    "id, kind, title, pipeline_id, stage_id, prospect_name, amount, currency, "
    "expected_close, owner_id, team_id, source, lost_reason, reached_position, opened_at, "
    "stage_entered_at, closed_at"
)
SPAN_COLUMNS = "id, opportunity_id, stage_id, entered_at, left_at, entered_by, left_by"
ORPHANS_SQL = """
SELECT (SELECT count(*) FROM opportunity_stage_history h
        WHERE NOT EXISTS (SELECT 1 FROM opportunities o WHERE o.id = h.opportunity_id)
           OR NOT EXISTS (SELECT 1 FROM pipeline_stages s WHERE s.id = h.stage_id))
     + (SELECT count(*) FROM opportunities o
        WHERE NOT EXISTS (SELECT 1 FROM pipeline_stages s WHERE s.id = o.stage_id)
           OR NOT EXISTS (SELECT 1 FROM users u WHERE u.id = o.owner_id)
           OR NOT EXISTS (SELECT 1 FROM teams t WHERE t.id = o.team_id))
"""


def _ts(value: datetime) -> str:
    return value.isoformat()


def _path(rng: random.Random, stays: int, outcome: str) -> list[int]:
    """Stage indexes (0-4 open, 5 won, 6 lost) of `stays` stays: a walk over the open
    stages (forward, skip, back), ending in the outcome unless still open."""
    walk = [0]
    open_stays = stays - (outcome != "open")
    while len(walk) < open_stays:
        here, roll = walk[-1], rng.random()
        if roll < 0.25 and here > 0:
            walk.append(here - 1)
        elif roll < 0.4 and here < 3:
            walk.append(here + 2)
        elif here < 4:
            walk.append(here + 1)
        else:
            walk.append(here - 1)
    if outcome == "won":
        walk.append(5)
    elif outcome == "lost":
        walk.append(6)
    return walk


def _stays_per_deal(rng: random.Random, deals: int, rows: int) -> list[int]:
    """4..16 stays per deal, summing to `rows` exactly."""
    counts = [rng.randint(4, 16) for _ in range(deals)]
    diff = rows - sum(counts)
    i = 0
    while diff:
        step = 1 if diff > 0 else -1
        if 4 <= counts[i] + step <= 16:
            counts[i] += step
            diff -= step
        i = (i + 1) % deals
    return counts


def generate(rng: random.Random, deals: int, rows: int, stage_ids, reps, now: datetime):
    """COPY text of the opportunities and their stays."""
    opps, spans = io.StringIO(), io.StringIO()
    span_id = 0
    for deal_id, stays in enumerate(_stays_per_deal(rng, deals, rows), start=1):
        team_id, owner_id = reps[rng.randrange(len(reps))]
        outcome = rng.choices(("won", "lost", "open"), (40, 35, 25))[0]
        path = _path(rng, stays, outcome)
        opened = now - timedelta(days=rng.uniform(1, 730))
        available = (now - opened).total_seconds() * rng.uniform(0.3, 0.98)
        weights = [rng.random() + 0.05 for _ in path]
        scale = available / sum(weights)
        at = opened
        for n, stage in enumerate(path):
            span_id += 1
            left = at + timedelta(seconds=weights[n] * scale) if n < len(path) - 1 else None
            spans.write(
                f"{span_id}\t{deal_id}\t{stage_ids[stage]}\t{_ts(at)}\t"
                f"{_ts(left) if left else chr(92) + 'N'}\t{owner_id}\t"
                f"{owner_id if left else chr(92) + 'N'}\n"
            )
            if left:
                at = left
        closed = _ts(at) if outcome != "open" else "\\N"
        reason = rng.choice(REASONS) if outcome == "lost" else "\\N"
        close_day = (opened + timedelta(days=rng.randrange(20, 200))).date().isoformat()
        amount = rng.randrange(2, 400) * 1_000_000
        reached = max(stage for stage in path if stage != 6) + 1  # positions are 1-based
        opps.write(
            f"{deal_id}\topportunity\tDeal {deal_id}\t{stage_ids['pipeline']}\t"
            f"{stage_ids[path[-1]]}\tProspect {deal_id}\t{amount}\tIDR\t{close_day}\t"
            f"{owner_id}\t{team_id}\tvisit\t{reason}\t{reached}\t{_ts(opened)}\t{_ts(at)}\t"
            f"{closed}\n"
        )
    return opps, spans


def load(session_factory, deals: int, rows: int):
    from sqlalchemy import text

    from sfa.pipeline.models import Pipeline, Stage
    from sfa.users.models import Role, Team, User

    rng = random.Random(20261201)
    now = datetime.now(UTC)
    with session_factory() as session:
        admin = User(username="bench.admin", full_name="Admin", role=Role.admin, password_hash="!")
        session.add(admin)
        pipeline = Pipeline(name="Bench pipeline", is_default=True)
        session.add(pipeline)
        session.flush()
        stage_ids: dict = {"pipeline": pipeline.id}
        for i, (name, probability, outcome) in enumerate(STAGES):
            stage = Stage(
                pipeline_id=pipeline.id,
                name=name,
                position=i + 1,
                probability=probability,
                outcome=outcome,
            )
            session.add(stage)
            session.flush()
            stage_ids[i] = stage.id
        reps = []
        for t in range(TEAMS):
            team = Team(name=f"Bench team {t:02d}")
            session.add(team)
            session.flush()
            for r in range(REPS_PER_TEAM):
                user = User(
                    username=f"bench.rep.{t:02d}.{r:02d}",
                    full_name=f"Rep {t}.{r}",
                    role=Role.rep,
                    team_id=team.id,
                    password_hash="!",
                )
                session.add(user)
                session.flush()
                reps.append((team.id, user.id))
        log(f"generating {deals:,} opportunities and {rows:,} stays")
        opps, spans = generate(rng, deals, rows, stage_ids, reps, now)
        log("COPY into opportunities and opportunity_stage_history")
        # Foreign keys are checked once below, not row by row (triggers off for the COPY).
        session.execute(text("SET LOCAL session_replication_role = replica"))
        copy_in(session, "opportunities", OPP_COLUMNS, opps)
        copy_in(session, "opportunity_stage_history", SPAN_COLUMNS, spans)
        session.execute(text("SET LOCAL session_replication_role = origin"))
        orphans = session.execute(text(ORPHANS_SQL)).scalar_one()
        assert orphans == 0, f"{orphans} rows break a foreign key"
        for table in ("opportunities", "opportunity_stage_history"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), max(id)) FROM {table}"
                )
            )
        session.commit()
        admin_id, team0 = admin.id, reps[0][0]
    from sfa import db as sfa_db

    with sfa_db.get_engine().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        # An autovacuum started by the COPY may hold the tables: wait for it (it yields).
        conn.execute(text("SET lock_timeout = 0"))
        conn.execute(text("VACUUM ANALYZE"))
    return admin_id, team0


def last_quarter(today: date) -> tuple[date, date]:
    first_this = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    end = first_this - timedelta(days=1)
    return date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end


def timed(run, times: int = 6) -> list[float]:
    result = []
    for _ in range(times):
        t0 = time.perf_counter()
        run()
        result.append((time.perf_counter() - t0) * 1000)
    return result


def explain(session_factory, principal, query) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the report's five statements for `query`."""
    from sqlalchemy import event

    from analytics import pipeline as metrics
    from sfa import db as sfa_db

    captured = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "opportunit" in statement and "GROUP BY" in statement:
            captured.append((statement, parameters))

    engine = sfa_db.get_engine()
    event.listen(engine, "before_cursor_execute", capture)
    try:
        with session_factory() as session:
            metrics.pipeline_report(session, principal=principal, query=query)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        for statement, parameters in captured:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
            print("\n".join(row[0] for row in cur.fetchall()))
            print("-" * 80)
    finally:
        raw.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--explain", choices=("auto", "always", "never"), default="auto")
    args = parser.parse_args()
    banner(f"pipeline metrics: {args.deals:,} opportunities, {args.rows:,} stage-history rows")
    print(machine_line())
    import analytics

    print(f"code measured: {Path(analytics.__file__).parent}")
    with pg_cluster("sfa_bench_pipeline"):
        from sqlalchemy import text

        from analytics import pipeline as metrics
        from sfa import db as sfa_db
        from sfa.auth.principal import ROLE_SCOPES, Principal
        from sfa.users.models import Role

        session_factory = sfa_db.get_sessionmaker()
        t0 = time.perf_counter()
        admin_id, team0 = load(session_factory, args.deals, args.rows)
        log(f"loaded in {time.perf_counter() - t0:.1f} s")
        with session_factory() as s:
            size_mb = s.execute(
                text("SELECT pg_total_relation_size('opportunity_stage_history') / 1048576.0")
            ).scalar_one()
        principal = Principal(
            kind="user", id=admin_id, role=Role.admin, scopes=ROLE_SCOPES[Role.admin]
        )
        q_from, q_to = last_quarter(datetime.now(UTC).date())
        cases = {
            f"one team's quarter ({q_from}..{q_to})": metrics.PipelineQuery(
                team_id=team0, date_from=q_from, date_to=q_to
            ),
            "whole company, all time": metrics.PipelineQuery(),
            "whole company by team, all time": metrics.PipelineQuery(by="team"),
            f"whole company, one quarter ({q_from}..{q_to})": metrics.PipelineQuery(
                date_from=q_from, date_to=q_to
            ),
        }

        def scan():
            with session_factory() as s:
                s.execute(text(SEQ_SCAN_SQL)).one()

        log("baseline: sequential scan of the history table")
        baseline = timed(scan)
        base = statistics.median(baseline[1:])
        results = {}
        for name, query in cases.items():
            log(name)

            def run(query=query):
                with session_factory() as s:
                    metrics.pipeline_report(s, principal=principal, query=query)

            results[name] = timed(run)

        banner("results")
        print(f"history table: {args.rows:,} rows, {size_mb:.0f} MB with indexes")
        print(
            f"baseline seq scan ({SEQ_SCAN_SQL[:52]}...): first {baseline[0]:.0f} ms, "
            f"median {base:.0f} ms"
        )
        for name, times in results.items():
            median = statistics.median(times[1:])
            print(
                f"{name}: first {times[0]:.0f} ms, median {median:.0f} ms, worst "
                f"{max(times[1:]):.0f} ms; median / seq scan = {median / base:.2f}x"
            )
        team_name, company_name = list(cases)[:2]
        team_worst = max(results[team_name][1:])
        company_worst = max(results[company_name][1:])
        ok_team, ok_company = team_worst <= TARGET_TEAM_MS, company_worst <= TARGET_COMPANY_MS
        print(
            f"target one team's quarter <= {TARGET_TEAM_MS:.0f} ms: "
            f"{'met' if ok_team else 'MISSED'} (worst {team_worst:.0f} ms)"
        )
        print(
            f"target whole company <= {TARGET_COMPANY_MS:.0f} ms: "
            f"{'met' if ok_company else 'MISSED'} (worst {company_worst:.0f} ms)"
        )
        if args.explain != "never":
            for name, ok in ((team_name, ok_team), (company_name, ok_company)):
                if args.explain == "always" or not ok:
                    banner(f"plans: {name}")
                    explain(session_factory, principal, cases[name])
        return 0 if ok_team and ok_company else 1


if __name__ == "__main__":
    sys.exit(main())
