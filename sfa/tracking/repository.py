"""Tracking SQL: pings of a day, customers near stops, day aggregates and stops."""

from datetime import date, datetime

from sqlalchemy import Select, delete, select, text, update
from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.db import execute_dml
from sfa.tracking.models import Device, RepDay, RepStop
from sfa.tracking.track import TrackPoint
from sfa.users import repository as user_repository
from sfa.users.models import User


def visible_devices(principal: Principal) -> Select:
    """Tracker devices of the reps the principal may see."""
    reps = user_repository.visible_users(principal).with_only_columns(User.id)
    return select(Device).where(Device.rep_id.in_(reps)).order_by(Device.id)


def get_visible_device(session: Session, principal: Principal, device_id: str) -> Device | None:
    return session.scalar(visible_devices(principal).where(Device.id == device_id))


def pings_between(
    session: Session, rep_id: int, start: datetime, end: datetime
) -> list[TrackPoint]:
    """A rep's pings in [start, end), by device time; the PK (rep_id, at) serves it."""
    rows = session.execute(
        text(
            "SELECT at, ST_Y(position::geometry), ST_X(position::geometry), accuracy_m "
            "FROM pings WHERE rep_id = :rep_id AND at >= :start AND at < :end ORDER BY at"
        ),
        {"rep_id": rep_id, "start": start, "end": end},
    )
    return [TrackPoint(at=r[0], lat=r[1], lon=r[2], accuracy_m=r[3]) for r in rows]


def nearest_customers(
    session: Session, points: list[tuple[float, float]], radius_m: float, team_id: int | None
) -> list[tuple[int, float] | None]:
    """For each (lat, lon): the nearest customer of the team within radius_m, or None.

    One round trip for all points: a LATERAL nearest-neighbour lookup per point, using
    ST_DWithin on geography (GiST index) to bound the search and ST_Distance to rank.
    """
    if not points:
        return []
    rows = session.execute(
        text(
            "SELECT p.idx, c.id, c.dist "
            "FROM unnest(CAST(:lats AS float8[]), CAST(:lons AS float8[])) "
            "     WITH ORDINALITY AS p(lat, lon, idx) "
            "CROSS JOIN LATERAL ("
            "  SELECT c.id, ST_Distance(c.location, pt.g) AS dist"
            "  FROM customers c,"
            "       LATERAL (SELECT ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)::geography"
            "                AS g) pt"
            "  WHERE ST_DWithin(c.location, pt.g, :radius)"
            "    AND (CAST(:team_id AS bigint) IS NULL OR c.team_id = :team_id)"
            "  ORDER BY dist, c.id LIMIT 1"
            ") c"
        ),
        {
            "lats": [p[0] for p in points],
            "lons": [p[1] for p in points],
            "radius": radius_m,
            "team_id": team_id,
        },
    )
    found: list[tuple[int, float] | None] = [None] * len(points)
    for idx, customer_id, dist in rows:
        found[idx - 1] = (customer_id, dist)
    return found


def customer_points(session: Session, ids: set[int]) -> dict[int, tuple[float, float]]:
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT id, ST_Y(location::geometry), ST_X(location::geometry) FROM customers "
            "WHERE id = ANY(:ids) AND location IS NOT NULL"
        ),
        {"ids": list(ids)},
    )
    return {r[0]: (r[1], r[2]) for r in rows}


def get_day(session: Session, rep_id: int, day: date) -> RepDay | None:
    return session.get(RepDay, (rep_id, day))


def keep_track(session: Session, row: RepDay, track: bytes) -> None:
    """Add the track to a stored day that has none, unless the day was computed again
    (or marked stale) meanwhile: the track must be of the analysis the row holds."""
    session.execute(
        update(RepDay)
        .where(
            RepDay.rep_id == row.rep_id,
            RepDay.day == row.day,
            RepDay.computed_at == row.computed_at,
            RepDay.dirty.is_(False),
        )
        .values(track=track)
        .execution_options(synchronize_session=False)
    )


def forget_tracks(session: Session, *, before: date) -> int:
    """Drop the kept tracks of the days before `before`: their pings are gone, and the
    positions must not outlive them (the days' figures stay)."""
    return execute_dml(
        session,
        update(RepDay)
        .where(RepDay.day < before, RepDay.track.is_not(None))
        .values(track=None)
        .execution_options(synchronize_session=False),
    )


def day_stops(session: Session, rep_id: int, day: date) -> list[RepStop]:
    return list(
        session.scalars(
            select(RepStop)
            .where(RepStop.rep_id == rep_id, RepStop.day == day)
            .order_by(RepStop.start_at)
        )
    )


def replace_stops(session: Session, rep_id: int, day: date, stops: list[RepStop]) -> None:
    session.execute(delete(RepStop).where(RepStop.rep_id == rep_id, RepStop.day == day))
    session.add_all(stops)


def claim_dirty_day(session: Session) -> tuple[int, date] | None:
    """Take one stale, unparked day off the queue: marked clean at once (commit right
    after), so that nothing stays locked while it is computed and a ping arriving
    meanwhile marks it stale again. SKIP LOCKED: a row a writer holds is left for later."""
    row = session.execute(
        text(
            "UPDATE rep_days SET dirty = false WHERE (rep_id, day) = ("
            "  SELECT rep_id, day FROM rep_days WHERE dirty AND refresh_error IS NULL"
            "  ORDER BY day, rep_id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ") RETURNING rep_id, day"
        )
    ).first()
    return (row[0], row[1]) if row else None


