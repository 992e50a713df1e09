"""Console maps in a real headless Chromium: the Today map of a 50-rep team with a full
day of visits, and the Rep day page of a 20,000-point track.

Measured per page, over 10 loads each in a fresh browser context (cold cache: every
byte of the page, its scripts and its data is fetched again):
- time from the start of navigation until the page's map layers are drawn (the console
  marks it: `window.sfaMapDrawnAt`, ms since the navigation started), p50 and max;
- bytes transferred (Chromium's encoded bytes of every response, headers included).
Baseline in the same run: the same page with an empty map (a team without reps, a day
without data) — what the page costs before any layer; the ratios are page / baseline.
Targets (issue 16): ≤ 1 s and ≤ 1 MB; the track is simplified on the server for the zoom
the map opens at (shapely), so the page ships a few hundred points, not 20,000.

    .venv/bin/python bench/console_maps.py [--loads 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import uuid
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from _common import api_server, banner, log, machine_line, make_teams, pg_cluster
from _days import DAY, TZ, make_day

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser import launch  # the tests' Chromium with the same flags (tests/browser.py)

REPS = 50
VISITS_PER_REP = 10
TRACK_PINGS = 20_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _manager(session, username: str, team_ids: list[int]) -> int:
    from sqlalchemy import update

    from sfa.auth.passwords import hash_password
    from sfa.users.models import Role, Team, User

    user = User(
        username=username,
        full_name=username,
        role=Role.manager,
        password_hash=hash_password("bench-password"),
    )
    session.add(user)
    session.flush()
    session.execute(update(Team).where(Team.id.in_(team_ids)).values(manager_id=user.id))
    return user.id


def _full_day_of_visits(session, reps, customers) -> int:
    """VISITS_PER_REP check-ins per rep today (08:00-17:00 company time) through the
    check-in service, then today's flags and trust scores; a last ping per rep."""
    from sfa.anomalies import service as anomaly_service
    from sfa.auth import service as auth_service
    from sfa.tracking import service as tracking_service
    from sfa.users.models import User
    from sfa.visits import service as visit_service
    from sfa.visits.service import CheckIn, Position

    today = datetime.now(TZ).date()
    start = datetime.combine(today, time(8, 0), tzinfo=TZ)
    count = 0
    for i, rep_id in enumerate(reps):
        principal = auth_service.principal_for_user(session, session.get(User, rep_id))
        for v in range(VISITS_PER_REP):
            customer_id, lat, lon = customers[(i * VISITS_PER_REP + v) % len(customers)]
            at = start + timedelta(minutes=54 * v + i % 7)
            visit_service.check_in(
                session,
                principal=principal,
                data=CheckIn(
                    client_id=uuid.uuid4(),
                    customer_id=customer_id,
                    position=Position(at=at, lat=lat + 0.0001, lon=lon, accuracy_m=9),
                ),
                now=at,
            )
            count += 1
        tracking_service.store_rep_pings(
            session,
            rep_id=rep_id,
            items=[(0, {"at": at + timedelta(minutes=5), "lat": lat, "lon": lon})],
            batch_size=1,
            now=at + timedelta(minutes=5),
        )
    anomaly_service.recompute(session, date_from=today, date_to=today)
    return count


def _long_track(session, rep_id: int) -> int:
    from sfa.tracking.ingest import copy_rows, ewkb_hex, mark_days_dirty
    from sfa.tracking.partitions import ensure_partitions

    day = make_day(seed=rep_id, n_pings=TRACK_PINGS)
    instants = [EPOCH + timedelta(microseconds=u) for u in day.t_us.tolist()]
    ensure_partitions(session, instants)
    rows = [
        (rep_id, at, ewkb_hex(la, lo), acc, None, None, None, None, False, "bench")
        for at, la, lo, acc in zip(
            instants, day.lat.tolist(), day.lon.tolist(), day.accuracy_m.tolist(), strict=True
        )
    ]
    copy_rows(session, "pings", rows)
    mark_days_dirty(session, rep_id=rep_id, instants=instants[:1], timezone=TZ)
    return len(rows)


def load() -> dict:
    from sqlalchemy import text

    from sfa.db import session_scope
    from sfa.users.models import Team

    with session_scope() as session:
        ((team_id, reps, customers),) = make_teams(
            session, teams=1, reps_per_team=REPS, customers_per_team=REPS * VISITS_PER_REP
        )
        empty_team = Team(name="Bench team without reps")
        session.add(empty_team)
        session.flush()
        _manager(session, "bench.manager", [team_id])
        _manager(session, "bench.empty", [empty_team.id])
    with session_scope() as session:
        visits = _full_day_of_visits(session, reps, customers)
    with session_scope() as session:
        pings = _long_track(session, reps[0])
        session.execute(text("ANALYZE"))
    return {"rep": reps[0], "visits": visits, "pings": pings}


