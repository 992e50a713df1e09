"""A rep's day: distance, coverage, gaps, stops, trips, visits with dwell.

Computed from the stored pings alone (never from arrival order), so late, repeated or
out-of-order pings give the same day once it is recomputed. Ingest marks days dirty;
`refresh_day` recomputes and stores them (on read of a dirty day, and by the scheduler
job); a clean day is read back as stored (sfa.tracking.stored).
"""

import datetime as dt
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy.orm import Session

from sfa import geo, limits
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.durations import seconds_between
from sfa.errors import InvalidInput
from sfa.tracking import repository
from sfa.tracking.drawn import DrawnTrack
from sfa.tracking.models import RepDay, RepStop
from sfa.tracking.track import Stop, TrackPoint, TrackSummary, TrackThresholds, analyse_track
from sfa.users.models import User
from sfa.visits import flagging
from sfa.visits import repository as visit_repository
from sfa.visits.flags import Flag, make_flag
from sfa.visits.models import DwellSource, Visit

DAY_FLAG_CODES = {"drive_by", "not_checked_out"}
# A check-in belongs to a stop when it happens within this margin of the stay.
_STOP_MATCH_MARGIN = dt.timedelta(minutes=5)
# A drive-by can only be judged when there are pings this close to the check-in.
_DRIVE_BY_EVIDENCE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class DayWindow:
    start: dt.datetime  # local midnight, as an aware instant
    end: dt.datetime
    work_start: dt.datetime
    work_end: dt.datetime


@dataclass
class DayResult:
    rep_id: int
    day: dt.date
    summary: TrackSummary
    stops: list[RepStop]
    visits: list[Visit]
    # What store_day writes to the visits: dwell without a check-out, the day's flags.
    dwell: dict[int, tuple[int, DwellSource]] = field(default_factory=dict)
    flags: dict[int, list[Flag]] = field(default_factory=dict)


def window(settings: CompanySettings, day: dt.date) -> DayWindow:
    tz = settings.tz

    def local(d: dt.date, hhmm: str) -> dt.datetime:
        h, m = map(int, hhmm.split(":"))
        return dt.datetime.combine(d, dt.time(h, m), tzinfo=tz)

    return DayWindow(
        start=dt.datetime.combine(day, dt.time(), tzinfo=tz),
        end=dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=tz),
        work_start=local(day, settings.workday_start),
        work_end=local(day, settings.workday_end),
    )


def thresholds(settings: CompanySettings) -> TrackThresholds:
    return TrackThresholds(
        max_accuracy_m=settings.max_accuracy_m,
        max_speed_kmh=settings.max_speed_kmh,
        gap_minutes=settings.gap_minutes,
        stop_radius_m=settings.stop_radius_m,
        stop_min_minutes=settings.stop_min_minutes,
    )


def compute_day(
    session: Session, *, rep_id: int, day: dt.date, settings: CompanySettings | None = None
) -> DayResult:
    """The day from its pings and visits; reads only (store_day writes it)."""
    if (problem := limits.day_problem(day)) is not None:
        # Stored before event times were bounded (sfa/event_times.py): arithmetic around
        # year 1 or 9999 overflows, so such a day is refused with its reason, not computed.
        raise InvalidInput(f"day {problem}: not analysed", hint="delete the pings of that day")
    settings = settings or company_service.get_company_settings(session)
    win = window(settings, day)
    pings = repository.pings_between(session, rep_id, win.start, win.end)
    summary = analyse_track(
        pings, thresholds=thresholds(settings), window_start=win.work_start, window_end=win.work_end
    )
    visits = visit_repository.day_visits(session, rep_id, day)
    rep = session.get(User, rep_id)
    stops = _stops(session, rep_id, day, summary.stops, settings, rep.team_id if rep else None)
    _match_visits_to_stops(stops, visits, settings, summary.accepted)
    dwell, flags = _close_open_visits(session, visits, summary.accepted, settings, win)
    for visit_id, drive_by in _drive_bys(visits, stops, summary.accepted, settings).items():
        flags.setdefault(visit_id, []).extend(drive_by)
    return DayResult(rep_id, day, summary, stops, visits, dwell, flags)


def _stops(
    session: Session,
    rep_id: int,
    day: dt.date,
    found: tuple[Stop, ...],
    settings: CompanySettings,
    team_id: int | None,
) -> list[RepStop]:
    near = repository.nearest_customers(
        session, [(s.lat, s.lon) for s in found], settings.stop_radius_m, team_id
    )
    return [
        RepStop(
            rep_id=rep_id,
            day=day,
            start_at=s.start,
            end_at=s.end,
            position=geo.to_geography(s.lat, s.lon),
            n_pings=s.n_pings,
            spans_gap=s.spans_gap,
            gap_minutes=s.gap_minutes,
            customer_id=n[0] if n else None,
            distance_to_customer_m=round(n[1], 1) if n else None,
        )
        for s, n in zip(found, near, strict=True)
    ]


