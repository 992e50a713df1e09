"""Manager reports over HTTP: content, visibility, filters, pagination, CSV, languages.

The rows the reports read (visit flags, trust scores, rep_days, rep_weeks, weekly
anomalies) are inserted directly, as the analytics jobs would leave them: these tests do
not depend on how they are computed.
"""

import csv
import io
import json
import uuid
from datetime import UTC, date, datetime

import pytest

from factories import auth_header, make_user
from sfa.anomalies.models import RepWeek, WeeklyAnomaly
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.tracking.models import RepDay
from sfa.users.models import Role
from sfa.visits.flags import make_flag
from sfa.visits.models import VerificationStatus, Visit, VisitFlag

W47 = date(2026, 11, 16)  # Monday of 2026-W47
W48 = date(2026, 11, 23)
REPORTS = ["suspicious-visits", "weekly-anomalies", "plan-compliance", "team-days"]


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def rapid_flag():
    return dict(
        code="rapid_visits",
        numbers={"visits": 4, "window_minutes": 30},
        reason_en="4 visits started within 30 min.",
        reason_id="4 kunjungan dimulai dalam 30 menit.",
    )


def add_visit(
    db,
    rep,
    customer,
    check_in_at,
    *,
    status=VerificationStatus.verified,
    trust=None,
    flags=(),
    distance=None,
):
    visit = Visit(
        rep_id=rep.id,
        client_id=uuid.uuid4(),
        request_hash="x" * 64,
        customer_id=customer.id,
        check_in_at=check_in_at,
        check_out_at=check_in_at.replace(minute=check_in_at.minute + 20),
        dwell_seconds=1200,
        verification_status=status,
        distance_to_customer_m=distance,
        local_day=check_in_at.date(),
        trust_score=trust,
    )
    db.add(visit)
    db.flush()
    for flag in flags:
        data = flag if isinstance(flag, dict) else vars(flag)
        db.add(VisitFlag(visit_id=visit.id, rep_id=rep.id, **data))
    db.flush()
    return visit


def day_row(rep, day, **values):
    defaults = dict(
        dirty=False,
        flags_dirty=False,
        distance_m=0,
        coverage=0,
        ping_count=0,
        accepted_count=0,
        rejected={},
        gaps=[],
        trips=[],
        visits=0,
        verified_visits=0,
        dwell_seconds=0,
        flagged_visits=0,
        flag_counts={},
        planned=0,
        planned_done=0,
    )
    return RepDay(rep_id=rep.id, day=day, **(defaults | values))


def week_row(rep, week_start, planned, done, visits=0):
    year, week, _ = week_start.isocalendar()
    return RepWeek(
        rep_id=rep.id,
        week_start=week_start,
        iso_year=year,
        iso_week=week,
        visits=visits,
        short_visits=0,
        planned=planned,
        planned_done=done,
    )