def claim_flag_days(session: Session, limit: int) -> dict[int, list[date]]:
    """Take up to `limit` days whose visit side is stale off the queue, by rep (as
    claim_dirty_day: marked at once, locked rows skipped, parked ones left alone)."""
    rows = session.execute(
        text(
            "UPDATE rep_days SET flags_dirty = false WHERE (rep_id, day) IN ("
            "  SELECT rep_id, day FROM rep_days WHERE flags_dirty AND refresh_error IS NULL"
            "  ORDER BY rep_id, day LIMIT :limit FOR UPDATE SKIP LOCKED"
            ") RETURNING rep_id, day"
        ),
        {"limit": limit},
    ).all()
    by_rep: dict[int, list[date]] = {}
    for rep_id, day in sorted(rows):
        by_rep.setdefault(rep_id, []).append(day)
    return by_rep


def mark_stale(session: Session, rep_id: int, days: list[date], *, tracking: bool) -> None:
    """Put claimed days back on the queue (their unit was skipped or failed)."""
    column = "dirty" if tracking else "flags_dirty"
    session.execute(
        text(f"UPDATE rep_days SET {column} = true WHERE rep_id = :rep_id AND day = ANY(:days)"),
        {"rep_id": rep_id, "days": days},
    )


def park(session: Session, rep_id: int, days: list[date], error: str) -> None:
    """Keep failing days out of the job's queue, with the reason, until new data for the
    day arrives (ingest clears the reason) or an administrator retries them."""
    session.execute(
        text(
            "UPDATE rep_days SET refresh_error = :error, refresh_failed_at = now() "
            "WHERE rep_id = :rep_id AND day = ANY(:days)"
        ),
        {"rep_id": rep_id, "days": days, "error": error[:2000]},
    )


def parked_days(session: Session, *, limit: int, offset: int) -> tuple[list[tuple], int]:
    total = session.execute(
        text("SELECT count(*) FROM rep_days WHERE refresh_error IS NOT NULL")
    ).scalar_one()
    rows = session.execute(
        text(
            "SELECT d.rep_id, u.username, d.day, d.refresh_error, d.refresh_failed_at, "
            "d.dirty, d.flags_dirty FROM rep_days d JOIN users u ON u.id = d.rep_id "
            "WHERE d.refresh_error IS NOT NULL ORDER BY d.refresh_failed_at DESC, d.rep_id, "
            "d.day LIMIT :limit OFFSET :offset"
        ),
        {"limit": limit, "offset": offset},
    ).all()
    return [tuple(row) for row in rows], total


def unpark(session: Session, rep_id: int, day: date) -> bool:
    """Put a parked day back on the queue; False when it is not parked."""
    changed = execute_dml(
        session,
        text(
            "UPDATE rep_days SET refresh_error = NULL, refresh_failed_at = NULL, dirty = true, "
            "flags_dirty = true WHERE rep_id = :rep_id AND day = :day "
            "AND refresh_error IS NOT NULL"
        ),
        {"rep_id": rep_id, "day": day},
    )
    return changed == 1


def lock_days_nowait(session: Session, rep_id: int, day_from: date, day_to: date) -> None:
    session.execute(
        text(
            "SELECT 1 FROM rep_days WHERE rep_id = :rep_id AND day BETWEEN :a AND :b "
            "FOR UPDATE NOWAIT"
        ),
        {"rep_id": rep_id, "a": day_from, "b": day_to},
    )


def dirty_days(session: Session, limit: int) -> list[tuple[int, date]]:
    """Stale days to recompute; SKIP LOCKED lets several workers share the queue."""
    rows = session.execute(
        text(
            "SELECT rep_id, day FROM rep_days WHERE dirty ORDER BY day, rep_id "
            "LIMIT :limit FOR UPDATE SKIP LOCKED"
        ),
        {"limit": limit},
    )
    return [(r[0], r[1]) for r in rows]


def last_positions(
    session: Session, rep_ids: list[int], start: datetime, end: datetime
) -> dict[int, TrackPoint]:
    """Each rep's latest ping in [start, end): one backward step on the (rep_id, at) key
    of each month's partition per rep (a LATERAL per rep, never a scan of the day)."""
    if not rep_ids:
        return {}
    rows = session.execute(
        text(
            "SELECT r.rep_id, p.at, ST_Y(p.position::geometry), ST_X(p.position::geometry), "
            "       p.accuracy_m "
            "FROM unnest(CAST(:ids AS bigint[])) AS r(rep_id) "
            "CROSS JOIN LATERAL ("
            "  SELECT at, position, accuracy_m FROM pings"
            "  WHERE rep_id = r.rep_id AND at >= :start AND at < :end"
            "  ORDER BY at DESC LIMIT 1"
            ") p"
        ),
        {"ids": rep_ids, "start": start, "end": end},
    )
    return {r[0]: TrackPoint(at=r[1], lat=r[2], lon=r[3], accuracy_m=r[4]) for r in rows}