def _session_cookie(browser, base: str, username: str) -> dict:
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto("/console/login?lang=en")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("bench-password")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console/today")
    cookie = next(c for c in context.cookies() if c["name"] == "sfa_console")
    context.close()
    return cookie


def _load_once(browser, base: str, cookie: dict, path: str, ready: str) -> tuple[float, int, dict]:
    """One cold load: (ms until the layers are drawn, bytes transferred, page facts)."""
    context = browser.new_context(base_url=base, viewport={"width": 1366, "height": 900})
    context.add_cookies([cookie])
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    received = []
    cdp.on("Network.loadingFinished", lambda e: received.append(e["encodedDataLength"]))
    foreign = []
    page.on("request", lambda r: None if r.url.startswith(base) else foreign.append(r.url))
    page.goto(path)
    page.wait_for_function(f"document.documentElement.dataset.mapReady === '{ready}'")
    drawn = page.evaluate("window.sfaMapDrawnAt")
    # The HTML's last byte (server time + transfer), ms since the navigation started.
    html = page.evaluate("performance.getEntriesByType('navigation')[0].responseEnd")
    facts = page.evaluate(
        """() => ({markers: document.querySelectorAll('.leaflet-marker-icon').length,
                   paths: document.querySelectorAll('.leaflet-overlay-pane path').length,
                   drawnPoints: (() => { const d = document.getElementById('day-data');
                     return d ? JSON.parse(d.textContent).track.properties.drawn : null })()})"""
    )
    page.wait_for_load_state("networkidle")
    context.close()
    if foreign:
        raise RuntimeError(f"the page called other hosts: {foreign}")
    facts["html_ms"] = round(html)
    return drawn, sum(received), facts


def measure(browser, base, cookie, path, ready, loads) -> dict:
    times, sizes, html, facts = [], [], [], {}
    for _ in range(loads):
        ms, size, facts = _load_once(browser, base, cookie, path, ready)
        times.append(ms)
        sizes.append(size)
        html.append(facts.pop("html_ms"))
    facts["html_p50_ms"] = statistics.median(html)
    return {
        "p50_ms": statistics.median(times),
        "max_ms": max(times),
        "bytes": statistics.median(sizes),
        "facts": facts,
    }


def report(name: str, page: dict, base: dict) -> None:
    print(
        f"{name:<28} p50 {page['p50_ms']:7.0f} ms (max {page['max_ms']:6.0f})  "
        f"{page['bytes'] / 1024:7.1f} KiB   baseline p50 {base['p50_ms']:6.0f} ms "
        f"{base['bytes'] / 1024:6.1f} KiB   ratio time {page['p50_ms'] / base['p50_ms']:.2f} "
        f"bytes {page['bytes'] / base['bytes']:.2f}   {page['facts']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--loads", type=int, default=10)
    args = parser.parse_args()
    banner("Console maps in headless Chromium (issue 16)")
    print(machine_line())
    from playwright.sync_api import sync_playwright

    with pg_cluster() as cluster:
        log("loading: 50 reps, a full day of visits, one 20,000-point day")
        data = load()
        log(f"loaded {data}")
        with api_server(cluster.url, workers=1) as server, sync_playwright() as p:
            browser = launch(p)
            try:
                base = server.base_url
                manager = _session_cookie(browser, base, "bench.manager")
                empty = _session_cookie(browser, base, "bench.empty")
                rep_day = f"/console/reps/{data['rep']}/days/{DAY.isoformat()}"
                empty_day = f"/console/reps/{data['rep']}/days/{(DAY - timedelta(days=1))}"
                # One warm-up load each: the server's first request pays imports and caches.
                for cookie, path, ready in (
                    (manager, "/console/today", "today"),
                    (manager, rep_day, "rep-day"),
                ):
                    _load_once(browser, base, cookie, path, ready)
                log(f"measuring {args.loads} cold loads per page")
                today = measure(browser, base, manager, "/console/today", "today", args.loads)
                today_base = measure(browser, base, empty, "/console/today", "today", args.loads)
                day = measure(browser, base, manager, rep_day, "rep-day", args.loads)
                day_base = measure(browser, base, manager, empty_day, "rep-day", args.loads)
            finally:
                browser.close()
    print()
    report(f"Today, {REPS} reps/{data['visits']} visits", today, today_base)
    report(f"Rep day, {data['pings']:,} points", day, day_base)
    print(machine_line("end"))
    ok = all(m["p50_ms"] <= 1000 and m["bytes"] <= 1024 * 1024 for m in (today, day))
    print("targets (p50 <= 1 s, <= 1 MB):", "met" if ok else "NOT met")


if __name__ == "__main__":
    main()
