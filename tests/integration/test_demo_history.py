"""The demo history: 20+ weeks, every flag and anomaly type, mostly normal, loaded once."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text

from api.cli import analyse_demo_history
from sfa.demo.history import generate_history
from sfa.demo.seed import seed_demo

JAKARTA = ZoneInfo("Asia/Jakarta")
FLAG_CODES = {
    "consecutive_near",
    "rapid_visits",
    "clustered_customers",
    "overlong",
    "too_short",
    "mock_location",
    "too_far",
    "clock_skew",
    "impossible_speed",
    "drive_by",
    "not_checked_out",
}
ANOMALY_CODES = {"short_visits_spike", "visit_count_outlier", "low_visit_rate"}
TABLES = (
    "journey_plans",
    "planned_visits",
    "visits",
    "visit_flags",
    "pings",
    "customers",
    "weekly_anomalies",
    "rep_days",
    "rep_weeks",
)


def _counts(db) -> dict[str, int]:
    return {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in TABLES}


def _by_rep(db, sql: str, **params) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for code, username in db.execute(text(sql), params):
        found.setdefault(code, set()).add(username)
    return found


def _working_afternoon() -> datetime:
    """14:00 in Jakarta on the latest working day that has had its 14:00: "now" for a load
    with today so far. Never in the future: before 14:00 Jakarta time (e.g. a run at
    00:50 there) today's afternoon has not happened, and the code that closes visits
    left open compares with the real clock."""
    real_now = datetime.now(JAKARTA)
    day = real_now.date()
    if real_now.time() < time(14, 0):
        day -= timedelta(days=1)
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(14, 0), tzinfo=JAKARTA)


def test_demo_history_shows_every_flag_and_anomaly_once(db):
    seed_demo(db)
    now = _working_afternoon()
    history = generate_history(db, now=now)
    assert history.created
    assert history.date_to == now.date()
    analyse_demo_history(db, history)

    weeks = db.execute(
        text("SELECT count(DISTINCT date_trunc('week', local_day)) FROM visits")
    ).scalar()
    assert weeks >= 20

    flags = _by_rep(
        db, "SELECT DISTINCT f.code, u.username FROM visit_flags f JOIN users u ON u.id = f.rep_id"
    )
    assert set(flags) >= FLAG_CODES, FLAG_CODES - set(flags)
    # The documented reps carry their scenario (sfa/demo/history.py).
    for code, rep in [
        ("consecutive_near", "rep03"),
        ("rapid_visits", "rep05"),
        ("clustered_customers", "rep14"),
        ("overlong", "rep11"),
        ("too_short", "rep07"),
        ("mock_location", "rep15"),
        ("too_far", "rep17"),
        ("clock_skew", "rep20"),
        ("impossible_speed", "rep09"),
        ("drive_by", "rep08"),
        ("not_checked_out", "rep22"),
    ]:
        assert rep in flags[code], (code, flags[code])
    assert flags["mock_location"] == {"rep15"}
    assert flags["drive_by"] == {"rep08"}
    assert flags["clustered_customers"] == {"rep14"}

    anomalies = _by_rep(
        db,
        "SELECT DISTINCT a.code, u.username FROM weekly_anomalies a "
        "JOIN users u ON u.id = a.rep_id",
    )
    assert set(anomalies) >= ANOMALY_CODES, ANOMALY_CODES - set(anomalies)
    last_week = history.last_complete_day - timedelta(days=6)
    in_last_week = _by_rep(
        db,
        "SELECT a.code, u.username FROM weekly_anomalies a "
        "JOIN users u ON u.id = a.rep_id WHERE a.week_start = :w",
        w=last_week,
    )
    assert "rep07" in in_last_week["short_visits_spike"]
    assert "rep10" in in_last_week["visit_count_outlier"]
    assert "rep12" in in_last_week["low_visit_rate"]
    assert anomalies["low_visit_rate"] == {"rep12"}
    assert anomalies["short_visits_spike"] == {"rep07"}

    total, flagged = db.execute(
        text(
            "SELECT count(*), count(*) FILTER (WHERE EXISTS (SELECT 1 FROM visit_flags f "
            "WHERE f.visit_id = v.id)) FROM visits v"
        )
    ).one()
    assert flagged < 0.25 * total, (flagged, total)
    rate = db.execute(text("SELECT count(visit_id)::float / count(*) FROM planned_visits")).scalar()
    assert 0.85 < rate < 0.96
    # Every visit has a duration once the tracking days ran.
    assert db.execute(text("SELECT count(*) FROM visits WHERE dwell_seconds IS NULL")).scalar() == 0

    # Every rep has a GPS track on the working days of the last 14 days, with stops at the
    # customers they visit, a few unlogged visits (lunch at a warung) and gaps.
    since = history.date_to - timedelta(days=13)
    reps, days, unlogged, gaps = db.execute(
        text(
            "SELECT count(DISTINCT d.rep_id), count(*), "
            "  (SELECT count(*) FROM rep_stops s WHERE s.day >= :since "
            "   AND s.customer_id IS NOT NULL AND s.visit_id IS NULL), "
            "  sum(jsonb_array_length(d.gaps)) "
            "FROM rep_days d WHERE d.day >= :since AND d.accepted_count > 0"
        ),
        {"since": since},
    ).one()
    assert reps == 24, reps
    assert days >= 24 * 8, days  # rep10 is off sick some of them
    assert unlogged >= 20 and gaps >= 3, (unlogged, gaps)
    # City driving: a day is tens of km, never hundreds; the stops are the visits.
    km = db.execute(
        text(
            "SELECT min(distance_m), max(distance_m) FROM rep_days WHERE day >= :since "
            "AND accepted_count > 100"
        ),
        {"since": since},
    ).one()
    assert km[0] > 3_000 and km[1] < 150_000, km
    matched = db.execute(
        text(
            "SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM rep_stops s "
            "WHERE s.visit_id = v.id))::float / count(*) FROM visits v "
            "WHERE v.local_day >= :since"
        ),
        {"since": since},
    ).scalar()
    assert matched > 0.9, matched

    # Today so far: the reps are out, with visits and positions up to "now".
    visits_today, last_ping, open_visits = db.execute(
        text(
            "SELECT count(*), (SELECT max(at) FROM pings WHERE at >= :start), "
            "count(*) FILTER (WHERE check_out_at IS NULL) FROM visits WHERE local_day = :day"
        ),
        {"day": now.date(), "start": now - timedelta(hours=6)},
    ).one()
    assert visits_today >= 24 * 3, visits_today
    assert open_visits >= 1  # someone is at a shop right now (no check-out yet)
    assert now - timedelta(minutes=2) < last_ping <= now
    assert (
        db.execute(
            text("SELECT count(*) FROM visits WHERE local_day = :day AND check_in_at > :now"),
            {"day": now.date(), "now": now},
        ).scalar()
        == 0
    )

    before = _counts(db)
    assert not seed_demo(db).created
    assert not generate_history(db).created
    assert _counts(db) == before
