"""Events in tests: drain the consumers after an action, as the scheduler's
`drain-events` job would a few seconds later.

A drain sees the events of its own transaction, so a test (one transaction, rolled back
afterwards) drains what its action emitted."""

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from sfa.events import consumers
from sfa.events import service as events
from sfa.events.types import ANNOUNCEMENT_DUE
from sfa.workflows import consumer as workflow_consumer  # noqa: F401 - registers it

SAMPLE_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def drain_events(session: Session, name: str | None = None) -> consumers.DrainResult:
    """Drain until nothing new is handled (every consumer, or the one named)."""
    total = consumers.DrainResult()
    while True:
        result = consumers.drain(session, name)
        total += result
        if result.handled + result.failed + result.retried == 0:
            return total


def emit_sample(session: Session, subject: str, key: str | None = None) -> bool:
    """Emit one event (an announcement.due: any type would do) about `subject`."""
    return events.emit(
        session,
        ANNOUNCEMENT_DUE,
        subject_kind="announcement",
        subject_id=subject,
        actor=events.SYSTEM,
        payload={
            "announcement_id": 1,
            "kind": "promotion",
            "title": subject,
            "team_ids": None,
            "effective_at": SAMPLE_AT,
        },
        event_id=key,
    )
