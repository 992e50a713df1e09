"""Ping ingest: validate, de-duplicate, COPY into the partitioned `pings` table.

Nothing is dropped silently: every item of a batch is accepted, counted as a duplicate
(same rep, same device time — already stored or repeated in the batch) or rejected with
its index and a reason. A resent batch stores nothing twice.
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Required, TypedDict
from zoneinfo import ZoneInfo

from psycopg.errors import CheckViolation, UniqueViolation
from sqlalchemy import text
from sqlalchemy.orm import Session

from sfa.db import psycopg_connection
from sfa.event_times import EventWindow
from sfa.tracking.instants import Instants, instants_of
from sfa.tracking.partitions import ensure_partitions

MAX_BATCH = 5000
_COLUMNS = (
    "rep_id",
    "at",
    "position",
    "accuracy_m",
    "speed_mps",
    "bearing",
    "altitude_m",
    "battery_pct",
    "mock",
    "device_id",
)
_COPY_SQL = "COPY {table} ({cols}) FROM STDIN".format
_COPY_BINARY_SQL = "COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)".format
# Binary COPY sends each value in its column type's binary form; the position goes as the
# EWKB bytes themselves (the geography's receive function parses (E)WKB).
_BINARY_TYPES = (
    "int8",
    "timestamptz",
    "bytea",
    "float8",
    "float8",
    "float8",
    "float8",
    "float8",
    "bool",
    "text",
)
_EWKB_POINT = struct.Struct("<BIIdd")
_EWKB_POINT_SRID = 0x20000001  # wkbPoint with the SRID flag set


class PingRecord(TypedDict, total=False):
    """A ping as ingest reads it: the API's validated JSON objects as they are (a dict
    per ping costs about half a model instance: ~0.45 ms of a 500-ping batch, measured in
    bench/README.md), and what the tracker protocols and GPX parse. Optional keys may be
    absent; an accuracy of 0 means unknown."""

    at: Required[datetime]
    lat: Required[float]
    lon: Required[float]
    accuracy_m: float | None
    speed_mps: float | None
    bearing: float | None
    altitude_m: float | None
    battery_pct: float | None
    mock: bool
    device_id: str | None


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)


def ewkb_hex(lat: float, lon: float) -> str:
    """Hex EWKB of a WGS84 point: what PostGIS parses fastest from COPY text."""
    return _EWKB_POINT.pack(1, _EWKB_POINT_SRID, 4326, lon, lat).hex()


def copy_rows(session: Session, table: str, rows: Sequence[tuple]) -> None:
    """COPY rows (in `_COLUMNS` order) into `table` on the session's connection."""
    dbapi = psycopg_connection(session)
    with (
        dbapi.cursor() as cursor,
        cursor.copy(_COPY_SQL(table=table, cols=", ".join(_COLUMNS))) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def copy_binary_rows(session: Session, table: str, rows: Sequence[tuple]) -> None:
    """Binary COPY of rows made by `_row` (position as EWKB bytes) into `table`."""
    dbapi = psycopg_connection(session)
    with (
        dbapi.cursor() as cursor,
        cursor.copy(_COPY_BINARY_SQL(table=table, cols=", ".join(_COLUMNS))) as copy,
    ):
        copy.set_types(_BINARY_TYPES)
        for row in rows:
            copy.write_row(row)


def _row(rep_id: int, p: PingRecord, _pack=_EWKB_POINT.pack) -> tuple:
    get = p.get
    return (
        rep_id,
        p["at"],
        _pack(1, _EWKB_POINT_SRID, 4326, p["lon"], p["lat"]),
        get("accuracy_m") or None,
        get("speed_mps"),
        get("bearing"),
        get("altitude_m"),
        get("battery_pct"),
        get("mock", False),
        get("device_id"),
    )


def ingest_pings(
    session: Session,
    *,
    rep_id: int,
    items: Sequence[tuple[int, PingRecord]],
    timezone: ZoneInfo,
    window: EventWindow,
) -> IngestResult:
    """Store valid pings of one rep; `items` are (index in the client's batch, ping)."""
    result = IngestResult()
    if not items:
        return result
    # Whole-batch checks first: per-ping work on aware datetimes (compare, hash) is a
    # large share of a batch's CPU, and a phone's batch is nearly always all in the
    # accepted window (sfa/event_times.py).
    instants = Instants(ping["at"] for _, ping in items)
    if instants.last > window.latest or instants.first < window.earliest:
        items = [item for item in items if not _out_of_window(item, window, result)]
        if not items:
            return result
        instants = Instants(ping["at"] for _, ping in items)
    # Repeats within the batch are not looked for here: the COPY refuses them like
    # already-stored pings, and the resend path below counts both as duplicates.
    rows = [_row(rep_id, p) for _, p in items]
    stored = _insert(session, rows, instants)
    result.accepted = len(stored)
    result.duplicates += len(rows) - len(stored)
    mark_days_dirty(session, rep_id=rep_id, instants=stored, timezone=timezone)
    return result


def _out_of_window(item: tuple[int, PingRecord], window: EventWindow, result: IngestResult) -> bool:
    index, ping = item
    problem = window.problem(ping["at"])
    if problem is None:
        return False
    result.rejected.append((index, problem))
    return True


def _insert(session: Session, rows: list[tuple], instants: Instants) -> Sequence[datetime]:
    """Insert rows (at `instants`), skipping ones already stored; returns the instants
    actually stored.

    Fast path: COPY straight into `pings` inside a savepoint. Two refusals are repaired
    and the COPY retried: a month without a partition yet (it is created then, so the
    usual batch pays no catalogue lookup), and already-stored pings (a resend) or the same
    instant twice, which fall back to COPY into a staging table and INSERT … ON CONFLICT
    DO NOTHING (which keeps one of the repeats).
    """
    # A plain SAVEPOINT on the connection the COPY uses: SQLAlchemy's begin_nested()
    # also flushes and tracks a nested ORM transaction, which costs more than the
    # statements themselves (~20 % of a batch's CPU). The savepoint is released or rolled
    # back before this returns, so the session's view of its transaction is unchanged.
    dbapi = psycopg_connection(session)
    partitions_made = False
    while True:
        dbapi.execute("SAVEPOINT pings_copy")
        try:
            copy_binary_rows(session, "pings", rows)
        except UniqueViolation:
            dbapi.execute("ROLLBACK TO SAVEPOINT pings_copy")
            break
        except CheckViolation:  # "no partition of relation pings found for row"
            dbapi.execute("ROLLBACK TO SAVEPOINT pings_copy")
            if partitions_made:
                raise
            ensure_partitions(session, instants)
            partitions_made = True
        else:
            dbapi.execute("RELEASE SAVEPOINT pings_copy")
            return instants
    if not partitions_made:
        # The COPY may have stopped at a repeat before reaching a month without partition.
        ensure_partitions(session, instants)
    session.execute(
        text(
            "CREATE TEMP TABLE IF NOT EXISTS pings_stage (LIKE pings INCLUDING DEFAULTS) "
            "ON COMMIT DELETE ROWS"
        )
    )
    session.execute(text("TRUNCATE pings_stage"))
    copy_binary_rows(session, "pings_stage", rows)
    inserted = (
        session.execute(
            text(
                "INSERT INTO pings SELECT * FROM pings_stage ON CONFLICT (rep_id, at) DO NOTHING "
                "RETURNING at"
            )
        )
        .scalars()
        .all()
    )
    return list(inserted)


def mark_days_dirty(
    session: Session, *, rep_id: int, instants: Sequence[datetime], timezone: ZoneInfo
) -> None:
    """Late or out-of-order pings make their local day stale; the day is recomputed."""
    days = _local_days(instants, timezone)
    if not days:
        return
    session.execute(_MARK_DAYS_DIRTY, {"rep_id": rep_id, "days": days})


def dirty_days_sql(rep_id: str, day: str, source: str) -> str:
    """The statement that marks days stale: `rep_id` and `day` are SQL expressions over
    `source` (a FROM clause). One text for ingest and for check-in, which embeds it in its
    single statement."""
    return (
        "INSERT INTO rep_days (rep_id, day, dirty, distance_m, coverage, ping_count, "
        "accepted_count, rejected, gaps, trips) "
        f"SELECT {rep_id}, {day}, true, 0, 0, 0, 0, '{{}}', '[]', '[]' FROM {source} "
        # New data gives a day the refresh job had parked another chance.
        "ON CONFLICT (rep_id, day) DO UPDATE SET dirty = true, flags_dirty = true, "
        "refresh_error = NULL"
    )


_MARK_DAYS_DIRTY = text(dirty_days_sql(":rep_id", "d", "unnest(:days) AS d"))


def _local_days(instants: Sequence[datetime], timezone: ZoneInfo) -> list:
    """The sorted local days of `instants`, without converting each one when possible.

    A batch usually lies within one local day: when its first and last instants fall on
    the same local day with the same UTC offset, less than a day apart, every instant in
    between does too (the offset cannot change and change back within a day).
    """
    if len(instants) > 2:
        instants = instants_of(instants)
        first, last = instants.first, instants.last
        if last - first < timedelta(days=1):
            a, b = first.astimezone(timezone), last.astimezone(timezone)
            if a.date() == b.date() and a.utcoffset() == b.utcoffset():
                return [a.date()]
    return sorted({t.astimezone(timezone).date() for t in instants})
