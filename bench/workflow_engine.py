"""The workflow engine: event throughput, a minute of 100,000 due timers, and what a
draining engine costs the API.

(a) events/s through the engine: 100 enabled, published workflows (95 listen to other
    event types, 5 to `announcement.due` with a filter on the title, each matched by 2 %
    of the events: 10 % of the events start one run, set_variable → end); the
    `workflows` consumer drains N emitted events (batches of 500, a transaction each).
    Baseline, same run: the same N events INSERTed (`events.emit`, 500 per transaction).
    Target ≥ 2,000 events/s.
(b) 100,000 runs waiting on a timer due in the same minute (spread over it): the
    `workflow-timers` job function (`timers.run_timers`) called as the scheduler calls it
    (every 15 s from the start of the minute, at once again when a call ran out of its
    budget) until every run has moved on. Printed: the job's working time, the wall time
    from the minute's start, and the lateness (commit of its batch minus due) p50/p99.
    Baseline, same run: one UPDATE of the same 100,000 runs to `completed` (what the
    database alone spends on the state change). Target: all woken within 60 s of work.
(c) `POST /v1/orders` p50/p99 (8 clients, closed loop, `sfa serve --workers 2`) while a
    separate process works off `--rate` events a second (200, a busy company's stream
    and more: a backlog emitted before the phase, and the orders' own events) in one
    drain a second as the scheduled drain does, against the same load with the engine
    idle (same run). `--rate 0` drains flat out: on 2 cores that process takes one core
    from the API by construction, which measures the machine, not the engine.

    .venv/bin/python bench/workflow_engine.py [--events 20000] [--timers 100000]
        [--seconds 15] [--only a,b,c]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
import uuid
from datetime import UTC, datetime, timedelta

from _common import (
    RawHttp,
    access_token,
    api_server,
    banner,
    log,
    machine_line,
    make_teams,
    percentile,
    pg_cluster,
    use_database,
)

TARGET_EVENTS_PER_S = 2000.0
TARGET_WAKE_S = 60.0
WORKFLOWS = 100
LISTENING = 5  # of WORKFLOWS, on the emitted type; each matches 1 title in 50
OTHER_TYPES = ("visit.checked_in", "order.submitted", "order.approved", "customer.created")
TIMER_WORKFLOW = 900_001


def _definition(name: str, trigger: dict) -> dict:
    return {
        "name": name,
        "trigger": trigger,
        "start": "mark",
        "steps": {
            "mark": {"type": "set_variable", "name": "seen", "value": "yes", "next": "done"},
            "done": {"type": "end"},
        },
    }


def make_workflows(session) -> None:
    """WORKFLOWS published workflows (rows written directly: the authoring service's
    checks are not what is measured). The built-ins are switched off, so exactly
    WORKFLOWS are active (the built-in announcement workflow would otherwise tell every
    rep of each emitted announcement: the notification outbox's cost, not the engine's)."""
    from sqlalchemy import update

    from sfa.workflows.models import VersionState, Workflow, WorkflowVersion

    session.execute(update(Workflow).values(enabled=False))
    now = datetime.now(UTC)
    for i in range(WORKFLOWS):
        if i < LISTENING:
            title = {"==": [{"var": "payload.title"}, f"match-{i}"]}
            trigger = {"event": "announcement.due", "filter": title}
        else:
            trigger = {"event": OTHER_TYPES[i % len(OTHER_TYPES)]}
        definition = _definition(f"bench {i}", trigger)
        workflow = Workflow(key=f"bench-{i}", name=definition["name"], created_by="bench")
        session.add(workflow)
        session.flush()
        version = WorkflowVersion(
            workflow_id=workflow.id,
            number=1,
            state=VersionState.published,
            definition=definition,
            created_by="bench",
            published_by="bench",
            published_at=now,
        )
        session.add(version)
        session.flush()
        workflow.active_version_id = version.id
    session.flush()


def emit_events(session, count: int, start: int = 0) -> None:
    from sfa.events import service as events
    from sfa.events.types import ANNOUNCEMENT_DUE

    for k in range(start, start + count):
        events.emit(
            session,
            ANNOUNCEMENT_DUE,
            subject_kind="announcement",
            subject_id=k,
            actor=events.SYSTEM,
            payload={
                "announcement_id": k,
                "kind": "promotion",
                "title": f"match-{k % 50}",
                "team_ids": None,
                "effective_at": datetime.now(UTC),
            },
        )


def drain_workflows(make) -> int:
    """Drain the engine's consumer until caught up; events handled."""
    from sfa.db import committing
    from sfa.events import consumers
    from sfa.workflows import consumer as workflow_consumer

    engine_consumer = next(
        c for c in consumers.registered() if c.name == workflow_consumer.CONSUMER
    )
    handled = 0
    while True:
        with committing(make()) as session:
            result = consumers.drain_one(session, engine_consumer, batch=500)
        handled += result.handled + result.skipped
        if result.handled + result.skipped + result.failed == 0:
            return handled