@pytest.fixture
def data(db, world):
    """Flagged and clean visits, days, weeks and anomalies of team A (rep_a, rep_a2) and
    team B (rep_b). Times: Jakarta is UTC+7, so 02:00 UTC is 09:00 local."""
    w = world
    too_far = make_flag("too_far", distance_m=350.0, radius_m=300.0)
    skew = make_flag("clock_skew", skew_minutes=14.5, limit_minutes=10)
    mock = make_flag("mock_location")
    v = {
        "a_far": add_visit(
            db,
            w.rep_a,
            w.customer_a,
            utc(W47, 2),
            trust=60,
            distance=350.04,
            status=VerificationStatus.too_far,
            flags=[too_far, skew],
        ),
        "a_rapid": add_visit(
            db,
            w.rep_a,
            w.customer_a,
            utc(date(2026, 11, 17), 3),
            trust=80,
            distance=12.0,
            flags=[rapid_flag()],
        ),
        "a_clean": add_visit(
            db, w.rep_a, w.customer_a, utc(date(2026, 11, 17), 5), trust=100, distance=10.0
        ),
        "a_mock": add_visit(
            db,
            w.rep_a,
            w.customer_a,
            utc(date(2026, 11, 24), 4),
            trust=0,
            status=VerificationStatus.mock_location,
            flags=[mock],
        ),
        "a2_far": add_visit(
            db,
            w.rep_a2,
            w.customer_a,
            utc(date(2026, 11, 18), 6),
            status=VerificationStatus.too_far,
            distance=350.0,
            flags=[too_far],
        ),  # not scored yet
        "b_mock": add_visit(
            db,
            w.rep_b,
            w.customer_b,
            utc(W47, 2),
            trust=10,
            status=VerificationStatus.mock_location,
            flags=[mock],
        ),
    }
    db.add_all(
        [
            day_row(
                w.rep_a,
                W47,
                visits=5,
                verified_visits=4,
                distance_m=12345.678,
                coverage=0.81234567,
                dwell_seconds=3600,
                flagged_visits=2,
                flag_counts={"too_far": 1, "clock_skew": 1},
                planned=6,
                planned_done=5,
                first_at=utc(W47, 0, 30),
                last_at=utc(W47, 10),
                first_activity_at=utc(W47, 1),
                last_activity_at=utc(W47, 10, 30),
            ),
            # The visit side not computed yet: activity falls back to the pings, flagged dirty.
            day_row(
                w.rep_a,
                date(2026, 11, 17),
                dirty=True,
                flags_dirty=True,
                distance_m=500,
                first_at=utc(date(2026, 11, 17), 2),
                last_at=utc(date(2026, 11, 17), 3),
            ),
            day_row(
                w.rep_a2,
                W47,
                visits=3,
                verified_visits=3,
                distance_m=800.0,
                coverage=0.5,
                dwell_seconds=1800,
                flagged_visits=2,
                flag_counts={"rapid_visits": 2},
                planned=4,
                planned_done=2,
            ),
            day_row(
                w.rep_b,
                W47,
                visits=7,
                verified_visits=1,
                distance_m=9000.0,
                flag_counts={"mock_location": 1},
                flagged_visits=1,
                planned=3,
                planned_done=3,
            ),
            week_row(w.rep_a, W47, 20, 15, visits=22),
            week_row(w.rep_a, W48, 0, 0),
            week_row(w.rep_a2, W47, 10, 10),
            week_row(w.rep_b, W47, 5, 1),
            WeeklyAnomaly(
                rep_id=w.rep_a.id,
                week_start=W47,
                code="low_visit_rate",
                numbers={"rate_pct": 75.0, "streak_weeks": 3},
                reason_en="Visit rate 75.0% below 80% for 3 weeks.",
                reason_id="Tingkat kunjungan 75.0% di bawah 80% selama 3 minggu.",
            ),
            WeeklyAnomaly(
                rep_id=w.rep_a.id,
                week_start=W48,
                code="visit_count_outlier",
                numbers={"visits": 2, "mean": 30.0, "sd": 3.0},
                reason_en="2 visits, outside 30.0 ± 6.0.",
                reason_id="2 kunjungan, di luar 30.0 ± 6.0.",
            ),
            WeeklyAnomaly(
                rep_id=w.rep_a2.id,
                week_start=W47,
                code="short_visits_spike",
                numbers={"short_visits": 9, "previous": 5},
                reason_en="Short visits rose from 5 to 9.",
                reason_id="Kunjungan singkat naik dari 5 menjadi 9.",
            ),
            WeeklyAnomaly(
                rep_id=w.rep_b.id,
                week_start=W47,
                code="low_visit_rate",
                numbers={"rate_pct": 20.0, "streak_weeks": 3},
                reason_en="Visit rate 20.0% below 80% for 3 weeks.",
                reason_id="Tingkat kunjungan 20.0% di bawah 80% selama 3 minggu.",
            ),
        ]
    )
    db.commit()
    return {name: visit.id for name, visit in v.items()}


def get(client, world, who, report, **params):
    headers = who if isinstance(who, dict) else world.headers(who)
    return client.get(f"/v1/reports/{report}", params=params, headers=headers)


