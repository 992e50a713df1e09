"""A rep's day from stored pings: the real Limerick trace and synthetic field days."""

import csv
import itertools
import random
import uuid
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import numpy as np
import pytest
from pyproj import Geod

from factories import build_world, make_customer, make_user
from paths import TEST_DATA
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.tracking import days, repository
from sfa.tracking import service as tracking_service
from sfa.tracking.ingest import PingRecord
from sfa.tracking.models import RepDay
from sfa.tracking.protocols import parse_gpx
from sfa.users.models import Role
from sfa.visits import service as visit_service
from sfa.visits.models import VisitFlag
from sfa.visits.service import CheckIn, Position

GEOD = Geod(ellps="WGS84")
LIMERICK = TEST_DATA / "limerick-bus-304"
TRACE_DAY = date(2019, 2, 18)


@pytest.fixture(scope="module")
def trace() -> list[PingRecord]:
    return [
        point for _, point in parse_gpx((LIMERICK / "bus-304-2019-02-18.gpx").read_bytes()).points
    ]


@pytest.fixture
def dublin(db):
    # The trace is a Limerick morning: the company day must be Irish for it to be one day.
    # Tighter stop thresholds, set the way a company would: a bus halts < 5 minutes.
    company_service.update_settings(
        db,
        actor="test",
        changes={
            "timezone": "Europe/Dublin",
            "stop_radius_m": 50,
            "stop_min_minutes": 1,
            "workday_start": "07:00",
            "workday_end": "10:00",
        },
    )
    return build_world(db)


def _store(db, rep_id, pings):
    for start in range(0, len(pings), 500):
        chunk = list(enumerate(pings[start : start + 500], start=start))
        tracking_service.store_rep_pings(db, rep_id=rep_id, items=chunk, batch_size=len(chunk))


def _fingerprint(result):
    s = result.summary
    return (
        round(s.distance_m, 3),
        round(s.coverage, 6),
        [(st.start, st.end, round(st.lat, 7), round(st.lon, 7)) for st in s.stops],
        [(g.start, g.end) for g in s.gaps],
    )


def test_limerick_same_day_whatever_order_or_repetition(db, dublin, trace):
    shuffled = trace[:]
    random.Random(7).shuffle(shuffled)
    doubled = trace + trace[::-1]
    results = []
    for name, pings in [("in-order", trace), ("shuffled", shuffled), ("twice", doubled)]:
        rep = make_user(db, f"bus.{name}", Role.rep, dublin.team_a)
        _store(db, rep.id, pings)
        results.append(days.compute_day(db, rep_id=rep.id, day=TRACE_DAY))
    assert _fingerprint(results[0]) == _fingerprint(results[1]) == _fingerprint(results[2])
    summary = results[0].summary
    assert len(summary.accepted) == 2144
    # The bus route is ~14 km (naive 1-s geodesic sum 14.2 km, with jitter).
    assert 13_500 < summary.distance_m < 14_217
    # 07:00-10:00 window, data 07:45-09:00: coverage is about 75 of 180 minutes.
    assert 0.38 < summary.coverage < 0.45


def test_limerick_stops_lie_at_bus_stops(db, dublin, trace):
    rep = make_user(db, "bus.stops", Role.rep, dublin.team_a)
    _store(db, rep.id, trace)
    stored, result = days.refresh_day(db, rep_id=rep.id, day=TRACE_DAY)
    with (LIMERICK / "stops-304.csv").open() as f:
        bus_stops = [(float(r["lat"]), float(r["lon"])) for r in csv.DictReader(f)]
    stops = result.summary.stops
    assert len(stops) >= 10

    def near_bus_stop(stop):
        return min(GEOD.inv(stop.lon, stop.lat, lon, lat)[2] for lat, lon in bus_stops) <= 100

    share = sum(near_bus_stop(s) for s in stops) / len(stops)
    assert share >= 0.85, share
    assert not stored.dirty and len(result.stops) == len(stops)


