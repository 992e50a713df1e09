"""ISO weeks of company-local days: one definition for plans, analytics and reports."""

import re
from datetime import date, timedelta

from sfa import limits
from sfa.errors import InvalidInput

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


def monday(day: date) -> date:
    """The Monday of the ISO week a day falls in."""
    return day - timedelta(days=day.weekday())


def iso_week_label(day: date) -> str:
    """The ISO week a day falls in, as 2026-W47."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def parse_week(value: str | date, *, name: str = "week") -> date:
    """The Monday of an ISO week given as 2026-W47 (or 2026W47), or as any date in it."""
    if isinstance(value, date):
        return monday(value)
    raw = value.strip()
    match = _ISO_WEEK.match(raw)
    try:
        parsed = (
            date.fromisocalendar(int(match[1]), int(match[2]), 1)
            if match
            else monday(date.fromisoformat(raw))
        )
    except ValueError:
        pass
    else:
        if (problem := limits.day_problem(parsed)) is None:
            return parsed
        raise InvalidInput(
            f"{name}={value!r}: {problem}",
            hint=f"give a week from {limits.EARLIEST_DAY.year} to {limits.LATEST_DAY.year}",
            details={"field": name},
        )
    raise InvalidInput(
        f"{name}={value!r} is not an ISO week or a date",
        hint=f"give an ISO week like {name}=2026-W47 (weeks 01-52, or 53 in long years) "
        f"or a date in the week like {name}=2026-11-16",
    )