def items(client, world, who, report, **params) -> list[dict]:
    response = get(client, world, who, report, limit=1000, **params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def csv_rows(client, world, who, report, **params) -> list[dict]:
    response = get(client, world, who, report, format="csv", **params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def key_of(report: str, row: dict) -> tuple:
    """What identifies a row of each report, as strings (JSON and CSV alike)."""
    fields = {
        "suspicious-visits": ("visit_id",),
        "weekly-anomalies": ("rep_id", "week", "code"),
        "plan-compliance": ("rep_id", "week", "day"),
        "team-days": ("rep_id", "day"),
    }
    return tuple("" if row[f] is None else str(row[f]) for f in fields[report])


def as_csv(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ";".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    return str(value)


def api_key(db, world, scopes) -> dict[str, str]:
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(db, actor=admin, name="bi", scopes=scopes)
    db.commit()
    return {"X-API-Key": plaintext}


# --- suspicious visits ----------------------------------------------------------------


def test_suspicious_visits_of_a_managers_teams(client, world, data):
    rows = items(client, world, "manager_a", "suspicious-visits")
    # Oldest first; the clean visit and team B's are not there.
    assert [r["visit_id"] for r in rows] == [
        data["a_far"],
        data["a_rapid"],
        data["a2_far"],
        data["a_mock"],
    ]
    far = rows[0]
    assert far | {"flags": None} == {
        "visit_id": data["a_far"],
        "rep_id": world.rep_a.id,
        "rep_username": "rep.a",
        "rep_name": "Rep.A",
        "team_id": world.team_a.id,
        "team_name": "Team A",
        "customer_id": world.customer_a.id,
        "customer_code": "A001",
        "customer_name": "Toko A001",
        "local_day": "2026-11-16",
        "check_in_at": "2026-11-16T09:00:00+07:00",
        "check_out_at": "2026-11-16T09:20:00+07:00",
        "dwell_seconds": 1200,
        "verification_status": "too_far",
        "distance_to_customer_m": 350.0,
        "trust_score": 60,
        "codes": ["clock_skew", "too_far"],
        "flags": None,
    }
    # The company language (Bahasa Indonesia by default) for the reasons.
    assert far["flags"] == [
        {
            "code": "clock_skew",
            "numbers": {"skew_minutes": 14.5, "limit_minutes": 10},
            "reason": "Jam perangkat selisih 14.5 menit (batas 10 menit).",
        },
        {
            "code": "too_far",
            "numbers": {"distance_m": 350.0, "radius_m": 300.0},
            "reason": "Check-in 350 m dari pelanggan; batas 300 m.",
        },
    ]
    assert rows[2]["trust_score"] is None  # flagged at check-in, not scored yet


def test_reasons_follow_lang_and_the_company_language(client, world, data, db):
    english = items(client, world, "manager_a", "suspicious-visits", lang="en")
    assert english[0]["flags"][1]["reason"] == "Checked in 350 m from the customer; allowed 300 m."
    bahasa = items(client, world, "manager_a", "suspicious-visits", lang="id")
    assert bahasa[0]["flags"][1]["reason"] == "Check-in 350 m dari pelanggan; batas 300 m."
    anomalies = items(client, world, "manager_a", "weekly-anomalies", lang="id")
    assert anomalies[0]["reason"].startswith("Tingkat kunjungan 75.0%")
    company_service.update_settings(db, actor="test", changes={"language": "en"})
    db.commit()
    assert items(client, world, "manager_a", "weekly-anomalies")[0]["reason"].startswith(
        "Visit rate 75.0%"
    )
    assert items(client, world, "manager_a", "suspicious-visits", lang="id")[0]["flags"][0][
        "reason"
    ].startswith("Jam perangkat")


def test_suspicious_visit_filters(client, world, data):
    def ids(**params):
        return [r["visit_id"] for r in items(client, world, "admin", "suspicious-visits", **params)]

    assert ids(team_id=world.team_b.id) == [data["b_mock"]]
    assert ids(rep_id=world.rep_a2.id) == [data["a2_far"]]
    assert ids(date_from="2026-11-17", date_to="2026-11-18") == [data["a_rapid"], data["a2_far"]]
    assert ids(date_to="2026-11-16") == [data["a_far"], data["b_mock"]]
    assert ids(week="2026-W48") == [data["a_mock"]]
    assert ids(week="2026-11-25") == [data["a_mock"]]  # a date in the week
    assert ids(week_from="2026-W47", week_to="2026-W47", team_id=world.team_a.id) == [
        data["a_far"],
        data["a_rapid"],
        data["a2_far"],
    ]
    assert ids(code="mock_location") == [data["b_mock"], data["a_mock"]]
    assert ids(code=["too_far", "rapid_visits"]) == [data["a_far"], data["a_rapid"], data["a2_far"]]
    assert ids(code="drive_by") == []
    # Scored at most 60; the unscored visit is left out.
    assert ids(max_trust=60, team_id=world.team_a.id) == [data["a_far"], data["a_mock"]]
    assert ids(max_trust=0) == [data["a_mock"]]


def test_suspicious_visits_pages(client, world, data):
    first = get(client, world, "manager_a", "suspicious-visits", limit=3).json()
    assert (first["total"], first["limit"], first["offset"], first["next_offset"]) == (4, 3, 0, 3)
    second = get(client, world, "manager_a", "suspicious-visits", limit=3, offset=3).json()
    assert (second["total"], second["next_offset"]) == (4, None)
    assert [r["visit_id"] for r in first["items"] + second["items"]] == [
        r["visit_id"] for r in items(client, world, "manager_a", "suspicious-visits")
    ]
    beyond = get(client, world, "manager_a", "suspicious-visits", offset=10).json()
    assert beyond["items"] == [] and beyond["total"] == 4


def test_suspicious_visits_csv(client, world, data):
    rows = csv_rows(client, world, "manager_a", "suspicious-visits", lang="en", limit=1)
    assert len(rows) == 4  # every row, not one page
    far = rows[0]
    assert list(far)[:3] == ["rep_id", "rep_username", "rep_name"]
    assert far["codes"] == "clock_skew;too_far"
    assert far["reasons"] == (
        "Device clock off by 14.5 min (limit 10 min). | "
        "Checked in 350 m from the customer; allowed 300 m."
    )
    assert "flags" not in far
    assert far["check_in_at"] == "2026-11-16T09:00:00+07:00"
    assert rows[2]["trust_score"] == ""


# --- weekly anomalies -----------------------------------------------------------------


def test_weekly_anomalies(client, world, data):
    rows = items(client, world, "manager_a", "weekly-anomalies", lang="en")
    assert [(r["week"], r["rep_username"], r["code"]) for r in rows] == [
        ("2026-W47", "rep.a", "low_visit_rate"),
        ("2026-W47", "rep.a2", "short_visits_spike"),
        ("2026-W48", "rep.a", "visit_count_outlier"),
    ]
    first = rows[0]
    assert first["week_start"] == "2026-11-16" and first["team_name"] == "Team A"
    assert first["numbers"] == {"rate_pct": 75.0, "streak_weeks": 3}
    assert first["reason"] == "Visit rate 75.0% below 80% for 3 weeks."

    def weeks(**params):
        return [
            (r["week"], r["code"])
            for r in items(client, world, "admin", "weekly-anomalies", **params)
        ]

    assert weeks(week_from="2026-W48") == [("2026-W48", "visit_count_outlier")]
    # Dates stand for their weeks: the 25th is in W48, the 17th in W47.
    assert weeks(week_from="2026-11-25", week_to="2026-11-25") == [
        ("2026-W48", "visit_count_outlier")
    ]
    assert weeks(week_to="2026-11-17", code="low_visit_rate") == [
        ("2026-W47", "low_visit_rate"),
        ("2026-W47", "low_visit_rate"),
    ]
    # A day range takes every week it overlaps.
    assert weeks(date_from="2026-11-22", date_to="2026-11-23", rep_id=world.rep_a.id) == [
        ("2026-W47", "low_visit_rate"),
        ("2026-W48", "visit_count_outlier"),
    ]
    assert weeks(week="2026W47", team_id=world.team_b.id) == [("2026-W47", "low_visit_rate")]


# --- plan compliance ------------------------------------------------------------------


def test_plan_compliance_by_week_and_by_day(client, world, data):
    rows = items(client, world, "manager_a", "plan-compliance")
    assert [
        (r["week"], r["rep_username"], r["planned"], r["done"], r["rate"], r["day"]) for r in rows
    ] == [
        ("2026-W47", "rep.a", 20, 15, 0.75, None),
        ("2026-W47", "rep.a2", 10, 10, 1.0, None),
        ("2026-W48", "rep.a", 0, 0, None, None),
    ]
    days = items(client, world, "manager_a", "plan-compliance", by="day")
    assert [
        (r["day"], r["week"], r["rep_username"], r["planned"], r["done"], r["rate"]) for r in days
    ] == [
        ("2026-11-16", "2026-W47", "rep.a", 6, 5, 0.8333),
        ("2026-11-16", "2026-W47", "rep.a2", 4, 2, 0.5),
        ("2026-11-17", "2026-W47", "rep.a", 0, 0, None),
    ]
    assert [
        r["rep_username"] for r in items(client, world, "admin", "plan-compliance", week="2026-W47")
    ] == ["rep.a", "rep.a2", "rep.b"]
    assert items(client, world, "admin", "plan-compliance", by="day", date_from="2026-11-17") == [
        days[2]
    ]


# --- team days ------------------------------------------------------------------------


def test_team_days(client, world, data):
    rows = items(
        client, world, "manager_a", "team-days", date_from="2026-11-16", date_to="2026-11-30"
    )
    assert [(r["day"], r["rep_username"]) for r in rows] == [
        ("2026-11-16", "rep.a"),
        ("2026-11-16", "rep.a2"),
        ("2026-11-17", "rep.a"),
    ]
    assert rows[0] == {
        "rep_id": world.rep_a.id,
        "rep_username": "rep.a",
        "rep_name": "Rep.A",
        "team_id": world.team_a.id,
        "team_name": "Team A",
        "day": "2026-11-16",
        "visits": 5,
        "verified_visits": 4,
        "verified_share": 0.8,
        "distance_m": 12345.7,
        "coverage": 0.8123,
        "dwell_seconds": 3600,
        "first_activity_at": "2026-11-16T08:00:00+07:00",
        "last_activity_at": "2026-11-16T17:30:00+07:00",
        "flagged_visits": 2,
        "flag_counts": {"clock_skew": 1, "too_far": 1},
        "planned": 6,
        "planned_done": 5,
        "pending_recompute": False,
    }
    pending = rows[2]
    assert pending["pending_recompute"] is True and pending["verified_share"] is None
    assert pending["first_activity_at"] == "2026-11-17T09:00:00+07:00"  # first ping

    table = csv_rows(client, world, "manager_a", "team-days")
    # A column per flag code seen, 0 where a rep had none of it.
    assert [
        (r["rep_username"], r["flags.clock_skew"], r["flags.rapid_visits"], r["flags.too_far"])
        for r in table
    ] == [("rep.a", "1", "0", "1"), ("rep.a2", "0", "2", "0"), ("rep.a", "0", "0", "0")]
    assert "flag_counts" not in table[0]


# --- every report ---------------------------------------------------------------------


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("who", ["admin", "manager_a", "manager_b", "rep_a"])
def test_json_and_csv_have_the_same_rows_and_numbers(client, world, data, report, who):
    json_rows = {key_of(report, r): r for r in items(client, world, who, report)}
    table = csv_rows(client, world, who, report)
    assert len(table) == len(json_rows) > 0
    for row in table:
        item = json_rows[key_of(report, row)]
        for key, value in item.items():
            if key == "flags":
                assert row["reasons"] == " | ".join(f["reason"] for f in value)
            elif key == "flag_counts":
                for code, n in value.items():
                    assert row[f"flags.{code}"] == str(n)
            else:
                assert row[key] == as_csv(value), (key, row[key], value)


@pytest.mark.parametrize("report", REPORTS)
def test_each_sees_only_their_reps(client, world, data, db, report):
    def reps(who):
        return {r["rep_id"] for r in items(client, world, who, report)}

    team_a = {world.rep_a.id, world.rep_a2.id}
    assert reps("admin") == team_a | {world.rep_b.id}
    assert reps("manager_a") == team_a
    assert reps("manager_b") == {world.rep_b.id}
    assert reps("rep_a") == {world.rep_a.id}
    assert reps("rep_b") == {world.rep_b.id}
    # A rep naming their own team still sees only themself.
    assert {
        r["rep_id"] for r in items(client, world, "rep_a", report, team_id=world.team_a.id)
    } == {world.rep_a.id}
    # Company-wide API key with the scope: everything; without it: refused.
    assert reps(api_key(db, world, ["reports:read"])) == team_a | {world.rep_b.id}
    refused = get(client, world, api_key(db, world, ["customers:read"]), report)
    assert refused.status_code == 403 and "reports:read" in refused.json()["error"]["message"]


@pytest.mark.parametrize("report", REPORTS)
def test_a_manager_without_teams_sees_nothing(client, world, data, db, report):
    lonely = make_user(db, "manager.c", Role.manager)
    db.commit()
    response = get(client, world, auth_header(lonely), report)
    assert response.status_code == 200 and response.json()["total"] == 0


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize(
    ("who", "params", "status", "words"),
    [
        ("manager_a", {"team_id": "{team_b}"}, 404, "team"),
        ("manager_b", {"team_id": "{team_a}"}, 404, "team"),
        ("manager_a", {"team_id": 987654}, 404, "does not exist"),
        ("manager_a", {"rep_id": "{rep_b}"}, 404, "rep"),
        ("rep_a", {"rep_id": "{rep_a2}"}, 404, "rep"),
        ("rep_a", {"team_id": "{team_b}"}, 404, "team"),
        ("admin", {"rep_id": "{manager_a}"}, 404, "rep"),
        ("admin", {"date_from": "2026-11-30", "date_to": "2026-11-01"}, 422, "before it starts"),
        ("admin", {"week_from": "2026-W48", "week_to": "2026-W47"}, 422, "before it starts"),
        ("admin", {"week": "2026-W60"}, 422, "ISO week"),
        ("admin", {"week": "2025-W53"}, 422, "ISO week"),  # 2025 has 52 weeks
        ("admin", {"week_from": "last week"}, 422, "week_from"),
        ("admin", {"week": "2026-W47", "date_from": "2026-11-16"}, 422, "one way only"),
        ("admin", {"date_from": "2026-13-01"}, 422, "date_from"),
        ("admin", {"format": "geojson"}, 422, "format"),
        ("admin", {"limit": 0}, 422, "limit"),
        ("admin", {"offset": -1}, 422, "offset"),
    ],
)
def test_bad_filters_are_clear_4xx(client, world, data, report, who, params, status, words):
    ids = {
        "team_a": world.team_a.id,
        "team_b": world.team_b.id,
        "rep_a2": world.rep_a2.id,
        "rep_b": world.rep_b.id,
        "manager_a": world.manager_a.id,
    }
    filled = {
        k: ids[v[1:-1]] if isinstance(v, str) and v.startswith("{") else v
        for k, v in params.items()
    }
    response = get(client, world, who, report, **filled)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert words in error["message"], error
    if status == 422 and "hint" in error:
        assert error["hint"]


@pytest.mark.parametrize(
    ("report", "params", "words"),
    [
        ("suspicious-visits", {"lang": "fr"}, "lang"),
        ("suspicious-visits", {"max_trust": 101}, "max_trust"),
        ("weekly-anomalies", {"lang": "de"}, "lang"),
        ("plan-compliance", {"by": "month"}, "by"),
    ],
)
def test_report_specific_bad_parameters(client, world, data, report, params, words):
    response = get(client, world, "admin", report, **params)
    assert response.status_code == 422 and words in response.json()["error"]["message"]


def test_reports_need_authentication(client, world):
    for report in REPORTS:
        assert client.get(f"/v1/reports/{report}").status_code == 401