def test_limerick_initial_jitter_adds_almost_nothing(db, dublin, trace):
    # The trace starts with ~4 minutes of a phone lying still at the first stop.
    still = [p for p in trace if p["at"] < trace[0]["at"] + timedelta(seconds=250)]
    rep = make_user(db, "bus.still", Role.rep, dublin.team_a)
    _store(db, rep.id, still)
    result = days.compute_day(db, rep_id=rep.id, day=TRACE_DAY)
    naive = sum(
        GEOD.inv(a["lon"], a["lat"], b["lon"], b["lat"])[2] for a, b in itertools.pairwise(still)
    )
    assert naive > 30
    assert result.summary.distance_m < 2.0


def test_late_pings_recompute_the_day_to_the_same_result(db, dublin, trace):
    rep = make_user(db, "bus.late", Role.rep, dublin.team_a)
    early, late = trace[::2], trace[1::2]
    _store(db, rep.id, early)
    days.refresh_day(db, rep_id=rep.id, day=TRACE_DAY)
    _store(db, rep.id, late[::-1])
    assert db.get(RepDay, (rep.id, TRACE_DAY)).dirty
    assert days.recompute_dirty_days(db) >= 1
    assert not db.get(RepDay, (rep.id, TRACE_DAY)).dirty
    all_at_once = make_user(db, "bus.once", Role.rep, dublin.team_a)
    _store(db, all_at_once.id, trace)
    assert _fingerprint(days.compute_day(db, rep_id=rep.id, day=TRACE_DAY)) == _fingerprint(
        days.compute_day(db, rep_id=all_at_once.id, day=TRACE_DAY)
    )
    assert db.get(RepDay, (rep.id, TRACE_DAY)).distance_m == pytest.approx(
        days.compute_day(db, rep_id=all_at_once.id, day=TRACE_DAY).summary.distance_m, abs=0.1
    )


# --- Synthetic Jakarta days ---------------------------------------------------------

JKT_DAY = date(2026, 11, 16)  # a Monday
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta


def walk(start, lat, lon, minutes, every_s=30, metres_per_step=0.0, azimuth=90.0):
    """Pings every `every_s` seconds, moving `metres_per_step` each time."""
    pings = []
    for i in range(int(minutes * 60 / every_s) + 1):
        lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres_per_step * i)
        pings.append(
            PingRecord(at=start + timedelta(seconds=every_s * i), lat=lat2, lon=lon2, accuracy_m=8)
        )
    return pings


def rep_principal(db, rep):
    return auth_service.principal_for_user(db, rep)


def check_in(db, rep, customer, at, lat, lon):
    visit, _ = visit_service.check_in(
        db,
        principal=rep_principal(db, rep),
        now=at + timedelta(minutes=1),
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=customer.id,
            position=Position(at=at, lat=lat, lon=lon, accuracy_m=10),
        ),
    )
    return visit


def flags(db, visit):
    return {f.code for f in db.query(VisitFlag).filter_by(visit_id=visit.id)}


def test_dwell_from_pings_without_check_out(db):
    world = build_world(db)
    shop = make_customer(db, "DW1", world.team_a, -6.2100, 106.8200)
    # 20 minutes within 150 m of the shop, then driving away east.
    stay = walk(T0, -6.2100, 106.8201, 20, metres_per_step=1)
    away = walk(T0 + timedelta(minutes=20, seconds=30), -6.2100, 106.8230, 10, metres_per_step=150)
    _store(db, world.rep_a.id, stay + away)
    visit = check_in(db, world.rep_a, shop, T0 + timedelta(minutes=1), -6.2100, 106.8201)
    days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    assert visit.dwell_source == "pings"
    assert visit.dwell_seconds == 19 * 60
    assert "not_checked_out" not in flags(db, visit)
    assert "drive_by" not in flags(db, visit)


def test_not_checked_out_closes_at_next_check_in(db):
    world = build_world(db)
    first = make_customer(db, "NC1", world.team_a, -6.2100, 106.8200)
    second = make_customer(db, "NC2", world.team_a, -6.2300, 106.8400)
    a = check_in(db, world.rep_a, first, T0, -6.2100, 106.8200)
    b = check_in(db, world.rep_a, second, T0 + timedelta(minutes=45), -6.2300, 106.8400)
    days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    assert (a.dwell_source, a.dwell_seconds) == ("not_checked_out", 45 * 60)
    assert "not_checked_out" in flags(db, a)
    # The last visit of the day closes at the end of the working day (18:00 local).
    assert b.dwell_seconds == int(
        (datetime(2026, 11, 16, 11, 0, tzinfo=UTC) - b.check_in_at).total_seconds()
    )


