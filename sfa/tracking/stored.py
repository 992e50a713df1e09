"""A clean stored day read back without analysing it again.

`store_day` keeps what the analysis found (distance, coverage, gaps, trips on the day's
row; the stops in rep_stops; dwell and flags on the visits). Reading such a day needs
only the day's pings cleaned, to draw its track: fitting and stop detection are the
expensive part of a 20,000-ping day and would find what is stored. A dirty day is
computed instead (sfa.tracking.service.rep_day).
"""

import datetime as dt

from sqlalchemy.orm import Session

from sfa import geo
from sfa.company.settings import CompanySettings
from sfa.tracking import days, repository
from sfa.tracking.models import RepDay, RepStop
from sfa.tracking.track import Gap, Stop, TrackSummary, Trip, clean_track
from sfa.visits import repository as visit_repository


def readable(row: RepDay) -> bool:
    """The row holds a whole analysis: clean, and stored with each trip's ping count
    (rows stored before trips carried it are computed again on their next read)."""
    return (
        not row.dirty
        and row.computed_at is not None
        and all("n_pings" in trip for trip in row.trips or [])
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
        gaps=tuple(
            Gap(start=_at(g["start"]), end=_at(g["end"]), minutes=g["minutes"])
            for g in row.gaps or []
        ),
        coverage=row.coverage,
        stops=tuple(_stop(s) for s in stops),
        trips=tuple(
            Trip(
                start=_at(t["start"]),
                end=_at(t["end"]),
                distance_m=t["distance_m"],
                n_pings=t["n_pings"],
            )
            for t in row.trips or []
        ),
    )
    visits = visit_repository.day_visits(session, row.rep_id, row.day)
    return days.DayResult(row.rep_id, row.day, summary, stops, visits)


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
