"""Survey periods: the company-local week, month or quarter a day falls in, as a label."""

import re
from datetime import date, timedelta

from sfa.errors import InvalidInput
from sfa.surveys.models import Cadence
from sfa.weeks import iso_week_label, parse_week

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$", re.IGNORECASE)


def label(cadence: Cadence, day: date) -> str:
    """2026-W47 (weekly), 2026-11 (monthly), 2026-Q4 (quarterly)."""
    if cadence is Cadence.weekly:
        return iso_week_label(day)
    if cadence is Cadence.monthly:
        return f"{day.year}-{day.month:02d}"
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def first_day(cadence: Cadence, period: str) -> date:
    """The first day of a period label of this cadence (InvalidInput when malformed)."""
    try:
        if cadence is Cadence.weekly:
            return parse_week(period, name="period")
        if cadence is Cadence.monthly and (m := _MONTH.match(period)):
            return date(int(m[1]), int(m[2]), 1)
        if cadence is Cadence.quarterly and (m := _QUARTER.match(period)):
            return date(int(m[1]), 3 * int(m[2]) - 2, 1)
    except ValueError:
        pass
    example = {"weekly": "2026-W47", "monthly": "2026-11", "quarterly": "2026-Q4"}[cadence]
    raise InvalidInput(f"period={period!r} is not a {cadence} period", hint=f"e.g. {example}")


def previous(cadence: Cadence, period: str) -> str:
    """The period before this one."""
    return label(cadence, first_day(cadence, period) - timedelta(days=1))
