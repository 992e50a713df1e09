"""Sync run rows: what each run did, and runs that died.

Statuses: ``running``; then ``ok`` (no error), ``partial`` (errors, but some work done),
``failed`` (errors, nothing done), ``skipped`` (another run held the lock) or
``interrupted`` (the process running it stopped before the end).

A run holds the ``erp-sync`` advisory lock from before its row is written until after
its final status is committed. So a row still ``running`` while nobody holds the lock
belongs to a dead process: ``reap_dead_runs`` marks it ``interrupted`` the moment anyone
looks (``GET /v1/sync/runs``) or a new run starts, not only at the next run.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from sfa.db import advisory_key, execute_dml
from sfa.erp.models import SyncRun
from sfa.pagination import Page, paginate

LOCK_NAME = "erp-sync"
INTERRUPTED = {
    "phase": "run",
    "kind": "interrupted",
    "message": "the process running this sync stopped before the end; nothing it "
    "committed is lost (each order and page commits on its own) and the next run "
    "carries on from there",
}


def lock_key() -> int:
    return advisory_key(LOCK_NAME)


def lock_held(session: Session) -> bool:
    """Whether some session holds the run lock, read from pg_locks without taking it
    (taking it, even for an instant, would make a run starting then skip). A bigint
    advisory key shows as classid = high 32 bits, objid = low 32 bits, objsubid = 1."""
    key = lock_key() & 0xFFFF_FFFF_FFFF_FFFF
    return bool(
        session.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                "AND granted AND database = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) AND classid = :hi AND objid = :lo "
                "AND objsubid = 1)"
            ),
            {"hi": key >> 32, "lo": key & 0xFFFF_FFFF},
        ).scalar()
    )


def reap_dead_runs(session: Session, *, now: datetime, lock_is_ours: bool = False) -> int:
    """Mark ``running`` rows of dead processes ``interrupted``; returns how many.
    ``lock_is_ours``: the caller holds the run lock (a run starting), so every row still
    ``running`` is a dead one's.

    The ids are read before the lock is looked at: a run that starts in between takes
    the lock before writing its row, so its row is not among them, and a run that ends
    in between has committed its final status before releasing the lock."""
    running = list(session.scalars(select(SyncRun.id).where(SyncRun.status == "running")))
    if not running or (not lock_is_ours and lock_held(session)):
        return 0
    count = execute_dml(
        session,
        update(SyncRun)
        .where(SyncRun.id.in_(running), SyncRun.status == "running")
        .values(status="interrupted", finished_at=now, errors=[INTERRUPTED])
        .execution_options(synchronize_session=False),
    )
    session.flush()
    return count


def list_runs(session: Session, *, limit: int, offset: int, now: datetime) -> Page:
    reap_dead_runs(session, now=now)
    stmt = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
    return paginate(session, stmt, limit=limit, offset=offset)


def run_notes(run: SyncRun) -> list[str]:
    """What a person should know about a run, in words, from its counts."""
    counts = run.counts or {}
    push = counts.get("push", {})
    notes = []
    if push.get("waiting"):
        notes.append(
            f"{push['waiting']} order(s) wait to be sent again after an ERP failure, the "
            f"first at {push.get('waiting_until')}; an admin's POST /v1/sync/run sends "
            "them now"
        )
    if push.get("not_tried"):
        notes.append(
            f"{push['not_tried']} order(s) were not tried: the ERP kept failing; they "
            "keep their place for the next run"
        )
    skipped = counts.get("pull", {}).get("customers", {}).get("not_customers")
    if skipped:
        notes.append(
            f"{skipped} ERP part(ies) passed over: not customers (docs/erp.md says which "
            "parties are)"
        )
    unassigned = counts.get("pull", {}).get("customers", {}).get("unassigned")
    if unassigned:
        notes.append(
            f"{unassigned} new customer(s) have no team yet: GET "
            "/v1/customers?unassigned=true lists them for an admin to assign"
        )
    notes.extend(counts.get("check", {}).get("warnings", []))
    return notes
