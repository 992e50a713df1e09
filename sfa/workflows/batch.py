"""What a batch of runs (a drain's events, a timer job's due timers) looks up once for
all of them, so that advancing each run costs a few objects and no statement of its own
when its steps only route the run (docs/workflows-runtime.md, "Batches").

A `RunBatch` lives in the session's `info` while the batch is worked. The engine asks it
before it queries:

* `attempts`: the run-step rows recorded so far, by run and step, for runs whose rows
  are all known (a run this batch started has none; the timer job loads its runs' counts
  in one query). A step's attempt number is then counted here instead of with a
  `count(*)` per step.
* `waiting`: the waiting run-step row of each (run, step) the batch will resume.
* `cleared`: the (run, step) pairs whose timers and waits the batch deleted up front.
* `runs`: the runs that exist per (workflow, trigger event), so a redelivered event
  starts nothing twice without a query per workflow.
* `settings`: the company's settings as the runs' context has them.

Any rollback in the session (a step's savepoint, the batch's own) empties the run
knowledge: what it counted may have been undone, and a step retried after a rollback
must see the attempt number the database has (an effect's idempotency key is built
from it). The engine then falls back to its queries.
"""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, String, any_, bindparam, event, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from sfa.workflows.runtime_models import StepStatus, WorkflowRunStep

_KEY = "workflow_run_batch"
_IDS_KEY = "workflow_run_ids"
# Run ids taken from the sequence at once (unused ones are gaps, as any rollback leaves).
ID_BLOCK = 500


@dataclass
class RunBatch:
    attempts: dict[int, dict[str, int]] = field(default_factory=dict)
    waiting: dict[tuple[int, str], WorkflowRunStep | None] = field(default_factory=dict)
    cleared: set[tuple[int, str]] = field(default_factory=set)
    runs: dict[tuple[int, str], int] | None = None
    settings: dict[str, Any] | None = None
    company: Any = None  # the CompanySettings (read only by the runs' contexts)

    def forget_runs(self) -> None:
        self.attempts.clear()
        self.waiting.clear()
        self.cleared.clear()
        self.runs = None


def current(session: Session) -> RunBatch | None:
    return session.info.get(_KEY)


@contextmanager
def working(session: Session) -> Iterator[RunBatch]:
    """Install a batch for the block (nested blocks share the outer one)."""
    outer = current(session)
    if outer is not None:
        yield outer
        return
    batch = session.info[_KEY] = RunBatch()
    try:
        yield batch
    finally:
        session.info.pop(_KEY, None)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous) -> None:
    batch = current(session)
    if batch is not None:
        batch.forget_runs()


def load_attempts(session: Session, batch: RunBatch, run_ids: list[int]) -> None:
    """The recorded attempts of these runs' steps, in one query."""
    counts: dict[int, dict[str, int]] = {run_id: {} for run_id in run_ids}
    rows = session.execute(
        select(WorkflowRunStep.run_id, WorkflowRunStep.step_id, func.count())
        .where(ids_in(WorkflowRunStep.run_id, run_ids))
        .group_by(WorkflowRunStep.run_id, WorkflowRunStep.step_id)
    )
    for run_id, step_id, count in rows:
        counts[run_id][step_id] = count
    batch.attempts.update(counts)


def load_waiting(session: Session, batch: RunBatch, pairs: set[tuple[int, str]]) -> None:
    """The waiting run-step row of each (run, step), latest attempt; None when none."""
    if not pairs:
        return
    batch.waiting.update({pair: None for pair in pairs})
    rows = session.scalars(
        select(WorkflowRunStep)
        .where(
            ids_in(WorkflowRunStep.run_id, {run_id for run_id, _ in pairs}),
            WorkflowRunStep.status == StepStatus.waiting,
        )
        .order_by(WorkflowRunStep.attempt)
    )
    for row in rows:
        if (row.run_id, row.step_id) in pairs:
            batch.waiting[(row.run_id, row.step_id)] = row  # the latest attempt wins


def next_id(session: Session, table: str) -> int:
    """A new row's id of `table` (workflow_runs, workflow_run_steps) without inserting it
    yet. Ids come from the table's sequence a block at a time (sequences are outside
    transactions: an id is never handed out twice, unused ones are gaps as a rollback
    leaves). A row with its id is inserted by a plain executemany with the batch's other
    new rows, which psycopg sends as one pipeline of one prepared statement; without it
    the ORM would build one INSERT ... VALUES of thousands of parameters to get the ids
    back, and parsing that costs more than the database's work."""
    blocks: dict[str, list[int]] = session.info.setdefault(_IDS_KEY, {})
    ids = blocks.setdefault(table, [])
    if not ids:
        with session.no_autoflush:  # the batch's rows are flushed together, later
            ids.extend(
                session.scalars(
                    text(
                        "SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                        "FROM generate_series(1, :n)"
                    ),
                    {"table": table, "n": ID_BLOCK},
                )
            )
        ids.reverse()
    return ids.pop()


def ids_in(column, ids: Iterable[int]):
    """`column = ANY(:ids)` with the ids as one array parameter (not one each)."""
    return column == any_(bindparam(None, list(ids), type_=ARRAY(BigInteger)))


def pairs_in(run_column, step_column, pairs: Iterable[tuple[int, str]]):
    """(run, step) IN the pairs, as two array parameters."""
    pairs = list(pairs)
    runs, steps = zip(*pairs, strict=True) if pairs else ((), ())
    matched = select(
        func.unnest(bindparam(None, list(runs), type_=ARRAY(BigInteger))),
        func.unnest(bindparam(None, list(steps), type_=ARRAY(String))),
    )
    return tuple_(run_column, step_column).in_(matched)
