"""Bulk import of journey plans and planned visits (sfa/plans/imports.py): history
allowed, a reason for every rejected row, nothing stored twice on re-import."""

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from sfa.anomalies import jobs as anomaly_jobs
from sfa.auth import service as auth_service
from sfa.errors import Forbidden, InvalidInput
from sfa.plans import import_file, imports
from sfa.plans import service as plan_service
from sfa.plans.models import JourneyPlan, PlannedVisit
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn, Position

ROOT = Path(__file__).resolve().parents[2]
HEADER = "kind,rep,customer,weekday,every_n_weeks,anchor_week,valid_from,valid_to,day\n"


def monday(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


@pytest.fixture
def admin(db, world):
    return auth_service.principal_for_user(db, world.admin)


@pytest.fixture
def today(db, world):
    return plan_service.company_today(db)


def run(db, admin, body: str, fmt="csv", **kwargs) -> imports.ImportResult:
    rows = import_file.read_rows(body.encode(), fmt)
    result = imports.import_plans(db, principal=admin, rows=rows, **kwargs)
    db.commit()
    return result


def days_of(db, rep, source=None) -> list[date]:
    stmt = select(PlannedVisit.day).where(PlannedVisit.rep_id == rep.id)
    if source:
        stmt = stmt.where(PlannedVisit.source == source)
    return sorted(db.scalars(stmt))


def history_file(today: date) -> str:
    """A Tuesday plan of the 10 weeks before this one, and two dated visits (one of them
    in the past)."""
    start = monday(today) - timedelta(weeks=10)
    end = monday(today) - timedelta(days=1)
    return HEADER + (
        f"journey_plan,rep.a,A001,2,1,,{start},{end},\n"
        f"planned_visit,rep.a2,A001,,,,,,{today - timedelta(days=30)}\n"
        f"planned_visit,rep.a2,A001,,,,,,{today + timedelta(days=3)}\n"
    )


def test_history_is_imported_expanded_and_fulfilled(db, world, admin, today):
    start = monday(today) - timedelta(weeks=10)
    tuesdays = [start + timedelta(weeks=w, days=1) for w in range(10)]
    # A check-in stored before the import, on the last planned Tuesday (days ago).
    rep = auth_service.principal_for_user(db, world.rep_a)
    at = datetime.combine(tuesdays[-1], time(3), tzinfo=UTC)
    visit, _ = visit_service.check_in(
        db,
        principal=rep,
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=world.customer_a.id,
            position=Position(at=at, lat=-6.2, lon=106.8),
        ),
        now=at + timedelta(minutes=1),
    )
    db.commit()

    result = run(db, admin, history_file(today))

    assert (result.rows, result.journey_plans_created, result.journey_plans_unchanged) == (3, 1, 0)
    assert result.planned_visits_created == 10 + 2 and result.rejected == []
    assert result.fulfilled == 1
    assert days_of(db, world.rep_a) == tuesdays  # the whole past validity, nothing after
    fulfilled = db.scalar(select(PlannedVisit).where(PlannedVisit.day == tuesdays[-1]))
    assert fulfilled.visit_id == visit.id and fulfilled.source == "journey"
    assert days_of(db, world.rep_a2, source="imported") == [
        today - timedelta(days=30),
        today + timedelta(days=3),
    ]
    # The past days are handed to the refresh job; the future one has nothing to report.
    stale = set(
        db.scalars(
            text("SELECT day FROM rep_days WHERE flags_dirty AND rep_id = ANY(:reps)"),
            {"reps": [world.rep_a.id, world.rep_a2.id]},
        )
    )
    assert set(tuesdays) | {today - timedelta(days=30)} <= stale
    assert today + timedelta(days=3) not in stale
    # ... which then has the plan compliance of the past: ten planned, one done.
    anomaly_jobs.refresh_dirty(db)
    planned, done = db.execute(
        text("SELECT sum(planned), sum(planned_done) FROM rep_weeks WHERE rep_id = :rep"),
        {"rep": world.rep_a.id},
    ).one()
    assert (planned, done) == (10, 1)


def test_importing_the_same_file_again_stores_nothing_twice(db, world, admin, today):
    first = run(db, admin, history_file(today))
    plans = db.scalar(select(text("count(*)")).select_from(JourneyPlan))
    planned = db.scalar(select(text("count(*)")).select_from(PlannedVisit))
    again = run(db, admin, history_file(today))
    assert first.journey_plans_created == 1 and first.planned_visits_created == 12
    assert (again.journey_plans_created, again.journey_plans_unchanged) == (0, 1)
    assert (again.planned_visits_created, again.planned_visits_unchanged) == (0, 2)
    assert db.scalar(select(text("count(*)")).select_from(JourneyPlan)) == plans
    assert db.scalar(select(text("count(*)")).select_from(PlannedVisit)) == planned


