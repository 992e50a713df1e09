"""Reports against a realistic volume: a month of a 50-rep team.

The team-days report must answer from the day aggregates alone; this checks what it
returns and, through EXPLAIN, which tables its statements touch (timings belong in the
benchmarks, not here).
"""

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import event, text

from analytics import reports
from factories import make_user
from sfa.auth import service as auth_service
from sfa.errors import InvalidInput, NotFound
from sfa.users.models import Role, Team

REPS = 50
MONTH = [date(2026, 10, 1) + timedelta(days=i) for i in range(31)]

# One INSERT for the whole month: a rep_days row per rep per day with numbers derived
# from (rep index r, day index d) so every row can be checked.
_FILL_MONTH = """
INSERT INTO rep_days (rep_id, day, dirty, flags_dirty, distance_m, coverage, ping_count,
                      accepted_count, rejected, gaps, trips, visits, verified_visits,
                      dwell_seconds, flagged_visits, flag_counts, planned, planned_done,
                      first_at, last_at, first_activity_at, last_activity_at)
SELECT rep.id, CAST(:first_day AS date) + d, false, false,
       1000.0 * r + d, 0.5 + d / 100.0, 0, 0, '{}', '[]', '[]',
       10 + (r + d) % 7, 10 + (r + d) % 7 - (r % 3), 600 * (10 + (r + d) % 7),
       (r + d) % 3,
       CASE WHEN (r + d) % 3 = 0 THEN '{}'::jsonb
            ELSE jsonb_build_object('too_far', (r + d) % 3, 'rapid_visits', 1) END,
       12, 10 + (r + d) % 3,
       NULL, NULL,
       ((CAST(:first_day AS date) + d) + time '01:00' + make_interval(mins => r::int))
           AT TIME ZONE 'UTC',
       ((CAST(:first_day AS date) + d) + time '10:00') AT TIME ZONE 'UTC'
FROM unnest(CAST(:rep_ids AS bigint[])) WITH ORDINALITY AS rep(id, r)
CROSS JOIN generate_series(0, :days - 1) AS d
"""


def every_row(db, report: reports.Report) -> list[dict]:
    return [row for batch in report.batches(db) for row in batch]


def expected(r: int, d: int) -> dict:
    """The row _FILL_MONTH writes for rep index r (1-based) and day index d."""
    visits = 10 + (r + d) % 7
    flagged = (r + d) % 3
    return {
        "distance_m": round(1000.0 * r + d, 1),
        "coverage": round(0.5 + d / 100, 4),
        "visits": visits,
        "verified_visits": visits - r % 3,
        "dwell_seconds": 600 * visits,
        "flagged_visits": flagged,
        "flag_counts": {"rapid_visits": 1, "too_far": flagged} if flagged else {},
        "planned": 12,
        "planned_done": 10 + (r + d) % 3,
    }


@pytest.fixture
def month(db):
    """Team "Field" with 50 reps, another team with 2, and 31 days of rep_days each."""
    manager = make_user(db, "manager.field", Role.manager)
    field, other = Team(name="Field", manager_id=manager.id), Team(name="Other")
    db.add_all([field, other])
    db.flush()
    reps = [make_user(db, f"field.{i:02d}", Role.rep, field) for i in range(1, REPS + 1)]
    others = [make_user(db, f"other.{i}", Role.rep, other) for i in range(1, 3)]
    for group in (reps, others):
        db.execute(
            text(_FILL_MONTH),
            {"first_day": MONTH[0], "days": len(MONTH), "rep_ids": [u.id for u in group]},
        )
    db.flush()
    return {
        "manager": auth_service.principal_for_user(db, manager),
        "team": field,
        "other": other,
        "reps": reps,
    }


def test_a_month_of_a_50_rep_team(db, month):
    filters = reports.make_filters(team_id=month["team"].id, date_from=MONTH[0], date_to=MONTH[-1])
    rows = every_row(db, reports.team_days(db, principal=month["manager"], filters=filters))
    assert len(rows) == REPS * 31
    # By day, then rep: the reps' usernames sort like their index.
    assert [(row["day"], row["rep_username"]) for row in rows] == [
        (day, f"field.{r:02d}") for day in MONTH for r in range(1, REPS + 1)
    ]
    for row in rows:
        r, d = int(row["rep_username"][-2:]), (row["day"] - MONTH[0]).days
        want = expected(r, d)
        assert {k: row[k] for k in want} == want, (r, d)
        assert row["team_name"] == "Field"
        assert row["verified_share"] == round(want["verified_visits"] / want["visits"], 4)
        local = row["first_activity_at"]
        assert local.utcoffset() == timedelta(hours=7)  # Asia/Jakarta
        assert local == datetime.combine(row["day"], datetime.min.time(), UTC) + timedelta(
            hours=1, minutes=r
        )
        assert row["pending_recompute"] is False
    assert sum(row["visits"] for row in rows) == sum(
        expected(r, d)["visits"] for r in range(1, REPS + 1) for d in range(31)
    )