def test_drive_by_and_unlogged_visit(db):
    world = build_world(db)
    passed = make_customer(db, "DB1", world.team_a, -6.2000, 106.8300)
    skipped = make_customer(db, "UL1", world.team_a, -6.2000, 106.8600)
    # Driving east at ~36 km/h through `passed`, then 15 minutes parked at `skipped`.
    drive = walk(T0, -6.2000, 106.8200, 10, every_s=10, metres_per_step=100)
    park = walk(T0 + timedelta(minutes=12), -6.2000, 106.8600, 15)
    _store(db, world.rep_a.id, drive + park)
    lon_at = GEOD.fwd(106.8200, -6.2000, 90, 1100)[0]
    visit = check_in(db, world.rep_a, passed, T0 + timedelta(seconds=110), -6.2000, lon_at)
    _, result = days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    assert "drive_by" in flags(db, visit)
    [stop] = result.stops
    assert stop.customer_id == skipped.id and stop.visit_id is None  # the unlogged visit
    assert stop.distance_to_customer_m < 5


def test_company_midnight_splits_days(db):
    world = build_world(db)
    # 23:50 and 00:10 Jakarta time are two different company days.
    before = datetime(2026, 11, 16, 16, 50, tzinfo=UTC)
    pings = walk(before, -6.2, 106.8, 20, every_s=60)
    _store(db, world.rep_a.id, pings)
    assert {d.day for d in db.query(RepDay).filter_by(rep_id=world.rep_a.id)} == {
        date(2026, 11, 16),
        date(2026, 11, 17),
    }
    first = days.compute_day(db, rep_id=world.rep_a.id, day=date(2026, 11, 16))
    second = days.compute_day(db, rep_id=world.rep_a.id, day=date(2026, 11, 17))
    assert len(first.summary.accepted) == 10 and len(second.summary.accepted) == 11
    assert (
        first.summary.accepted[-1].at
        < datetime(2026, 11, 16, 17, 0, tzinfo=UTC)
        <= second.summary.accepted[0].at
    )


def test_arriving_fast_into_a_long_stay_is_one_stop_with_its_visit(db):
    # 30 km/h in, 5-s pings, 25 minutes at the shop with 8 m jitter, then away: the day
    # used to show two stops 10 s apart, the second without a visit (a false
    # unlogged_visit).
    world = build_world(db)
    shop_at = (-6.2100, 106.8200)
    shop = make_customer(db, "SPLIT1", world.team_a, *shop_at)
    rng = random.Random(2)
    speed = 30 / 3.6
    pings, t = [], T0
    for k in range(48):  # 2 km in, one ping every 5 s
        lon, lat, _ = GEOD.fwd(shop_at[1], shop_at[0], 270, 2000 - speed * 5 * k)
        pings.append(PingRecord(at=t, lat=lat, lon=lon, accuracy_m=5))
        t += timedelta(seconds=5)
    for _ in range(300):  # 25 minutes at the shop
        lon, lat, _ = GEOD.fwd(shop_at[1], shop_at[0], rng.uniform(0, 360), abs(rng.gauss(0, 8)))
        pings.append(PingRecord(at=t, lat=lat, lon=lon, accuracy_m=12))
        t += timedelta(seconds=5)
    for k in range(1, 48):  # and 2 km out
        lon, lat, _ = GEOD.fwd(shop_at[1], shop_at[0], 90, speed * 5 * k)
        pings.append(PingRecord(at=t, lat=lat, lon=lon, accuracy_m=5))
        t += timedelta(seconds=5)
    _store(db, world.rep_a.id, pings)
    visit = check_in(db, world.rep_a, shop, T0 + timedelta(minutes=5), *shop_at)
    _, result = days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    (stop,) = result.stops
    assert stop.visit_id == visit.id and stop.customer_id == shop.id
    assert (stop.end_at - stop.start_at).total_seconds() >= 25 * 60 - 30


