"""Suspicious-visit indicators at their boundaries, in the company timezone (Jakarta)."""

from datetime import UTC, date, datetime, timedelta

import pytest
from pyproj import Geod
from sqlalchemy import select, text

from factories import build_world, make_customer, make_visit
from sfa.anomalies import jobs as anomaly_jobs
from sfa.company import service as company_service
from sfa.customers.models import CustomerFlag
from sfa.visits import indicators
from sfa.visits.models import Visit, VisitFlag
from sfa.visits.repository import Scope

GEOD = Geod(ellps="WGS84")
DAY = date(2026, 11, 16)
# 09:00 in Jakarta (UTC+7).
T0 = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
BASE = (-6.2000, 106.8000)


def east(metres: float, origin=BASE) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(origin[1], origin[0], 90, metres)
    return lat, lon


add_visit = make_visit


def flagged(db, code) -> set[int]:
    return set(db.scalars(select(VisitFlag.visit_id).where(VisitFlag.code == code)))


def run(db, day_from=DAY, day_to=DAY):
    indicators.recompute_flags(
        db, scope=Scope(day_from, day_to), settings=company_service.get_company_settings(db)
    )


@pytest.fixture
def world(db):
    return build_world(db)


@pytest.fixture
def shops(db, world):
    return [make_customer(db, f"S{i}", world.team_a, *east(i * 500.0)) for i in range(6)]


@pytest.mark.parametrize(
    ("step_m", "count", "fires"), [(49, 3, True), (51, 3, False), (49, 2, False), (49, 4, True)]
)
def test_consecutive_near(db, world, shops, step_m, count, fires):
    visits = [
        add_visit(
            db,
            world.rep_a,
            shops[i],
            T0 + timedelta(minutes=20 * i),
            east(step_m * i),
            dwell_minutes=10,
        )
        for i in range(count)
    ]
    # A later visit far away does not join the run.
    far = add_visit(db, world.rep_a, shops[5], T0 + timedelta(hours=3), east(5000), 10)
    run(db)
    expected = {v.id for v in visits} if fires else set()
    assert flagged(db, "consecutive_near") == expected
    assert far.id not in flagged(db, "consecutive_near")
    if fires:
        numbers = db.scalar(select(VisitFlag.numbers).where(VisitFlag.code == "consecutive_near"))
        assert numbers == {
            "run_length": count,
            "max_step_m": pytest.approx(step_m, abs=0.2),
            "limit_m": 50,
        }


def test_consecutive_near_does_not_cross_company_midnight(db, world, shops):
    # 23:40, 23:50 and 00:05 Jakarta: one UTC day, but two company days.
    start = datetime(2026, 11, 16, 16, 40, tzinfo=UTC)
    for i, minutes in enumerate([0, 10, 25]):
        add_visit(
            db,
            world.rep_a,
            shops[i],
            start + timedelta(minutes=minutes),
            east(40 * i),
            dwell_minutes=8,
        )
    run(db, DAY, DAY + timedelta(days=1))
    assert flagged(db, "consecutive_near") == set()


@pytest.mark.parametrize(
    ("minutes", "fires"),
    [
        ([0, 10, 20, 29], True),  # 4 within 29 min
        ([0, 10, 20, 30], False),  # the 4th is exactly 30 min after the 1st: not within
        ([0, 5, 10], False),  # 3 is not enough
        ([0, 12, 24, 40, 41], True),  # 24, 40, 41 + 12: four in [12, 42)
    ],
)
def test_rapid_visits(db, world, shops, minutes, fires):
    visits = [
        add_visit(
            db, world.rep_a, shops[i], T0 + timedelta(minutes=m), east(500 * i), dwell_minutes=6
        )
        for i, m in enumerate(minutes)
    ]
    run(db)
    got = flagged(db, "rapid_visits")
    if not fires:
        assert got == set()
    elif len(minutes) == 4:
        assert got == {v.id for v in visits}
    else:
        assert got == {v.id for v in visits[1:]}


def test_rapid_visits_do_not_cross_company_midnight(db, world, shops):
    # 23:45, 23:50, 23:55 Jakarta, then 00:05 the next company day: 3 + 1, never 4.
    start = datetime(2026, 11, 16, 16, 45, tzinfo=UTC)
    for i, minutes in enumerate([0, 5, 10, 20]):
        add_visit(
            db,
            world.rep_a,
            shops[i],
            start + timedelta(minutes=minutes),
            east(500 * i),
            dwell_minutes=4,
        )
    run(db, DAY, DAY + timedelta(days=1))
    assert flagged(db, "rapid_visits") == set()


def test_clustered_customers_within_5_m2_but_not_3_m_apart(db, world):
    # Three customers inside a circle of radius 1.2 m (area 4.5 m² < 5 m²).
    centre = (-6.2500, 106.8500)
    tight = [
        make_customer(
            db, f"F{i}", world.team_a, *GEOD.fwd(centre[1], centre[0], 120 * i, 1.2)[1::-1]
        )
        for i in range(3)
    ]
    # Three customers in a row 3 m apart elsewhere.
    start = (-6.2600, 106.8600)
    loose = [make_customer(db, f"L{i}", world.team_a, *east(3.0 * i, start)) for i in range(3)]
    visit_tight = add_visit(db, world.rep_a, tight[0], T0, centre, dwell_minutes=10)
    visit_loose = add_visit(db, world.rep_a, loose[0], T0 + timedelta(hours=1), start, 10)
    run(db)
    assert set(db.scalars(select(CustomerFlag.customer_id))) == {c.id for c in tight}
    assert flagged(db, "clustered_customers") == {visit_tight.id}
    assert visit_loose.id not in flagged(db, "clustered_customers")
    numbers = db.scalar(select(CustomerFlag.numbers).limit(1))
    assert numbers["customers_in_circle"] == 3 and numbers["circle_radius_m"] <= 1.2616


