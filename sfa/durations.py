"""Durations between instants, always in UTC.

Python subtracts two aware datetimes of the *same* tzinfo as wall-clock times: across a
daylight-saving change (America/New_York, 01:30 EDT → 01:20 EST on 2026-11-01) `b - a`
is -10 minutes although 50 passed. Datetimes of different tzinfos are subtracted as
instants. Every duration of the product goes through here, so none depends on which
tzinfo its two ends happen to carry (the database gives UTC, a request its own offset,
a local-day window the company's zone).
"""

from datetime import UTC, datetime


def _utc(at: datetime) -> datetime:
    if at.utcoffset() is None:
        raise ValueError(f"datetime {at!r} must be timezone-aware")
    return at.astimezone(UTC)


def seconds_between(start: datetime, end: datetime) -> float:
    """end - start in seconds, as instants (negative when end is earlier)."""
    return (_utc(end) - _utc(start)).total_seconds()


def minutes_between(start: datetime, end: datetime) -> float:
    return seconds_between(start, end) / 60.0