class Cost:
    """Statements sent and this process's CPU while a block runs (per unit, printed), and
    a cProfile split of where the Python time goes: the engine's share of a slow figure
    versus the database's (wall minus CPU is mostly waiting for PostgreSQL)."""

    def __init__(self, label: str, units: int):
        self.label, self.units, self.statements = label, units, 0

    def _count(self, *_args) -> None:
        self.statements += 1

    def __enter__(self):
        import cProfile

        from sqlalchemy import event

        from sfa.db import get_engine

        event.listen(get_engine(), "before_cursor_execute", self._count)
        self.profiler = cProfile.Profile()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        self.profiler.enable()
        return self

    def __exit__(self, *exc) -> None:
        import io
        import pstats

        from sqlalchemy import event

        from sfa.db import get_engine

        self.profiler.disable()
        wall, cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu
        event.remove(get_engine(), "before_cursor_execute", self._count)
        n = max(self.units, 1)
        print(
            f"    profile of {self.label}: {self.statements / n:.1f} statements, "
            f"{wall / n * 1000:.2f} ms wall, {cpu / n * 1000:.2f} ms CPU of this process per "
            f"unit ({self.units:,} units); top functions by own time:"
        )
        out = io.StringIO()
        pstats.Stats(self.profiler, stream=out).sort_stats("tottime").print_stats(12)
        lines = [line for line in out.getvalue().splitlines() if line.strip()]
        start = next(i for i, line in enumerate(lines) if "ncalls" in line)
        for line in lines[start : start + 13]:
            print("     ", line[:150])


def part_a(events_n: int) -> dict:
    from sqlalchemy import func, select

    from sfa.db import committing, get_sessionmaker
    from sfa.events import consumers
    from sfa.workflows.runtime_models import WorkflowRun

    make = get_sessionmaker()
    # Every other consumer off: the figure is the engine's (and the stream's) own.
    for consumer in list(consumers.registered()):
        if consumer.name != "workflows":
            consumers.unregister(consumer.name)
    drain_workflows(make)  # the cursor made, the past (nothing) consumed
    t0 = time.perf_counter()
    for start in range(0, events_n, 500):
        with committing(make()) as session:
            emit_events(session, min(500, events_n - start), start)
    insert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    handled = drain_workflows(make)
    drain_s = time.perf_counter() - t0
    with committing(make()) as session:
        runs = session.scalar(select(func.count()).select_from(WorkflowRun))
    insert_rate, drain_rate = events_n / insert_s, handled / drain_s
    print(
        f"(a) {handled:,} events through {WORKFLOWS} workflows ({runs:,} runs started): "
        f"{drain_rate:,.0f} events/s (drain {drain_s:.1f} s); plain INSERT of the same "
        f"events {insert_rate:,.0f} events/s ({insert_s:.1f} s); engine / INSERT = "
        f"{drain_rate / insert_rate:.2f}; target ≥ {TARGET_EVENTS_PER_S:,.0f} events/s: "
        f"{'met' if drain_rate >= TARGET_EVENTS_PER_S else 'MISSED'}"
    )
    if drain_rate < TARGET_EVENTS_PER_S:
        extra = min(events_n, 2000)
        for start in range(0, extra, 500):
            with committing(make()) as session:
                emit_events(session, min(500, extra - start), events_n + start)
        with Cost("the engine's drain (unit: one event)", extra):
            drain_workflows(make)
    return {"events_per_s": drain_rate, "insert_per_s": insert_rate, "runs": runs}