def test_cluster_needs_three_customers(db, world):
    make_customer(db, "P1", world.team_a, -6.25, 106.85)
    make_customer(db, "P2", world.team_a, *east(1.0, (-6.25, 106.85)))
    run(db)
    assert db.scalar(select(CustomerFlag.customer_id)) is None


@pytest.mark.parametrize(
    ("dwell", "code"), [(61, "overlong"), (59, None), (4.9, "too_short"), (5, None), (60, None)]
)
def test_visit_duration_standards(db, world, shops, dwell, code):
    visit = add_visit(db, world.rep_a, shops[0], T0, east(0), dwell_minutes=dwell)
    run(db)
    assert (
        visit.id in flagged(db, "overlong")
        if code == "overlong"
        else visit.id not in flagged(db, "overlong")
    )
    assert (visit.id in flagged(db, "too_short")) is (code == "too_short")


def test_duration_standard_per_customer_class(db, world):
    company_service.update_settings(
        db,
        actor="test",
        changes={"visit_duration_by_class": {"grosir": {"min_minutes": 10, "max_minutes": 120}}},
    )
    grosir = make_customer(db, "G1", world.team_a, *east(0), cls="grosir")
    warung = make_customer(db, "W1", world.team_a, *east(900), cls="warung")
    long_grosir = add_visit(db, world.rep_a, grosir, T0, east(0), dwell_minutes=90)
    long_warung = add_visit(db, world.rep_a, warung, T0 + timedelta(hours=2), east(900), 90)
    short_grosir = add_visit(db, world.rep_a, grosir, T0 + timedelta(hours=4), east(0), 8)
    run(db)
    assert flagged(db, "overlong") == {long_warung.id}
    assert flagged(db, "too_short") == {short_grosir.id}
    assert long_grosir.id not in flagged(db, "overlong")


def test_not_checked_out_visit_is_not_judged_on_duration(db, world, shops):
    visit = add_visit(db, world.rep_a, shops[0], T0, east(0), dwell_minutes=300, checked_out=False)
    run(db)
    assert visit.id not in flagged(db, "overlong")


def test_impossible_speed(db, world, shops):
    add_visit(db, world.rep_a, shops[0], T0, east(0), dwell_minutes=10)
    # 10 km from the previous check-out (T0+10 min) in 2 minutes: 300 km/h.
    fast = add_visit(db, world.rep_a, shops[1], T0 + timedelta(minutes=12), east(10_000), 10)
    # 1 km in 10 minutes: 6 km/h.
    slow = add_visit(db, world.rep_a, shops[2], T0 + timedelta(minutes=32), east(11_000), 10)
    run(db)
    assert flagged(db, "impossible_speed") == {fast.id}
    numbers = db.scalar(
        select(VisitFlag.numbers).where(
            VisitFlag.visit_id == fast.id, VisitFlag.code == "impossible_speed"
        )
    )
    assert numbers["speed_kmh"] == pytest.approx(300, rel=0.01)
    assert slow.id not in flagged(db, "impossible_speed")


def test_trust_score_and_idempotent_recompute(db, world, shops):
    visits = [
        add_visit(
            db, world.rep_a, shops[i], T0 + timedelta(minutes=15 * i), east(30 * i), dwell_minutes=3
        )
        for i in range(3)
    ]
    run(db)
    rows = db.execute(
        text("SELECT visit_id, code, numbers, reason_en, reason_id FROM visit_flags ORDER BY 1, 2")
    ).all()
    run(db)
    again = db.execute(
        text("SELECT visit_id, code, numbers, reason_en, reason_id FROM visit_flags ORDER BY 1, 2")
    ).all()
    assert rows == again and len(rows) == 6  # consecutive_near + too_short, three visits
    db.expire_all()
    assert [db.get(Visit, v.id).trust_score for v in visits] == [60, 60, 60]
    reason = next(r for r in rows if r.code == "too_short")
    assert "3.0 min" in reason.reason_en and "3.0 menit" in reason.reason_id


def test_refresh_dirty_updates_day_aggregates(db, world, shops):
    add_visit(db, world.rep_a, shops[0], T0, east(0), dwell_minutes=3)
    add_visit(db, world.rep_a, shops[1], T0 + timedelta(hours=1), east(500), dwell_minutes=20)
    db.execute(
        text(
            "INSERT INTO rep_days (rep_id, day, dirty, distance_m, coverage, "
            "ping_count, accepted_count, rejected, gaps, trips, flags_dirty) VALUES "
            "(:r, :d, false, 0, 0, 0, 0, '{}', '[]', '[]', true)"
        ),
        {"r": world.rep_a.id, "d": DAY},
    )
    result = anomaly_jobs.refresh_dirty(db)
    assert result.flag_days == 1
    row = db.execute(
        text(
            "SELECT visits, verified_visits, dwell_seconds, flagged_visits, "
            "flag_counts, flags_dirty FROM rep_days WHERE rep_id = :r"
        ),
        {"r": world.rep_a.id},
    ).one()
    assert tuple(row) == (2, 2, 23 * 60, 1, {"too_short": 1}, False)