def test_pages_of_the_month_add_up_to_the_export(db, month):
    filters = reports.make_filters(team_id=month["team"].id, week="2026-W41")  # Oct 5-11
    report = reports.team_days(db, principal=month["manager"], filters=filters)
    # Batches smaller than the export: the server-side cursor is read several times.
    batches = list(report.batches(db, size=60))
    assert [len(b) for b in batches] == [60] * 5 + [50]
    export = [row for batch in batches for row in batch]
    assert len(export) == REPS * 7
    assert {row["day"] for row in export} == {
        date(2026, 10, 5) + timedelta(days=i) for i in range(7)
    }
    pages, offset = [], 0
    while offset is not None:
        page = report.page(db, limit=120, offset=offset)
        assert page.total == REPS * 7
        pages.extend(page.items)
        offset = page.next_offset
    assert pages == export


def test_the_manager_sees_only_their_team(db, month):
    everything = every_row(
        db, reports.team_days(db, principal=month["manager"], filters=reports.make_filters())
    )
    assert len(everything) == REPS * 31
    assert {row["team_name"] for row in everything} == {"Field"}
    with pytest.raises(NotFound):
        reports.team_days(
            db, principal=month["manager"], filters=reports.make_filters(team_id=month["other"].id)
        )


def test_plan_compliance_of_the_month(db, month):
    by_day = reports.plan_compliance(
        db,
        principal=month["manager"],
        by="day",
        filters=reports.make_filters(
            rep_id=month["reps"][0].id, date_from=MONTH[0], date_to=MONTH[-1]
        ),
    )
    assert [
        (row["day"], row["planned"], row["done"], row["rate"]) for row in every_row(db, by_day)
    ] == [
        (day, 12, 10 + (1 + d) % 3, round((10 + (1 + d) % 3) / 12, 4))
        for d, day in enumerate(MONTH)
    ]


def _relations(plan) -> set[str]:
    found = set()
    if isinstance(plan, dict):
        if "Relation Name" in plan:
            found.add(plan["Relation Name"])
        for value in plan.values():
            found |= _relations(value)
    elif isinstance(plan, list):
        for value in plan:
            found |= _relations(value)
    return found


def test_team_days_reads_only_the_day_aggregates(db, month):
    """Every statement the report runs, explained: no visits, pings or flags."""
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    connection = db.connection()
    event.listen(connection, "before_cursor_execute", capture)
    try:
        reports.team_days(
            db,
            principal=month["manager"],
            filters=reports.make_filters(
                team_id=month["team"].id, date_from=MONTH[0], date_to=MONTH[-1]
            ),
        ).page(db, limit=50)
    finally:
        event.remove(connection, "before_cursor_execute", capture)
    touched = set()
    for statement, parameters in statements:
        plan = connection.exec_driver_sql(
            "EXPLAIN (FORMAT JSON) " + statement, parameters
        ).scalar_one()
        touched |= _relations(plan)
    assert "rep_days" in touched
    assert touched <= {"rep_days", "users", "teams", "company_settings"}, touched


@pytest.mark.parametrize(
    ("value", "monday", "label"),
    [
        ("2026-W47", date(2026, 11, 16), "2026-W47"),
        ("2026w47", date(2026, 11, 16), "2026-W47"),
        ("2026-W1", date(2025, 12, 29), "2026-W01"),
        ("2026-W53", date(2026, 12, 28), "2026-W53"),
        ("2026-11-22", date(2026, 11, 16), "2026-W47"),
        ("2027-01-01", date(2026, 12, 28), "2026-W53"),
    ],
)
def test_parse_week(value, monday, label):
    assert reports.parse_week(value, name="week") == monday
    assert reports.iso_week_label(monday) == label


@pytest.mark.parametrize("value", ["2025-W53", "2026-W00", "2026-W54", "W47", "2026-47", ""])
def test_parse_week_refuses(value):
    with pytest.raises(InvalidInput, match="ISO week"):
        reports.parse_week(value, name="week")
