"""Ping ingest: validate, de-duplicate, COPY into the partitioned `pings` table.

Nothing is dropped silently: every item of a batch is accepted, counted as a duplicate
(same rep, same device time — already stored or repeated in the batch) or rejected with
its index and a reason. A resent batch stores nothing twice.
"""

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from psycopg.errors import UniqueViolation
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.tracking.partitions import ensure_partitions

MAX_BATCH = 5000
_COLUMNS = ("rep_id", "at", "position", "accuracy_m", "speed_mps", "bearing", "altitude_m",
            "battery_pct", "mock", "device_id")
_COPY_SQL = "COPY {table} ({cols}) FROM STDIN".format
_EWKB_POINT = struct.Struct("<BIIdd")
_EWKB_POINT_SRID = 0x20000001  # wkbPoint with the SRID flag set


@dataclass(frozen=True, slots=True)
class PingInput:
    at: datetime
    lat: float
    lon: float
    accuracy_m: float | None = None
    speed_mps: float | None = None
    bearing: float | None = None
    altitude_m: float | None = None
    battery_pct: float | None = None
    mock: bool = False
    device_id: str | None = None


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
    dbapi = session.connection().connection.dbapi_connection
    with dbapi.cursor() as cursor, cursor.copy(
        _COPY_SQL(table=table, cols=", ".join(_COLUMNS))
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _row(rep_id: int, p: PingInput) -> tuple:
    return (rep_id, p.at, ewkb_hex(p.lat, p.lon), p.accuracy_m, p.speed_mps, p.bearing,
            p.altitude_m, p.battery_pct, p.mock, p.device_id)


def ingest_pings(
    session: Session,
    *,
    rep_id: int,
    items: Sequence[tuple[int, PingInput]],
    timezone: ZoneInfo,
    future_tolerance: timedelta,
    now: datetime | None = None,
) -> IngestResult:
    """Store valid pings of one rep; `items` are (index in the client's batch, ping)."""
    now = now or datetime.now(UTC)
    result = IngestResult()
    latest_allowed = now + future_tolerance
    unique: dict[datetime, tuple[int, PingInput]] = {}
    for index, ping in items:
        if ping.at > latest_allowed:
            result.rejected.append(
                (index, f"at {ping.at.isoformat()} is more than "
                        f"{future_tolerance.total_seconds() / 3600:g} h in the future; "
                        "check the device clock"))
        elif ping.at in unique:
            result.duplicates += 1
        else:
            unique[ping.at] = (index, ping)
    if not unique:
        return result

    rows = [_row(rep_id, p) for _, p in unique.values()]
    ensure_partitions(session, list(unique))
    stored = _insert(session, rows)
    result.accepted = len(stored)
    result.duplicates += len(rows) - len(stored)
    mark_days_dirty(session, rep_id=rep_id, instants=stored, timezone=timezone)
    return result


def _insert(session: Session, rows: list[tuple]) -> list[datetime]:
    """Insert rows, skipping ones already stored; returns the instants actually stored.

    Fast path: COPY straight into `pings` inside a savepoint. Only when the batch holds
    already-stored pings (a resend) does it fall back to COPY into a staging table and
    INSERT … ON CONFLICT DO NOTHING.
    """
    try:
        with session.begin_nested():
            copy_rows(session, "pings", rows)
        return [row[1] for row in rows]
    except IntegrityError as exc:
        if not isinstance(exc.orig, UniqueViolation):
            raise
    except UniqueViolation:
        pass
    session.execute(text(
        "CREATE TEMP TABLE IF NOT EXISTS pings_stage (LIKE pings INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"))
    session.execute(text("TRUNCATE pings_stage"))
    copy_rows(session, "pings_stage", rows)
    inserted = session.execute(text(
        "INSERT INTO pings SELECT * FROM pings_stage ON CONFLICT (rep_id, at) DO NOTHING "
        "RETURNING at")).scalars().all()
    return list(inserted)


def mark_days_dirty(
    session: Session, *, rep_id: int, instants: Sequence[datetime], timezone: ZoneInfo
) -> None:
    """Late or out-of-order pings make their local day stale; the day is recomputed."""
    days = sorted({t.astimezone(timezone).date() for t in instants})
    if not days:
        return
    session.execute(
        text(
            "INSERT INTO rep_days (rep_id, day, dirty, distance_m, coverage, ping_count, "
            "accepted_count, rejected, gaps, trips) "
            "SELECT :rep_id, d, true, 0, 0, 0, 0, '{}', '[]', '[]' FROM unnest(:days) AS d "
            "ON CONFLICT (rep_id, day) DO UPDATE SET dirty = true, flags_dirty = true"
        ),
        {"rep_id": rep_id, "days": days},
    )
