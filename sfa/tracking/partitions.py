"""Monthly partitions of `pings`, created on demand: by ingest when its COPY finds a month
without one, by bulk loaders before they COPY."""

from collections.abc import Sequence
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.db import advisory_key
from sfa.tracking.instants import instants_of


def _month_start(value: date) -> date:
    return date(value.year, value.month, 1)


def _utc_month(instant: datetime) -> date:
    return _month_start(instant.astimezone(UTC).date())


def _next_month(value: date) -> date:
    return date(value.year + value.month // 12, value.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"pings_{month:%Y_%m}"


def ensure_partitions(session: Session, instants: Sequence[datetime]) -> None:
    """Create the monthly partitions that rows at these instants (UTC) will need.

    No in-process cache: a cached name could outlive a rolled-back CREATE; the check is
    one catalogue lookup per month in the batch (usually one).
    """
    if not instants:
        return
    # Partitions are UTC months; an instant may carry any offset.
    instants = instants_of(instants)
    first, last = _utc_month(instants.first), _utc_month(instants.last)
    # A batch nearly always lies within one month: no need to look at every instant.
    months = [first] if first == last else sorted({_utc_month(t) for t in instants})
    for month in months:
        name = partition_name(month)
        if session.execute(text("SELECT to_regclass(:n)"), {"n": name}).scalar():
            continue
        # Serialise creators: two batches for a new month must not race on CREATE TABLE.
        session.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("pings-partitions")}
        )
        session.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF pings "
                f"FOR VALUES FROM ('{month.isoformat()} 00:00+00') "
                f"TO ('{_next_month(month).isoformat()} 00:00+00')"
            )
        )