def _read(result):
    """What a reader of the day sees (the API's DayOut and the console's page use these)."""
    s = result.summary
    return {
        "accepted": s.accepted,
        "rejected": s.rejected,
        "distance_m": round(s.distance_m, 1),
        "coverage": round(s.coverage, 4),
        "gaps": [(g.start, g.end, round(g.minutes, 1)) for g in s.gaps],
        "trips": [(t.start, t.end, round(t.distance_m, 1), t.n_pings) for t in s.trips],
        "stops": [
            (st.start, st.end, round(st.lat, 7), round(st.lon, 7), st.n_pings, st.gap_minutes)
            for st in s.stops
        ],
        "rep_stops": [
            (st.start_at, st.end_at, st.customer_id, st.visit_id, st.distance_to_customer_m)
            for st in result.stops
        ],
        "visits": [(v.id, v.dwell_seconds, v.dwell_source) for v in result.visits],
    }


def test_a_clean_stored_day_is_read_back_without_analysing_it_again(db, monkeypatch):
    world = build_world(db)
    passed = make_customer(db, "RB1", world.team_a, -6.2000, 106.8300)
    parked_at = make_customer(db, "RB2", world.team_a, -6.2000, 106.8600)
    # A drive-by, a stay with a check-in but no check-out, a 23-minute gap, a last stay.
    drive = walk(T0, -6.2000, 106.8200, 10, every_s=10, metres_per_step=100)
    park = walk(T0 + timedelta(minutes=12), -6.2000, 106.8600, 15)
    later = walk(T0 + timedelta(minutes=50), -6.2100, 106.8700, 10)
    _store(db, world.rep_a.id, drive + park + later)
    lon_at = GEOD.fwd(106.8200, -6.2000, 90, 1100)[0]
    check_in(db, world.rep_a, passed, T0 + timedelta(seconds=110), -6.2000, lon_at)
    check_in(db, world.rep_a, parked_at, T0 + timedelta(minutes=13), -6.2000, 106.8600)
    principal = rep_principal(db, world.rep_a)
    computed = _read(
        tracking_service.rep_day(db, principal=principal, rep_id=world.rep_a.id, day=JKT_DAY)
    )
    assert not db.get(RepDay, (world.rep_a.id, JKT_DAY)).dirty
    assert computed["gaps"] and len(computed["rep_stops"]) == 2 and computed["trips"]

    def no_analysis(*args, **kwargs):
        raise AssertionError("a clean stored day was analysed again")

    with monkeypatch.context() as m:
        m.setattr(days, "analyse_track", no_analysis)
        read = _read(
            tracking_service.rep_day(db, principal=principal, rep_id=world.rep_a.id, day=JKT_DAY)
        )
    assert read == computed
    # A new ping makes the day stale: it is analysed again and shows the ping.
    _store(db, world.rep_a.id, walk(T0 + timedelta(minutes=61), -6.2100, 106.8700, 1))
    with monkeypatch.context() as m:
        m.setattr(days, "analyse_track", no_analysis)
        with pytest.raises(AssertionError, match="analysed again"):
            tracking_service.rep_day(db, principal=principal, rep_id=world.rep_a.id, day=JKT_DAY)
    fresh = tracking_service.rep_day(db, principal=principal, rep_id=world.rep_a.id, day=JKT_DAY)
    assert len(fresh.summary.accepted) == len(computed["accepted"]) + 3


def test_a_day_stored_before_trips_kept_their_ping_count_is_computed_again(db):
    world = build_world(db)
    _store(db, world.rep_a.id, walk(T0, -6.2000, 106.8200, 30, metres_per_step=20))
    days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    row = db.get(RepDay, (world.rep_a.id, JKT_DAY))
    row.trips = [{k: v for k, v in t.items() if k != "n_pings"} for t in row.trips]
    db.flush()
    principal = rep_principal(db, world.rep_a)
    result = tracking_service.rep_day(db, principal=principal, rep_id=world.rep_a.id, day=JKT_DAY)
    assert result.summary.trips and all(t.n_pings > 0 for t in result.summary.trips)
    assert all("n_pings" in t for t in db.get(RepDay, (world.rep_a.id, JKT_DAY)).trips)


