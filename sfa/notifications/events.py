"""The events of announcements and targets, found by scheduled jobs:

* `announcement.due` — an announcement reached its effective time (the minute job
  `announcements-due`); once per announcement;
* `target.progress` — a rep's progress towards each active target (the daily job
  `target-progress`); once per target and company day.

Their natural keys make a job run twice, or two schedulers, write nothing new.
"""

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.events import service as events
from sfa.events import types
from sfa.notifications import repository
from sfa.notifications.models import Announcement
from sfa.notifications.targets import progress
from sfa.users.models import User

# An announcement whose effective time passed longer ago than this (the scheduler was
# down) is no news any more: it is not announced late.
DUE_LOOKBACK = timedelta(days=2)


def emit_due_announcements(session: Session, *, now: datetime | None = None) -> int:
    """Emit `announcement.due` for each announcement whose time has come; how many."""
    now = now or datetime.now(UTC)
    due = session.scalars(
        select(Announcement)
        .where(Announcement.effective_at <= now, Announcement.effective_at > now - DUE_LOOKBACK)
        .order_by(Announcement.effective_at, Announcement.id)
    )
    count = 0
    for announcement in due:
        count += events.emit(
            session,
            types.ANNOUNCEMENT_DUE,
            subject_kind="announcement",
            subject_id=announcement.id,
            actor=events.SYSTEM,
            payload={
                "announcement_id": announcement.id,
                "kind": str(announcement.kind),
                "title": announcement.title,
                "team_ids": announcement.team_ids,
                "effective_at": announcement.effective_at,
            },
            event_id=str(announcement.id),
            # When it became due, not when the job noticed: what follows is dated so.
            occurred_at=announcement.effective_at,
        )
    return count


def emit_target_progress(session: Session, *, today: date, now: datetime | None = None) -> int:
    """Emit `target.progress` for each active target of an active rep on `today`."""
    now = now or datetime.now(UTC)
    count = 0
    for target in repository.active_targets(session, day=today):
        rep = session.get(User, target.rep_id)
        if rep is None or not rep.is_active:
            continue
        p = progress(session, target=target, today=today)
        count += events.emit(
            session,
            types.TARGET_PROGRESS,
            subject_kind="target",
            subject_id=target.id,
            actor=events.SYSTEM,
            payload={
                "target_id": target.id,
                "rep_id": target.rep_id,
                "day": today,
                "period_start": target.period_start,
                "period_end": target.period_end,
                "days_left": p.days_total - p.days_elapsed,
                "visits_done": p.visits_done,
                "visits_target": target.visits_target,
                "visits_pct": p.visits_pct,
                "sales_done": p.sales_done,
                "sales_target": target.sales_target,
                "sales_pct": p.sales_pct,
            },
            event_id=f"{target.id}:{today.isoformat()}",
            occurred_at=now,
        )
    return count
