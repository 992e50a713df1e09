"""Rep day: the day's track replay (trips, stops, gaps drawn as gaps), visits with dwell,
unlogged visits and drive-bys marked, distance and coverage; previous and next day."""

from datetime import date, timedelta

from fastapi import APIRouter, Query

from api.console import geojson
from api.console.pages.today import reason
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.schemas.common import Day, Id
from sfa import geo
from sfa.customers import service as customer_service
from sfa.tracking import service as tracking_service
from sfa.visits import repository as visit_repository

REPLAY_STEP = timedelta(minutes=1)

router = APIRouter(prefix="/console/reps", route_class=ConsoleRoute, include_in_schema=False)


def _day(console: Console, rep_id: int, day: date):
    rep = tracking_service.visible_rep(console.db, console.principal, rep_id)
    return rep, tracking_service.rep_day_map(
        console.db, principal=console.principal, rep_id=rep_id, day=day
    )


def _gap(console: Console) -> timedelta:
    return timedelta(minutes=console.settings.gap_minutes)


def _visit_features(console: Console, result, flags, customers) -> list[dict]:
    t = console.t
    features = []
    for visit in result.visits:
        position = geo.lat_lon(visit.check_in_position)
        if position is None:
            continue
        customer = customers.get(visit.customer_id)
        name = customer.name if customer else f"#{visit.customer_id}"
        when = visit.check_in_at.astimezone(console.tz).strftime("%H:%M")
        lines = [reason(f, console.lang) for f in flags[visit.id]]
        if visit.dwell_seconds is not None:
            lines.append(
                f"{t('col.dwell')}: {t('unit.min', value=round(visit.dwell_seconds / 60))}"
            )
        features.append(
            geojson.point(
                *position,
                id=visit.id,
                band=geojson.trust_band(visit.trust_score),
                title=f"{name} · {when}",
                lines=lines,
                drive_by=any(f.code == "drive_by" for f in flags[visit.id]),
            )
        )
    return features


def _stop_features(console: Console, result, customers) -> list[dict]:
    t = console.t
    features = []
    for stop in result.stops:
        lat, lon = geo.lat_lon(stop.position)
        unlogged = stop.customer_id is not None and stop.visit_id is None
        customer = customers.get(stop.customer_id) if stop.customer_id else None
        tz = console.tz
        span = f"{stop.start_at.astimezone(tz):%H:%M}–{stop.end_at.astimezone(tz):%H:%M}"
        minutes = round((stop.end_at - stop.start_at).total_seconds() / 60)
        lines = [t("unit.min", value=minutes)]
        if customer is not None:
            lines.append(customer.name)
        if unlogged:
            lines.append(t("repday.unlogged"))
        features.append(geojson.point(lat, lon, title=span, lines=lines, unlogged=unlogged))
    return features


@router.get("/{rep_id}/days/{day}")
def rep_day_page(console: ConsoleDep, rep_id: Id, day: Day, visit: Id | None = Query(None)):
    rep, result = _day(console, rep_id, day)
    flags = visit_repository.flags_for(console.db, [v.id for v in result.visits])
    customer_ids = {v.customer_id for v in result.visits} | {
        s.customer_id for s in result.stops if s.customer_id is not None
    }
    customers = customer_service.customers_by_id(
        console.db, principal=console.principal, ids=customer_ids
    )
    zoom = geojson.fit_zoom(result.track)
    map_data = {
        "track": geojson.track(result.track, gap=_gap(console), zoom=zoom),
        "stops": geojson.collection(_stop_features(console, result, customers)),
        "visits": geojson.collection(_visit_features(console, result, flags, customers)),
        "zoom": zoom,
        "track_url": f"/console/reps/{rep_id}/days/{day}/track",
        "timeline": geojson.timeline(result.track, every=REPLAY_STEP, tz=console.tz),
    }
    return render(
        console,
        "rep_day.html",
        rep=rep,
        day=day,
        result=result,
        flags=flags,
        customers=customers,
        selected=visit,
        map_data=map_data,
        previous_day=day - timedelta(days=1),
        next_day=day + timedelta(days=1),
        unlogged=sum(1 for s in result.stops if s.customer_id is not None and s.visit_id is None),
        gap_minutes=round(sum(g.minutes for g in result.gaps)),
    )


@router.get("/{rep_id}/days/{day}/track")
def rep_day_track(console: ConsoleDep, rep_id: Id, day: Day, zoom: int = Query(15, ge=1, le=22)):
    """The track again, simplified for a closer zoom (the map asks when zoomed in): the
    stored day's track, read again (no pings fetched)."""
    track = _day(console, rep_id, day)[1].track
    return geojson.track(track, gap=_gap(console), zoom=zoom)