def _day_of(db, rep):
    return tracking_service.rep_day(
        db, principal=rep_principal(db, rep), rep_id=rep.id, day=JKT_DAY
    )


def _map_of(db, rep):
    return tracking_service.rep_day_map(
        db, principal=rep_principal(db, rep), rep_id=rep.id, day=JKT_DAY
    )


def test_a_map_of_a_stored_day_draws_its_kept_track_without_its_pings(db, monkeypatch):
    world = build_world(db)
    shop = make_customer(db, "MP1", world.team_a, -6.2000, 106.8600)
    # A drive, a 23-minute gap, a stay at the shop with a check-in.
    _store(db, world.rep_a.id, walk(T0, -6.2000, 106.8200, 10, every_s=10, metres_per_step=50))
    _store(db, world.rep_a.id, walk(T0 + timedelta(minutes=33), -6.2000, 106.8600, 15))
    check_in(db, world.rep_a, shop, T0 + timedelta(minutes=34), -6.2000, 106.8600)
    computed = _read(_day_of(db, world.rep_a))
    with monkeypatch.context() as m:
        m.setattr(days, "analyse_track", lambda *a, **k: pytest.fail("analysed again"))
        m.setattr(repository, "pings_between", lambda *a, **k: pytest.fail("pings fetched"))
        drawn = _map_of(db, world.rep_a)
    assert [drawn.track.at(i) for i in range(len(drawn.track))] == [
        p.at for p in computed["accepted"]
    ]
    assert np.allclose(drawn.track.lat, [p.lat for p in computed["accepted"]], rtol=0, atol=1e-7)
    assert np.allclose(drawn.track.lon, [p.lon for p in computed["accepted"]], rtol=0, atol=1e-7)
    assert [(g.start, g.end, round(g.minutes, 1)) for g in drawn.gaps] == computed["gaps"]
    assert (
        computed["gaps"]
        and [(t.start, t.end, round(t.distance_m, 1), t.n_pings) for t in drawn.trips]
        == computed["trips"]
    )
    assert [(s.start_at, s.end_at, s.visit_id) for s in drawn.stops] == [
        (s[0], s[1], s[3]) for s in computed["rep_stops"]
    ]
    assert [v.id for v in drawn.visits] == [v[0] for v in computed["visits"]]
    assert (round(drawn.distance_m, 1), round(drawn.coverage, 4)) == (
        computed["distance_m"],
        computed["coverage"],
    )


def test_a_day_stored_before_days_kept_their_track_keeps_it_when_first_drawn(db, monkeypatch):
    world = build_world(db)
    _store(db, world.rep_a.id, walk(T0, -6.2000, 106.8200, 30, metres_per_step=20))
    days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    row = db.get(RepDay, (world.rep_a.id, JKT_DAY))
    row.track = None  # as the migration left the days stored before it
    db.flush()
    first = _map_of(db, world.rep_a)  # drawn from its pings, cleaned
    assert len(first.track) == 61
    db.expire_all()
    assert db.get(RepDay, (world.rep_a.id, JKT_DAY)).track is not None
    with monkeypatch.context() as m:
        m.setattr(repository, "pings_between", lambda *a, **k: pytest.fail("pings fetched"))
        assert _map_of(db, world.rep_a).track.t_us.tolist() == first.track.t_us.tolist()
    # A track is only ever kept for the analysis it was drawn from: not once the day was
    # computed again meanwhile.
    before = SimpleNamespace(rep_id=world.rep_a.id, day=JKT_DAY, computed_at=row.computed_at)
    days.refresh_day(db, rep_id=world.rep_a.id, day=JKT_DAY)
    kept = db.get(RepDay, (world.rep_a.id, JKT_DAY)).track
    repository.keep_track(db, before, b"an older drawing")
    db.expire_all()
    assert db.get(RepDay, (world.rep_a.id, JKT_DAY)).track == kept