_TIMER_SETUP = (
    """INSERT INTO workflow_runs (workflow_id, version_id, definition, trigger_type, status,
        variables, context, current_step, failures, started_at)
    SELECT :wf, 1, CAST(:definition AS jsonb), 'bench', 'waiting', '{}', '{}', 'w', 0, now()
    FROM generate_series(1, :n)""",
    """INSERT INTO workflow_run_steps (run_id, step_id, step_type, attempt, idempotency_key,
        status, input, started_at)
    SELECT id, 'w', 'wait', 1, id || ':w:1', 'waiting', '{}', now()
    FROM workflow_runs WHERE workflow_id = :wf""",
)
_TIMERS = """INSERT INTO workflow_timers (run_id, step_id, kind, due_at)
    SELECT id, 'w', 'wake', CAST(:minute AS timestamptz) + random() * interval '59.9 seconds'
    FROM workflow_runs WHERE workflow_id = :wf"""


def _timer_definition() -> str:
    return json.dumps(
        {
            "name": "bench timers",
            "trigger": {"schedule": "0 8 * * *"},
            "start": "w",
            "steps": {
                "w": {"type": "wait", "hours": 1, "next": "v"},
                "v": {"type": "set_variable", "name": "woken", "value": True, "next": "e"},
                "e": {"type": "end"},
            },
        }
    )


def _setup_timers(n: int, workflow_id: int, minute: datetime | None = None) -> datetime:
    """n runs of `workflow_id` waiting on a timer due in the minute from `minute` (by
    default the next whole minute at least 10 s away)."""
    from sqlalchemy import text

    from sfa.db import session_scope

    params = {"wf": workflow_id, "n": n, "definition": _timer_definition()}
    with session_scope() as session:
        for statement in _TIMER_SETUP:
            session.execute(text(statement), params)
    if minute is None:
        minute = (datetime.now(UTC) + timedelta(seconds=70)).replace(second=0, microsecond=0)
    with session_scope() as session:
        session.execute(text(_TIMERS), params | {"minute": minute})
        session.execute(text("ANALYZE workflow_runs; ANALYZE workflow_timers"))
    return minute


def _timed(commit, commits: list):
    """`commit`, noting when each one is done (the job commits once per batch)."""

    def timed() -> None:
        commit()
        commits.append(datetime.now(UTC))

    return timed


def _simulate_scheduler(minute: datetime, budget_s: float) -> tuple[list, list, float]:
    """Call `run_timers` every 15 s from `minute` until no timer is left; returns the
    (claimed, commit time) of each batch and the seconds spent inside the job."""
    from sqlalchemy import func, select

    from sfa.db import get_sessionmaker
    from sfa.workflows import timers
    from sfa.workflows.runtime_models import WorkflowTimer

    claimed, commits = [], []
    real_wake = timers.wake_due

    def counting(session, **kw):
        n = real_wake(session, **kw)
        claimed.append(n)
        return n

    timers.wake_due = counting
    make = get_sessionmaker()
    working, tick = 0.0, minute
    try:
        while True:
            delay = (tick - datetime.now(UTC)).total_seconds()
            if delay > 0:
                time.sleep(delay)
            session = make()
            session.commit = _timed(session.commit, commits)  # type: ignore[method-assign]
            t0 = time.perf_counter()
            try:
                timers.run_timers(session)  # commits each batch
                left = session.scalar(select(func.count()).select_from(WorkflowTimer))
            finally:
                session.close()
            working += time.perf_counter() - t0
            if not left or working > budget_s:
                return claimed, commits, working
            tick = max(tick + timedelta(seconds=15), datetime.now(UTC))
    finally:
        timers.wake_due = real_wake


