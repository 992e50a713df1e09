"""`latest_fire` (a bisection over APScheduler's next-fire search) finds the same fire
time as stepping through every fire time of the window, for crons of every density."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from sfa.workflows.schedules import latest_fire

JAKARTA = ZoneInfo("Asia/Jakarta")
SINCE = datetime(2026, 11, 30, 17, 3, 20, tzinfo=UTC)


def _stepping(cron: str, since: datetime, now: datetime) -> datetime | None:
    trigger = CronTrigger.from_crontab(cron, timezone=JAKARTA)
    found, fire = None, trigger.get_next_fire_time(None, since)
    while fire is not None and fire <= now:
        found = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return found.astimezone(UTC) if found is not None else None


@pytest.mark.parametrize(
    "cron", ["* * * * *", "*/15 * * * *", "0 8 * * *", "30 9 * * 1", "* 8 * * 3", "0 0 1 1 *"]
)
@pytest.mark.parametrize("hours", [0.01, 1, 30, 24 * 6.5])
def test_latest_fire_is_the_last_fire_of_the_window(cron, hours):
    now = SINCE + timedelta(hours=hours)
    assert latest_fire(cron, JAKARTA, since=SINCE, now=now) == _stepping(cron, SINCE, now)


def test_a_fire_exactly_now_counts_and_none_before_since():
    eight = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 08:00 in Jakarta
    assert latest_fire("0 8 * * *", JAKARTA, since=SINCE, now=eight) == eight
    later = eight + timedelta(seconds=1)
    assert latest_fire("0 8 * * *", JAKARTA, since=later, now=later + timedelta(hours=1)) is None
