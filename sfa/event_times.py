"""Which device times the company accepts for events (check-ins, check-outs, pings).

A device time more than `future_tolerance_hours` ahead of the server, more than
`max_backdate_days` in the past, or before the company's start (`company_start_date`,
company-local midnight) is rejected per item with the reason: an offline queue is days
old, never decades, and a clock at 1970 or year 1 must not create ping partitions or
reach the analysis (docs/security.md, "Event times").
"""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sfa.company.settings import CompanySettings
from sfa.limits import EARLIEST_INSTANT


@dataclass(frozen=True)
class EventWindow:
    earliest: datetime
    latest: datetime
    backdate_days: int
    future_hours: float
    company_start: datetime | None

    def problem(self, at: datetime) -> str | None:
        """Why a device time is refused, or None when it is accepted."""
        if at > self.latest:
            return (
                f"at {at.isoformat()} is more than {self.future_hours:g} h in the future; "
                "check the device clock"
            )
        if at >= self.earliest:
            return None
        if self.company_start is not None and at < self.company_start:
            return (
                f"at {at.isoformat()} is before the company's start "
                f"({self.company_start.date().isoformat()}); check the device clock"
            )
        return (
            f"at {at.isoformat()} is more than {self.backdate_days} days in the past; "
            "check the device clock, or ask an administrator to raise max_backdate_days"
        )


def event_window(settings: CompanySettings, now: datetime | None = None) -> EventWindow:
    now = now or datetime.now(UTC)
    earliest = max(now - timedelta(days=settings.max_backdate_days), EARLIEST_INSTANT)
    start = None
    if settings.company_start_date is not None:
        start = datetime.combine(settings.company_start_date, time(), tzinfo=settings.tz)
        earliest = max(earliest, start)
    return EventWindow(
        earliest=earliest,
        latest=now + timedelta(hours=settings.future_tolerance_hours),
        backdate_days=settings.max_backdate_days,
        future_hours=settings.future_tolerance_hours,
        company_start=start,
    )