def part_b(n: int, budget_s: float) -> dict:
    from sqlalchemy import func, select, text

    from sfa.db import session_scope
    from sfa.workflows.runtime_models import WorkflowRun, WorkflowTimer

    minute = _setup_timers(n, TIMER_WORKFLOW)
    with session_scope() as session:
        dues = sorted(
            session.scalars(
                select(WorkflowTimer.due_at).order_by(WorkflowTimer.due_at, WorkflowTimer.id)
            )
        )
    log(f"(b) {n:,} timers due in the minute from {minute:%H:%M:%S} UTC; waiting for it")
    claimed, commits, working = _simulate_scheduler(minute, budget_s=budget_s)
    # Batches claim the due timers in (due_at, id) order: batch k holds the next claimed[k].
    late, at = [], 0
    for count, committed in zip(claimed, commits, strict=True):
        late += [(committed - due).total_seconds() for due in dues[at : at + count]]
        at += count
    late.sort()
    with session_scope() as session:
        done = session.scalar(
            select(func.count())
            .select_from(WorkflowRun)
            .where(WorkflowRun.workflow_id == TIMER_WORKFLOW, WorkflowRun.status == "completed")
        )
    t0 = time.perf_counter()
    with session_scope() as session:  # the baseline: the same state change in one UPDATE
        session.execute(
            text(
                "UPDATE workflow_runs SET status = 'completed', finished_at = now(), "
                "current_step = NULL, variables = '{\"woken\": true}' WHERE workflow_id = :wf"
            ),
            {"wf": TIMER_WORKFLOW},
        )
    update_s = time.perf_counter() - t0
    wall = (commits[-1] - minute).total_seconds() if commits else float("nan")
    print(
        f"(b) {done:,} of {n:,} runs woken and completed: {working:.1f} s of job work "
        f"({done / working:,.0f} timers/s), {wall:.1f} s wall from the minute's start; "
        f"lateness p50 {percentile(late, 50):.1f} s, p99 {percentile(late, 99):.1f} s; "
        f"baseline one UPDATE of the same runs {update_s:.2f} s (job / UPDATE = "
        f"{working / update_s:.0f}); target ≤ {TARGET_WAKE_S:.0f} s of work: "
        f"{'met' if working <= TARGET_WAKE_S and done == n else 'MISSED'}"
        + ("" if done == n else f" (stopped after a {budget_s:.0f} s budget of work)")
    )
    if working > TARGET_WAKE_S or done < n:
        from sfa.workflows import timers

        with session_scope() as session:  # what was left, out of the way
            session.execute(text("DELETE FROM workflow_timers"))
        extra = min(n, 300)
        _setup_timers(extra, TIMER_WORKFLOW + 1, datetime.now(UTC) - timedelta(minutes=2))
        with Cost("the workflow-timers job (unit: one timer)", extra), session_scope() as s:
            timers.run_timers(s)
    return {"work_s": working, "p99_late_s": percentile(late, 99), "done": done}


# ------------------------------------------------------------------ (c) orders over HTTP


async def _orders_load(spec: dict) -> dict:
    from urllib.parse import urlsplit

    base = urlsplit(spec["base_url"])
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    start = time.perf_counter()
    record_from, stop_at = start + spec["warmup"], start + spec["warmup"] + spec["seconds"]

    async def client(i: int) -> None:
        token, customers = spec["clients"][i]
        headers = f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        conn, k = RawHttp(base.hostname, base.port), 0
        try:
            while (t := time.perf_counter()) < stop_at:
                k += 1
                body = {
                    "client_id": str(uuid.uuid4()),
                    "customer_id": customers[k % len(customers)],
                    "lines": [{"product_id": spec["product_id"], "quantity": 1}],
                }
                status, _ = await conn.request(
                    "POST", "/v1/orders", headers.encode(), json.dumps(body).encode()
                )
                done = time.perf_counter()
                if t >= record_from and done <= stop_at:
                    latencies.append(done - t)
                    statuses[status] = statuses.get(status, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*(client(i) for i in range(len(spec["clients"]))))
    return {"latencies": sorted(latencies), "status": statuses}


def _load_process(conn, spec: dict) -> None:
    conn.send(asyncio.run(_orders_load(spec)))


def _drainer(url: str, stop, counter, rate: int) -> None:
    """Work off `rate` events of the backlog a second (0: all of it, flat out) and the
    orders' own events, as the scheduled drain does, until told to stop."""
    use_database(url)
    from sfa.db import committing, get_sessionmaker
    from sfa.events import consumers
    from sfa.workflows import consumer as workflow_consumer

    engine_consumer = next(
        c for c in consumers.registered() if c.name == workflow_consumer.CONSUMER
    )
    make, tick = get_sessionmaker(), time.monotonic()
    while not stop.is_set():
        if not rate:
            counter.value += drain_workflows(make)
            continue
        with committing(make()) as session:
            result = consumers.drain_one(session, engine_consumer, batch=rate)
        counter.value += result.handled + result.skipped
        tick += 1.0
        if (pause := tick - time.monotonic()) > 0:
            stop.wait(pause)