def _stop_point(stop: RepStop) -> tuple[float, float]:
    return geo.lat_lon(stop.position)


def _stop_for(
    visit: Visit, stops: list[RepStop], radius_m: float, pings: tuple[TrackPoint, ...]
) -> RepStop | None:
    """The stop around a check-in: it covers the check-in time and lies near its position,
    at its centre or where the rep was during the stop around the check-in time (a stay
    at two shops 100 m apart is one stop whose centre may be nearer the other shop)."""
    position = geo.lat_lon(visit.check_in_position)
    for stop in stops:
        if (
            not stop.start_at - _STOP_MATCH_MARGIN
            <= visit.check_in_at
            <= stop.end_at + _STOP_MATCH_MARGIN
        ):
            continue
        if position is None:
            return stop
        lat, lon = _stop_point(stop)
        if geo.distance_m(lat1=lat, lon1=lon, lat2=position[0], lon2=position[1]) <= radius_m:
            return stop
        local = _where_during(stop, visit.check_in_at, pings)
        if local is not None and (
            geo.distance_m(lat1=local[0], lon1=local[1], lat2=position[0], lon2=position[1])
            <= radius_m
        ):
            return stop
    return None


def _where_during(
    stop: RepStop, at: dt.datetime, pings: tuple[TrackPoint, ...]
) -> tuple[float, float] | None:
    """Median position of the stop's pings within _STOP_MATCH_MARGIN of `at`."""
    times = [p.at for p in pings]
    lo = bisect_left(times, max(stop.start_at, at - _STOP_MATCH_MARGIN))
    hi = bisect_right(times, min(stop.end_at, at + _STOP_MATCH_MARGIN))
    if hi <= lo:
        return None
    near = pings[lo:hi]
    # In ECEF, so that nothing special happens on the antimeridian.
    xyz = geo.to_ecef(lat=[p.lat for p in near], lon=[p.lon for p in near])
    lat, lon = geo.lat_lon_of_ecef(np.median(xyz, axis=0))
    return float(lat[0]), float(lon[0])


def _match_visits_to_stops(
    stops: list[RepStop],
    visits: list[Visit],
    settings: CompanySettings,
    pings: tuple[TrackPoint, ...],
) -> None:
    for visit in visits:
        stop = _stop_for(visit, stops, settings.stop_radius_m, pings)
        if stop is not None and stop.visit_id is None:
            stop.visit_id = visit.id


def _close_open_visits(
    session: Session,
    visits: list[Visit],
    pings: tuple[TrackPoint, ...],
    settings: CompanySettings,
    win: DayWindow,
) -> tuple[dict[int, tuple[int, DwellSource]], dict[int, list[Flag]]]:
    """Dwell without a check-out (docs/rules.md): pings within dwell_radius_m of the
    customer after the check-in; failing that, closed at the next check-in or end of
    day and marked not_checked_out. Returns the dwell and the not_checked_out flags by
    visit id, for the visits without a check-out."""
    points = repository.customer_points(session, {v.customer_id for v in visits})
    dwell: dict[int, tuple[int, DwellSource]] = {}
    flags: dict[int, list[Flag]] = {}
    for i, visit in enumerate(visits):
        if visit.dwell_source is DwellSource.check_out:
            continue
        next_check_in = visits[i + 1].check_in_at if i + 1 < len(visits) else None
        end_of_day = win.work_end if visit.check_in_at < win.work_end else win.end
        close_at = min(t for t in (next_check_in, end_of_day) if t is not None)
        stayed_until = _stayed_until(
            visit, pings, points.get(visit.customer_id), settings.dwell_radius_m, close_at
        )
        if stayed_until is not None:
            dwell[visit.id] = (
                int(seconds_between(visit.check_in_at, stayed_until)),
                DwellSource.pings,
            )
        else:
            seconds = int(seconds_between(visit.check_in_at, close_at))
            dwell[visit.id] = (seconds, DwellSource.not_checked_out)
            flags[visit.id] = [
                make_flag(
                    "not_checked_out",
                    closed_by="next_check_in" if close_at == next_check_in else "end_of_day",
                    dwell_minutes=round(seconds / 60, 1),
                )
            ]
    return dwell, flags


