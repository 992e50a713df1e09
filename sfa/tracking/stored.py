"""A clean stored day read back without analysing it again.

`store_day` keeps what the analysis found (distance, coverage, gaps, trips and the
accepted track on the day's row; the stops in rep_stops; dwell and flags on the visits).
Reading such a day needs no fitting or stop detection, the expensive part of a
20,000-ping day, which would find what is stored. A map of it (`read_map`) does not even
fetch the pings: it draws the stored track. The full day with its pings (`read_day`, the
JSON API's) fetches and cleans them. A dirty day is computed instead
(sfa.tracking.service.rep_day).
"""

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfa import geo
from sfa.company.settings import CompanySettings
from sfa.tracking import days, repository
from sfa.tracking.drawn import DrawnTrack
from sfa.tracking.models import RepDay, RepStop
from sfa.tracking.track import Gap, Stop, TrackSummary, Trip, clean_track
from sfa.visits import repository as visit_repository
from sfa.visits.models import Visit


def readable(row: RepDay) -> bool:
    """The row holds a whole analysis: clean, and stored with each trip's ping count
    (rows stored before trips carried it are computed again on their next read)."""
    return (
        not row.dirty
        and row.computed_at is not None
        and all("n_pings" in trip for trip in row.trips or [])
    )


@dataclass(frozen=True)
class DayMap:
    """What a map of the day shows: the day's figures, gaps, trips, stops and visits, and
    its accepted track as arrays (not as pings)."""

    rep_id: int
    day: dt.date
    distance_m: float
    coverage: float
    gaps: tuple[Gap, ...]
    trips: tuple[Trip, ...]
    stops: list[RepStop]
    visits: list[Visit]
    track: DrawnTrack

    @classmethod
    def of(cls, result: days.DayResult) -> "DayMap":
        summary = result.summary
        return cls(
            rep_id=result.rep_id,
            day=result.day,
            distance_m=summary.distance_m,
            coverage=summary.coverage,
            gaps=summary.gaps,
            trips=summary.trips,
            stops=result.stops,
            visits=result.visits,
            track=DrawnTrack.of(summary.accepted),
        )


def read_map(session: Session, row: RepDay, *, settings: CompanySettings) -> DayMap:
    """The stored day with its stored track: its pings are neither fetched nor cleaned.
    A day stored before days kept their track is read with its pings once, and keeps
    the track it was drawn with from then on."""
    track = DrawnTrack.decode(row.track) if row.track is not None else None
    if track is None:
        day = DayMap.of(read_day(session, row, settings=settings))
        repository.keep_track(session, row, day.track.encode())
        return day
    return DayMap(
        rep_id=row.rep_id,
        day=row.day,
        distance_m=row.distance_m,
        coverage=row.coverage,
        gaps=_gaps(row),
        trips=_trips(row),
        stops=repository.day_stops(session, row.rep_id, row.day),
        visits=visit_repository.day_visits(session, row.rep_id, row.day),
        track=track,
    )


def read_day(session: Session, row: RepDay, *, settings: CompanySettings) -> days.DayResult:
    """The stored day as `compute_day` would find it again: the same accepted pings,
    distance, coverage, gaps, trips, stops and visits. Reads only."""
    win = days.window(settings, row.day)
    pings = repository.pings_between(session, row.rep_id, win.start, win.end)
    track = clean_track(pings, thresholds=days.thresholds(settings))
    stops = repository.day_stops(session, row.rep_id, row.day)
    summary = TrackSummary(
        accepted=track.accepted,
        rejected=track.rejected,
        distance_m=row.distance_m,
        raw_distance_m=track.raw_distance_m,
        gaps=_gaps(row),
        coverage=row.coverage,
        stops=tuple(_stop(s) for s in stops),
        trips=_trips(row),
    )
    visits = visit_repository.day_visits(session, row.rep_id, row.day)
    return days.DayResult(row.rep_id, row.day, summary, stops, visits)


def _gaps(row: RepDay) -> tuple[Gap, ...]:
    return tuple(
        Gap(start=_at(g["start"]), end=_at(g["end"]), minutes=g["minutes"]) for g in row.gaps or []
    )


def _trips(row: RepDay) -> tuple[Trip, ...]:
    return tuple(
        Trip(
            start=_at(t["start"]),
            end=_at(t["end"]),
            distance_m=t["distance_m"],
            n_pings=t["n_pings"],
        )
        for t in row.trips or []
    )


def _at(iso: str) -> dt.datetime:
    return dt.datetime.fromisoformat(iso)


def _stop(stop: RepStop) -> Stop:
    lat, lon = geo.lat_lon(stop.position)
    return Stop(
        start=stop.start_at,
        end=stop.end_at,
        lat=lat,
        lon=lon,
        n_pings=stop.n_pings,
        spans_gap=stop.spans_gap,
        gap_minutes=stop.gap_minutes,
    )