def _backlog(n: int) -> None:
    """n events waiting for the engine (emitted before: the API's own emitting is in
    its latency already, and the emitter's CPU is not the engine's)."""
    from sfa.db import committing, get_sessionmaker

    make = get_sessionmaker()
    for start in range(0, n, 500):
        with committing(make()) as session:
            emit_events(session, min(500, n - start), 10_000_000 + start)


def _phase(spec: dict) -> dict:
    parent, child = mp.Pipe()
    proc = mp.Process(target=_load_process, args=(child, spec))
    proc.start()
    result = parent.recv()
    proc.join()
    return result


def part_c(cluster_url: str, seconds: float, rate: int, clients_n: int = 8) -> dict:
    from decimal import Decimal

    from sfa.catalog.models import Product
    from sfa.db import session_scope

    with session_scope() as session:
        teams = make_teams(session, teams=2, reps_per_team=clients_n // 2, customers_per_team=50)
        product = Product(
            external_id="bench-p1",
            code="BP1",
            name="Bench product",
            unit="pcs",
            list_price=Decimal("10000"),
            currency="IDR",
        )
        session.add(product)
        session.flush()
        product_id = product.id
    clients = [
        (access_token(rep), [c[0] for c in customers])
        for _, reps, customers in teams
        for rep in reps
    ]
    out = {}
    with api_server(cluster_url) as server:
        spec = {
            "base_url": server.base_url,
            "clients": clients,
            "product_id": product_id,
            "seconds": seconds,
            "warmup": 3.0,
        }
        out["idle"] = _phase(spec)
        _backlog((rate or 200) * int(seconds + 3.0 + 30))
        stop, counter = mp.Event(), mp.Value("q", 0)
        drainer = mp.Process(target=_drainer, args=(cluster_url, stop, counter, rate))
        drainer.start()
        t0 = time.perf_counter()
        try:
            out["draining"] = _phase(spec)
        finally:
            stop.set()
            drainer.join(120)
        drained_rate = counter.value / (time.perf_counter() - t0)
    idle, busy = out["idle"]["latencies"], out["draining"]["latencies"]
    for name, result in out.items():
        lat = result["latencies"]
        print(
            f"(c) POST /v1/orders, engine {name:8}: {len(lat) / seconds:,.0f} orders/s, "
            f"p50 {percentile(lat, 50) * 1000:.1f} ms, p99 {percentile(lat, 99) * 1000:.1f} ms, "
            f"statuses {result['status']}"
        )
    print(
        f"(c) draining / idle: p50 × {percentile(busy, 50) / percentile(idle, 50):.2f}, "
        f"p99 × {percentile(busy, 99) / percentile(idle, 99):.2f} (the drainer handled "
        f"{drained_rate:,.0f} events/s meanwhile)"
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--timers", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=15.0, help="per HTTP phase")
    parser.add_argument(
        "--timer-budget", type=float, default=600.0, help="(b) stops after this much work"
    )
    parser.add_argument("--only", default="a,b,c")
    parser.add_argument(
        "--rate",
        type=int,
        default=200,
        help="(c) background events a second the engine works off meanwhile (0: flat out)",
    )
    args = parser.parse_args()
    parts = set(args.only.split(","))
    banner("workflow engine: events/s, a minute of due timers, orders while draining")
    print(machine_line())
    with pg_cluster() as cluster:
        from sfa.db import session_scope
        from sfa.workflows import consumer  # noqa: F401 - registers it

        with session_scope() as session:
            make_workflows(session)
        if "c" in parts:  # first: (a) unregisters the other consumers in this process
            part_c(cluster.url, args.seconds, args.rate)
        if "a" in parts:
            part_a(args.events)
        if "b" in parts:
            part_b(args.timers, args.timer_budget)
    print(machine_line("end"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
