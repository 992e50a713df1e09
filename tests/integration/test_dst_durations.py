"""Every duration is elapsed time, also across a daylight-saving change.

The company is in America/New_York, which falls back on 2026-11-01 (01:59:59 EDT is
followed by 01:00:00 EST): the day has 25 hours, and 01:20 EST comes 50 minutes after
01:30 EDT. Times are given here as the app's Python callers could give them, in the
company's ZoneInfo, where a wall-clock subtraction would be wrong.
"""

import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pyproj import Geod
from sqlalchemy import select

from factories import build_world, make_customer
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.tracking import days
from sfa.tracking import service as tracking_service
from sfa.tracking.ingest import PingRecord
from sfa.visits import service as visit_service
from sfa.visits.models import VisitFlag
from sfa.visits.service import CheckIn, Position

NY = ZoneInfo("America/New_York")
DAY = date(2026, 11, 1)
EDT_0130 = datetime(2026, 11, 1, 1, 30, tzinfo=NY)  # 05:30 UTC
EST_0120 = datetime(2026, 11, 1, 1, 20, tzinfo=NY, fold=1)  # 06:20 UTC, 50 min later
SHOP = (40.7128, -74.0060)
GEOD = Geod(ellps="WGS84")


@pytest.fixture
def world(db):
    company_service.update_settings(db, actor="test", changes={"timezone": "America/New_York"})
    w = build_world(db)
    w.shop = make_customer(db, "NY01", w.team_a, *SHOP)
    return w


def check_in(db, world, at, *, now=None, sent_at=None, position=SHOP):
    visit, _ = visit_service.check_in(
        db,
        principal=auth_service.principal_for_user(db, world.rep_a),
        now=now or at + timedelta(minutes=1),
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=world.shop.id,
            position=Position(at=at, lat=position[0], lon=position[1], accuracy_m=10),
            sent_at=sent_at,
        ),
    )
    return visit


def codes(db, visit):
    return set(db.scalars(select(VisitFlag.code).where(VisitFlag.visit_id == visit.id)))


def store_pings(db, rep_id, pings):
    items = list(enumerate(pings))
    tracking_service.store_rep_pings(
        db, rep_id=rep_id, items=items, batch_size=len(items), now=datetime(2026, 11, 2, tzinfo=UTC)
    )


def test_check_out_dwell_across_the_change(db, world):
    visit = check_in(db, world, EDT_0130)
    visit, changed = visit_service.check_out(
        db,
        principal=auth_service.principal_for_user(db, world.rep_a),
        visit_id=visit.id,
        position=Position(at=EST_0120, lat=SHOP[0], lon=SHOP[1]),
        now=EST_0120 + timedelta(minutes=1),
    )
    assert changed
    # Not "check-out before check-in" (01:20 < 01:30 on the wall clock), and 50 minutes.
    assert visit.dwell_seconds == 50 * 60


def test_clock_skew_across_the_change(db, world):
    # Sent at 01:58 EDT, received at 01:01 EST: 3 minutes, not 57.
    sent = datetime(2026, 11, 1, 1, 58, tzinfo=NY)
    received = datetime(2026, 11, 1, 1, 1, tzinfo=NY, fold=1)
    visit = check_in(db, world, sent, now=received, sent_at=sent)
    assert "clock_skew" not in codes(db, visit)
    late = datetime(2026, 11, 1, 1, 15, tzinfo=NY, fold=1)  # 17 minutes (43 on the wall)
    visit = check_in(db, world, sent - timedelta(hours=1), now=late, sent_at=sent)
    (flag,) = db.scalars(
        select(VisitFlag).where(VisitFlag.visit_id == visit.id, VisitFlag.code == "clock_skew")
    )
    assert flag.numbers["skew_minutes"] == 17.0


def test_dwell_from_pings_across_the_change(db, world):
    # Pings every minute at the shop from 01:30 EDT to 01:20 EST, then gone.
    start = EDT_0130.astimezone(UTC)
    store_pings(
        db,
        world.rep_a.id,
        [
            PingRecord(at=start + timedelta(minutes=k), lat=SHOP[0], lon=SHOP[1], accuracy_m=8)
            for k in range(51)
        ],
    )
    visit = check_in(db, world, EDT_0130)
    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    assert (visit.dwell_source, visit.dwell_seconds) == ("pings", 50 * 60)
    # The stop of the day spans the change too: 50 minutes long.
    _, result = days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    (stop,) = result.summary.stops
    assert stop.minutes == 50


def test_a_visit_never_checked_out_closes_at_the_end_of_a_25_hour_day(db, world):
    # Checked in at 00:30 EDT, nothing after: closed at the end of the working day, 18:00
    # EST, which is 18.5 hours later (17.5 on the wall clock).
    visit = check_in(db, world, datetime(2026, 11, 1, 0, 30, tzinfo=NY))
    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    assert visit.dwell_source == "not_checked_out"
    assert visit.dwell_seconds == int(18.5 * 3600)
    (flag,) = db.scalars(
        select(VisitFlag).where(VisitFlag.visit_id == visit.id, VisitFlag.code == "not_checked_out")
    )
    assert flag.numbers["dwell_minutes"] == 18.5 * 60


def test_drive_by_speed_across_the_change(db, world):
    # Driving east past the shop at 15 km/h from 01:58 EDT to 01:02 EST (4 minutes, 1 km).
    start = datetime(2026, 11, 1, 1, 58, tzinfo=NY).astimezone(UTC)
    pings = []
    for k in range(9):
        lon, lat, _ = GEOD.fwd(SHOP[1], SHOP[0], 90, -500 + 125 * k)
        pings.append(
            PingRecord(at=start + timedelta(seconds=30 * k), lat=lat, lon=lon, accuracy_m=5)
        )
    store_pings(db, world.rep_a.id, pings)
    visit = check_in(db, world, datetime(2026, 11, 1, 1, 0, tzinfo=NY, fold=1))
    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    (flag,) = db.scalars(
        select(VisitFlag).where(VisitFlag.visit_id == visit.id, VisitFlag.code == "drive_by")
    )
    assert flag.numbers["speed_kmh"] == pytest.approx(15.0, abs=0.1)
