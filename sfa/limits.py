"""The ranges every value from outside must fall in (docs/security.md, "Values"), in one place.

The API's shared schema types (api/schemas/common.py) and the parsers of other entry
points (tracker protocols, ISO weeks) use these, so that a value the database cannot
store (an integer beyond 64 bits, a NUL in text) or the analysis cannot compute with
(year 1, year 9999) is refused where it enters, with the field named.
"""

from datetime import UTC, date, datetime

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

# Company-local days and instants the product deals with: records, plans, reports. A
# wider range only lets a typo (0001-01-01, 9999-12-31) through to code that adds days.
EARLIEST_DAY = date(2000, 1, 1)
LATEST_DAY = date(2099, 12, 31)
EARLIEST_INSTANT = datetime(2000, 1, 1, tzinfo=UTC)
LATEST_INSTANT = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


def day_problem(value: date) -> str | None:
    if EARLIEST_DAY <= value <= LATEST_DAY:
        return None
    return f"{value.isoformat()} is outside {EARLIEST_DAY.isoformat()}..{LATEST_DAY.isoformat()}"


def instant_problem(value: datetime) -> str | None:
    # Compared in UTC; an aware datetime near year 1 or 9999 cannot even be converted.
    try:
        inside = EARLIEST_INSTANT <= value <= LATEST_INSTANT
    except OverflowError:
        inside = False
    if inside:
        return None
    return f"{value.isoformat()} is outside {EARLIEST_INSTANT.year}..{LATEST_INSTANT.year}"


def text_problem(value: str) -> str | None:
    return "must not contain NUL characters" if "\x00" in value else None
