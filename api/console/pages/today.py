"""Today: the team map (each rep's last position and its age, today's visits coloured
by trust score, flags on hover) with a list beside it, refreshed every minute."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import APIRouter, Query

from api.console import geojson
from api.console.nav import NavEntry
from api.console.web import Console, ConsoleDep, ConsoleRoute, render
from api.deps import reads_from_replica
from api.schemas.common import Id
from sfa import geo
from sfa.tracking import service as tracking_service
from sfa.users import service as user_service

router = APIRouter(prefix="/console/today", route_class=ConsoleRoute, include_in_schema=False)
NAV = NavEntry(path="/console/today", label="nav.today", order=10)

STALE_MINUTES = 30


@dataclass(frozen=True)
class RepRow:
    id: int
    name: str
    username: str
    age_minutes: int | None
    visits: int
    flagged: int
    url: str


def reason(flag, lang: str) -> str:
    return flag.reason_id if lang == "id" else flag.reason_en


def _visit_features(console: Console, today) -> list[dict]:
    t, lang = console.t, console.lang
    features = []
    for visit, code, name in today.visits:
        position = geo.lat_lon(visit.check_in_position)
        if position is None:
            continue
        flags = today.flags.get(visit.id, [])
        when = visit.check_in_at.astimezone(console.tz).strftime("%H:%M")
        lines = [reason(f, lang) for f in flags]
        if visit.dwell_seconds is not None:
            lines.append(
                f"{t('col.dwell')}: {t('unit.min', value=round(visit.dwell_seconds / 60))}"
            )
        if visit.trust_score is not None:
            lines.append(f"{t('col.trust')}: {visit.trust_score}")
        features.append(
            geojson.point(
                *position,
                id=visit.id,
                rep_id=visit.rep_id,
                band=geojson.trust_band(visit.trust_score),
                title=f"{name} ({code}) · {when}",
                lines=lines,
                drive_by=any(f.code == "drive_by" for f in flags),
                url=f"/console/reps/{visit.rep_id}/days/{today.day}?visit={visit.id}",
            )
        )
    return features


def _reps(console: Console, today, now: datetime) -> tuple[list[RepRow], list[dict]]:
    t = console.t
    visits: dict[int, int] = {}
    flagged: dict[int, int] = {}
    for visit, _, _ in today.visits:
        visits[visit.rep_id] = visits.get(visit.rep_id, 0) + 1
        if today.flags.get(visit.id):
            flagged[visit.rep_id] = flagged.get(visit.rep_id, 0) + 1
    rows, features = [], []
    for rep in today.reps:
        last = today.last_positions.get(rep.id)
        age = None if last is None else max(0, round((now - last.at).total_seconds() / 60))
        url = f"/console/reps/{rep.id}/days/{today.day}"
        rows.append(
            RepRow(
                rep.id,
                rep.full_name,
                rep.username,
                age,
                visits.get(rep.id, 0),
                flagged.get(rep.id, 0),
                url,
            )
        )
        if last is not None:
            features.append(
                geojson.point(
                    last.lat,
                    last.lon,
                    id=rep.id,
                    short=rep.username,
                    title=rep.full_name,
                    age=t("today.ago", minutes=age),
                    stale=age is not None and age > STALE_MINUTES,
                    url=url,
                )
            )
    return rows, features


def _panel_values(console: Console, team_id: int | None) -> dict:
    now = console.now()
    today = tracking_service.team_today(
        console.db, principal=console.principal, team_id=team_id, now=now
    )
    rows, rep_features = _reps(console, today, now)
    return {
        "day": today.day,
        "yesterday": today.day - timedelta(days=1),
        "rows": rows,
        "team_id": team_id,
        "updated": now,
        "visit_count": len(today.visits),
        "map_data": {
            "reps": geojson.collection(rep_features),
            "visits": geojson.collection(_visit_features(console, today)),
        },
    }


@router.get("")
@reads_from_replica
def today_page(console: ConsoleDep, team_id: Id | None = Query(None)):
    teams = user_service.list_teams(console.db, principal=console.principal, limit=1000, offset=0)
    return render(
        console,
        "today.html",
        teams=[(team.id, team.name) for team in teams.items],
        **_panel_values(console, team_id),
    )


@router.get("/panel")
@reads_from_replica
def today_panel(console: ConsoleDep, team_id: Id | None = Query(None)):
    """The list and the map's data again (htmx, every minute)."""
    return render(console, "today_panel.html", **_panel_values(console, team_id))