def _stayed_until(
    visit: Visit,
    pings: tuple[TrackPoint, ...],
    customer: tuple[float, float] | None,
    radius_m: float,
    close_at: dt.datetime,
) -> dt.datetime | None:
    """The last ping of the unbroken run near the customer that follows the check-in."""
    if customer is None:
        return None
    last = None
    for ping in pings:
        if ping.at < visit.check_in_at:
            continue
        if ping.at > close_at:
            break
        if (
            geo.distance_m(lat1=ping.lat, lon1=ping.lon, lat2=customer[0], lon2=customer[1])
            > radius_m
        ):
            break
        last = ping.at
    return last if last is not None and last > visit.check_in_at else None


def _drive_bys(
    visits: list[Visit],
    stops: list[RepStop],
    pings: tuple[TrackPoint, ...],
    settings: CompanySettings,
) -> dict[int, list[Flag]]:
    """A check-in with pings around it but no stop: the rep did not stop there."""
    times = [p.at for p in pings]  # device-time order (analyse_track's accepted pings)
    flags: dict[int, list[Flag]] = {}
    for visit in visits:
        around = pings[
            bisect_left(times, visit.check_in_at - _DRIVE_BY_EVIDENCE) : bisect_right(
                times, visit.check_in_at + _DRIVE_BY_EVIDENCE
            )
        ]
        if (
            visit.check_in_position is not None
            and len(around) >= 2
            and _stop_for(visit, stops, settings.stop_radius_m, pings) is None
        ):
            first, last = around[0], around[-1]
            metres = geo.distance_m(lat1=first.lat, lon1=first.lon, lat2=last.lat, lon2=last.lon)
            hours = seconds_between(first.at, last.at) / 3600
            flags[visit.id] = [
                make_flag(
                    "drive_by",
                    stop_radius_m=settings.stop_radius_m,
                    stop_min_minutes=settings.stop_min_minutes,
                    speed_kmh=round(metres / 1000 / hours, 1),
                )
            ]
    return flags


def store_day(session: Session, result: DayResult, *, mark_clean: bool = True) -> RepDay:
    """Write a computed day: the visits' dwell and day flags (rescored), the day's row and
    its stops. `mark_clean=False` leaves `dirty` alone: the job clears it when it claims
    the day, so that a ping arriving meanwhile marks it again instead of being lost."""
    for visit in result.visits:
        if visit.id in result.dwell and visit.dwell_source is not DwellSource.check_out:
            visit.dwell_seconds, visit.dwell_source = result.dwell[visit.id]
    # One replacement for the whole day: its two codes, every visit, rescored.
    flagging.replace_flags(session, result.visits, DAY_FLAG_CODES, result.flags)
    summary = result.summary
    row = repository.get_day(session, result.rep_id, result.day)
    if row is None:
        row = RepDay(rep_id=result.rep_id, day=result.day, dirty=False)
        session.add(row)
    rejected: dict[str, int] = {}
    for rejection in summary.rejected:
        rejected[rejection.reason] = rejected.get(rejection.reason, 0) + 1
    if mark_clean:
        row.dirty = False
    row.distance_m = round(summary.distance_m, 1)
    row.coverage = round(summary.coverage, 4)
    row.ping_count = len(summary.accepted) + len(summary.rejected)
    row.accepted_count = len(summary.accepted)
    row.rejected = rejected
    row.gaps = [
        {"start": g.start.isoformat(), "end": g.end.isoformat(), "minutes": round(g.minutes, 1)}
        for g in summary.gaps
    ]
    row.trips = [
        {
            "start": t.start.isoformat(),
            "end": t.end.isoformat(),
            "distance_m": round(t.distance_m, 1),
            "n_pings": t.n_pings,
        }
        for t in summary.trips
    ]
    row.first_at = summary.accepted[0].at if summary.accepted else None
    row.last_at = summary.accepted[-1].at if summary.accepted else None
    row.track = DrawnTrack.of(summary.accepted).encode()
    row.computed_at = dt.datetime.now(dt.UTC)
    repository.replace_stops(session, result.rep_id, result.day, result.stops)
    session.flush()
    return row


def refresh_day(
    session: Session, *, rep_id: int, day: dt.date, settings: CompanySettings | None = None
) -> tuple[RepDay, DayResult]:
    """Compute and store a day in the caller's transaction (a read of a stale day, a
    one-off load); the scheduler job uses sfa.anomalies.jobs, which locks for less."""
    result = compute_day(session, rep_id=rep_id, day=day, settings=settings)
    return store_day(session, result), result


def recompute_dirty_days(session: Session, limit: int = 200) -> int:
    """Bring up to `limit` stale days up to date in the caller's transaction (seed-demo
    loads its history in one transaction; the scheduler job does it day by day)."""
    settings = company_service.get_company_settings(session)
    done = 0
    while done < limit and (claimed := repository.dirty_days(session, 1)):
        ((rep_id, day),) = claimed
        refresh_day(session, rep_id=rep_id, day=day, settings=settings)
        done += 1
    return done
