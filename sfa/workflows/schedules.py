"""Schedule triggers (`{"schedule": "0 8 * * 1"}`): the `workflow-schedules` job, every
minute, starts a run of each enabled workflow whose published cron fired, in the
company's timezone (the `timezone` setting).

Each evaluation looks for the cron's latest fire time up to now; the run's key is that
fire time (sfa/workflows/triggers.py), so it starts once however many times, and by
however many schedulers, the job runs in that minute. Fire times missed while no
scheduler ran coalesce into the latest one: it fires once when the job comes back
(late, with `trigger.fired_at` the time it was due), not once per missed time. Nothing
fires for a time before the version was published, or more than CATCH_UP ago.
"""

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.workflows import engine, triggers

log = logging.getLogger("sfa.workflows.schedules")

KIND = "schedule"
# How far back a missed fire time is still fired when the scheduler comes back.
CATCH_UP = timedelta(days=7)
# Cron fire times are whole minutes apart; the search stops within this of the latest.
_RESOLUTION = timedelta(seconds=1)


def latest_fire(cron: str, tz: ZoneInfo, *, since: datetime, now: datetime) -> datetime | None:
    """The latest fire time of `cron` (in `tz`) in [since, now], or None.

    APScheduler gives the first fire time at or after an instant; the first one at or
    after `s` is at most `now` exactly while `s` is at most the latest fire time, so a
    bisection over `s` finds it in about twenty steps (whatever the cron and the window),
    where stepping through the fire times would take thousands for a minutely cron."""
    trigger = CronTrigger.from_crontab(cron, timezone=tz)

    def fires_by_now(start: datetime) -> bool:
        fire = trigger.get_next_fire_time(None, start)
        return fire is not None and fire <= now

    if not fires_by_now(since):
        return None
    low, high = since, now + _RESOLUTION  # a fire in [low, now]; none in [high, now]
    while high - low > _RESOLUTION:
        middle = low + (high - low) / 2
        if fires_by_now(middle):
            low = middle
        else:
            high = middle
    fire = trigger.get_next_fire_time(None, low)
    return fire.astimezone(UTC) if fire is not None else None


def trigger_key(fire: datetime) -> str:
    return f"{KIND}:{fire.astimezone(UTC).isoformat()}"


def fire_workflow(session: Session, item: triggers.Published, tz: ZoneInfo, now: datetime) -> bool:
    """Start the workflow's run for its latest fire time, if it has none yet."""
    cron = item.trigger[KIND]
    since = max(item.published_at, now - CATCH_UP)
    fire = latest_fire(cron, tz, since=since, now=now)
    if fire is None:
        return False
    key, workflow_id = trigger_key(fire), item.workflow.workflow_id
    if not triggers.claim(session, workflow_id, KIND):
        return False
    if triggers.started_keys(session, workflow_id, [key]):
        return False
    trigger = engine.Trigger(
        type=KIND,
        event_id=key,
        occurred_at=fire,
        payload={"schedule": cron, "timezone": tz.key, "due_at": fire.isoformat()},
    )
    return triggers.start_once(session, item.workflow, trigger, now) is not None


def run_schedules(session: Session, *, now: datetime | None = None) -> dict:
    """The scheduler job: each schedule workflow in a transaction of its own (its lock
    and its run's steps are held only while it is worked)."""
    now = now or datetime.now(UTC)
    tz = company_service.get_company_settings(session).tz
    started = 0
    for item in triggers.published_with(session, KIND):
        try:
            started += fire_workflow(session, item, tz, now)
            session.commit()
        except Exception:  # one broken workflow must not stop the others' schedules
            session.rollback()
            log.exception("workflow %s: schedule not evaluated", item.workflow.workflow_id)
    return {"started": started}
