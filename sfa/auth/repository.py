"""Failed-login counters, per username and per client address.

Counted with one upsert each, after the password was checked: the row is locked only from
that statement to the commit that follows at once, never while argon2 runs, so concurrent
failed logins for one username neither wait for each other's password checks (which gave
503 `busy`) nor race to insert the first row (which gave 409).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.db import execute_dml


@dataclass(frozen=True)
class Counter:
    table: str  # login_throttle or login_client_throttle
    column: str  # its key column
    key: str


def locked_until(session: Session, counters: list[Counter], now: datetime) -> datetime | None:
    """The latest lock still running on any of the counters."""
    latest = None
    for c in counters:
        until = session.execute(
            text(f"SELECT locked_until FROM {c.table} WHERE {c.column} = :key"), {"key": c.key}
        ).scalar()
        if until is not None and until > now and (latest is None or until > latest):
            latest = until
    return latest


def count_failure(
    session: Session, counter: Counter, *, now: datetime, window: timedelta, max_failures: int
) -> None:
    """One more failure; a counter whose window is over starts again at one, and reaching
    `max_failures` within the window locks it for the window's length."""
    expired = f"t.first_failure_at < :now - make_interval(secs => {window.total_seconds()})"
    failures = f"CASE WHEN {expired} THEN 1 ELSE t.failures + 1 END"
    session.execute(
        text(
            f"INSERT INTO {counter.table} AS t ({counter.column}, failures, first_failure_at, "
            "locked_until) VALUES (:key, 1, :now, CASE WHEN :max <= 1 THEN :until END) "
            f"ON CONFLICT ({counter.column}) DO UPDATE SET "
            f"failures = {failures}, "
            f"first_failure_at = CASE WHEN {expired} THEN :now ELSE t.first_failure_at END, "
            f"locked_until = CASE WHEN {failures} >= :max THEN :until "
            f"WHEN {expired} THEN NULL ELSE t.locked_until END"
        ),
        {"key": counter.key, "now": now, "max": max_failures, "until": now + window},
    )


def forget(session: Session, counter: Counter) -> None:
    session.execute(
        text(f"DELETE FROM {counter.table} WHERE {counter.column} = :key"), {"key": counter.key}
    )


def purge(session: Session, table: str, *, cutoff: datetime, now: datetime) -> int:
    """Forget counters whose window and lock are over."""
    return execute_dml(
        session,
        text(
            f"DELETE FROM {table} WHERE first_failure_at < :cutoff "
            "AND (locked_until IS NULL OR locked_until < :now)"
        ),
        {"cutoff": cutoff, "now": now},
    )
