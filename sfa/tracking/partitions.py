"""Monthly partitions of `pings`, kept by pg_partman (docs/scaling.md).

The partition-upkeep job (`maintain`) makes them months ahead and drops whole partitions
past the company's retention. A batch that still finds no partition for its month (pings
older than the oldest partition, or a scheduler stopped for longer than the premade
months) gets it made here, on demand, through pg_partman so that it has partman's name
and template: by ingest when its COPY finds a month without one, by bulk loaders before
they COPY. There is no default partition: a row without a partition fails loudly and is
repaired here, never parked where it would block the month's partition later.
"""

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.db import advisory_key
from sfa.tracking.instants import instants_of

PARENT = "public.pings"
# Months made ahead of the current one: the scheduler may stop this long before an
# insert has to make a partition itself.
PREMAKE_MONTHS = 4
_PARTITION = re.compile(r"^pings_p\d{4}_\d{2}$")


def _month_start(value: date) -> date:
    return date(value.year, value.month, 1)


def _utc_month(instant: datetime) -> date:
    return _month_start(instant.astimezone(UTC).date())


def partition_name(month: date) -> str:
    """pg_partman's name for a month's partition (datetime string YYYY_MM, prefix _p)."""
    return f"pings_p{month:%Y_%m}"


def is_partition(table_name: str) -> bool:
    """Whether a table is one of pings' monthly partitions (not a table of the models:
    autogenerate and schema checks leave them out)."""
    return _PARTITION.match(table_name) is not None


@contextmanager
def _partman(session: Session) -> Iterator[None]:
    """Around pg_partman calls: creators serialised (two batches for a new month, or a
    batch and the upkeep job, must not race on CREATE TABLE), and UTC as the session's
    time zone for the transaction, because partman cuts months with date_trunc on
    timestamptz, which follows the session's zone (the partitions are UTC months)."""
    session.execute(
        text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("pings-partitions")}
    )
    zone = session.execute(text("SELECT set_config('TimeZone', 'UTC', true)")).scalar()
    try:
        yield
    finally:
        session.execute(text("SELECT set_config('TimeZone', :z, true)"), {"z": zone})


def ensure_partitions(session: Session, instants: Sequence[datetime]) -> None:
    """Make the monthly partitions that rows at these instants (UTC) will need.

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
    missing = [
        month
        for month in months
        if not session.execute(
            text("SELECT to_regclass(:n)"), {"n": partition_name(month)}
        ).scalar()
    ]
    if not missing:
        return
    with _partman(session):
        session.execute(
            text(
                "SELECT partman.create_partition_time("
                ":parent, CAST(:times AS timestamptz[]), p_analyze := false)"
            ),
            {
                "parent": PARENT,
                "times": [datetime(m.year, m.month, 1, tzinfo=UTC) for m in missing],
            },
        )


@dataclass(frozen=True)
class Upkeep:
    made: list[str]
    dropped: list[str]
    retention_months: int | None

    def __str__(self) -> str:
        kept = f"{self.retention_months} months" if self.retention_months else "everything"
        return (
            f"partitions made {self.made or 'none'}, dropped {self.dropped or 'none'} "
            f"(retention: {kept})"
        )


def partitions(session: Session) -> list[str]:
    """The names of pings' partitions, oldest first."""
    rows = session.execute(
        text("SELECT partition_tablename FROM partman.show_partitions(:parent)"),
        {"parent": PARENT},
    )
    return list(rows.scalars())


def oldest_month(session: Session) -> date | None:
    """The first day of the oldest month pings are kept for (None: no partition)."""
    names = partitions(session)
    if not names:
        return None
    year, month = names[0].removeprefix("pings_p").split("_")
    return date(int(year), int(month), 1)


def maintain(session: Session, *, retention_months: int | None) -> Upkeep:
    """pg_partman's maintenance of pings: partitions premade up to PREMAKE_MONTHS ahead,
    partitions whose whole month ended more than `retention_months` ago dropped (a DROP
    TABLE of the partition, never a DELETE of rows; None keeps everything)."""
    before = partitions(session)
    with _partman(session):
        session.execute(
            text(
                "UPDATE partman.part_config SET retention = :retention, premake = :premake "
                "WHERE parent_table = :parent"
            ),
            {
                "parent": PARENT,
                "premake": PREMAKE_MONTHS,
                "retention": f"{retention_months} months" if retention_months else None,
            },
        )
        session.execute(
            text("SELECT partman.run_maintenance(:parent, p_analyze := false, p_jobmon := false)"),
            {"parent": PARENT},
        )
    after = partitions(session)
    return Upkeep(
        made=[p for p in after if p not in before],
        dropped=[p for p in before if p not in after],
        retention_months=retention_months,
    )