def test_every_bad_row_has_its_reason_and_the_good_ones_are_stored(db, world, admin, today):
    world.rep_a2.is_active = False
    db.commit()
    past, soon = today - timedelta(days=20), today + timedelta(days=2)
    body = HEADER + "\n".join(
        [
            f"planned_visit,rep.a,A001,,,,,,{past}",  # good
            f"visit,rep.a,A001,,,,,,{past}",  # unknown kind
            f"planned_visit,nobody,A001,,,,,,{past}",
            f"planned_visit,manager.a,A001,,,,,,{past}",  # not a rep
            f"planned_visit,rep.a,NOPE,,,,,,{past}",
            f"planned_visit,rep.a,B001,,,,,,{past}",  # another team's customer
            f"planned_visit,rep.a,A001,,,,,,{today - timedelta(days=4000)}",
            "planned_visit,rep.a,A001,,,,,,not-a-date",
            f"planned_visit,rep.a2,A001,,,,,,{past}",  # a rep who left: history is fine
            f"planned_visit,rep.a2,A001,,,,,,{soon}",  # ... the future is not
            f"journey_plan,rep.a,A001,8,1,,{past},,",
            f"journey_plan,rep.a,A001,2,1,{monday(past) + timedelta(days=2)},{past},,",
            f"journey_plan,rep.a,A001,2,1,,{past},{past - timedelta(days=1)},",
            f"planned_visit,rep.a,A001,,,,,,{past},extra",
        ]
    )
    result = run(db, admin, body)
    reasons = {raw.line: reason for raw, reason in result.rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15]
    assert "kind must be one of journey_plan, planned_visit" in reasons[3]
    assert reasons[4] == "rep 'nobody' is not a rep's username"
    assert reasons[5] == "rep 'manager.a' is not a rep's username"
    assert reasons[6] == "customer code 'NOPE' does not exist"
    assert reasons[7] == "customer 'B001' is not in the territory of the team of rep 'rep.a'"
    assert reasons[8].startswith("day ") and "is outside" in reasons[8]
    assert reasons[9].startswith("day: ")
    assert reasons[11] == "rep 'rep.a2' is deactivated"
    assert reasons[12].startswith("weekday: ")
    assert "is a Wednesday, not a Monday" in reasons[13]
    assert "is before valid_from" in reasons[14]
    assert reasons[15] == "the row has more cells than the header has columns"
    assert result.planned_visits_created == 2  # rep.a's and rep.a2's past visit
    assert days_of(db, world.rep_a) == [past] and days_of(db, world.rep_a2) == [past]


def test_json_rows_and_a_dry_run(db, world, admin, today):
    rows = [
        {"kind": "planned_visit", "rep": "rep.a", "customer": "A001", "day": str(today)},
        {"kind": "planned_visit", "rep": "rep.a", "customer": "A001", "day": "yesterday"},
        "not an object",
    ]
    dry = run(db, admin, json.dumps(rows), fmt="json", dry_run=True)
    assert dry.dry_run and dry.planned_visits_created == 1
    assert [(raw.index, raw.line) for raw, _ in dry.rejected] == [(1, None), (2, None)]
    assert days_of(db, world.rep_a) == []  # nothing stored
    real = run(db, admin, json.dumps(rows), fmt="json")
    assert real.planned_visits_created == 1 and days_of(db, world.rep_a) == [today]


def test_the_file_itself_must_be_readable(db, world, admin):
    with pytest.raises(InvalidInput, match="columns"):
        import_file.read_rows(b"rep,customer,colour\nrep.a,A001,red\n", "csv")
    with pytest.raises(InvalidInput, match="no rows"):
        import_file.read_rows(HEADER.encode(), "csv")
    with pytest.raises(InvalidInput, match="not valid JSON"):
        import_file.read_rows(b"[{", "json")
    with pytest.raises(InvalidInput, match="array"):
        import_file.read_rows(b'{"kind": "planned_visit"}', "json")


def test_only_company_wide_planners_import(db, world):
    for who in (world.manager_a, world.rep_a):
        principal = auth_service.principal_for_user(db, who)
        with pytest.raises(Forbidden):
            imports.import_plans(db, principal=principal, rows=[])


def test_the_documented_example_file_is_valid(db, world):
    """docs/examples/plans-import.csv parses row by row without a rejection."""
    rows = import_file.read_rows(
        (ROOT / "docs" / "examples" / "plans-import.csv").read_bytes(), "csv"
    )
    kinds = {import_file.parse_row(raw).kind for raw in rows}
    assert kinds == {"journey_plan", "planned_visit"}
