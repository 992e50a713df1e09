"""The field domains emit their events in the transaction of the change: a check-in, a
check-out, new visit flags, a new customer or location, a weekly anomaly, a missed
planned visit. Each action is done the product's way (service or job); its event is
there once, with the right subject, actor and payload; a replay (the same request, the
job again) writes nothing; a failed action leaves none."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from factories import make_customer, make_rep_weeks, make_visit
from sfa.anomalies import jobs as anomaly_jobs
from sfa.anomalies import service as anomaly_service
from sfa.anomalies.models import RepWeek
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.customers import locations
from sfa.customers import service as customer_service
from sfa.errors import Conflict, InvalidInput
from sfa.events.models import DomainEvent
from sfa.events.types import (
    ANOMALY_DETECTED,
    CUSTOMER_CREATED,
    CUSTOMER_LOCATION_CHANGED,
    PLANNED_VISIT_MISSED,
    VISIT_CHECKED_IN,
    VISIT_CHECKED_OUT,
    VISIT_FLAGGED,
)
from sfa.plans import jobs as plan_jobs
from sfa.plans.models import PlannedVisit
from sfa.tracking import days
from sfa.visits import indicators
from sfa.visits import service as visit_service
from sfa.visits.repository import Scope
from sfa.visits.service import CheckIn, Position

DAY = date(2026, 11, 17)
T0 = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
SHOP = (-6.2000, 106.8000)  # world.customer_a


def events_of(db, event_type: str, subject_id: object | None = None) -> list[DomainEvent]:
    stmt = select(DomainEvent).where(DomainEvent.type == event_type).order_by(DomainEvent.id)
    if subject_id is not None:
        stmt = stmt.where(DomainEvent.subject_id == str(subject_id))
    db.flush()
    return list(db.scalars(stmt))


def only_event(db, event_type: str, subject_id: object) -> DomainEvent:
    found = events_of(db, event_type, subject_id)
    assert len(found) == 1, [e.payload for e in found]
    return found[0]


@pytest.fixture
def rep(db, world):
    return auth_service.principal_for_user(db, world.rep_a)


def check_in(db, rep, customer_id, *, client_id=None, at=T0, lat=SHOP[0], sent_at=None, mock=False):
    data = CheckIn(
        client_id=client_id or uuid.uuid4(),
        customer_id=customer_id,
        position=Position(at=at, lat=lat, lon=SHOP[1], accuracy_m=8, mock=mock),
        sent_at=sent_at,
    )
    return visit_service.check_in(db, principal=rep, data=data, now=NOW)


def check_out(db, rep, visit, minutes):
    return visit_service.check_out(
        db,
        principal=rep,
        visit_id=visit.id,
        position=Position(at=visit.check_in_at + timedelta(minutes=minutes)),
        now=NOW,
    )


# --- visits ----------------------------------------------------------------------------


def test_a_check_in_emits_checked_in_once_whatever_the_retries(db, world, rep):
    client_id = uuid.uuid4()
    visit, created = check_in(db, rep, world.customer_a.id, client_id=client_id)
    assert created
    event = only_event(db, VISIT_CHECKED_IN, visit.id)
    assert (event.subject_kind, event.actor_kind, event.actor_id) == (
        "visit",
        "user",
        str(world.rep_a.id),
    )
    assert event.payload["visit_id"] == visit.id
    assert event.payload["rep_id"] == world.rep_a.id
    assert event.payload["customer_id"] == world.customer_a.id
    assert event.payload["verification_status"] == "verified"
    assert event.payload["flags"] == []
    assert datetime.fromisoformat(event.payload["at"]) == T0
    # A clean check-in is not flagged.
    assert events_of(db, VISIT_FLAGGED, visit.id) == []

    again, created = check_in(db, rep, world.customer_a.id, client_id=client_id)
    assert (again.id, created) == (visit.id, False)
    assert len(events_of(db, VISIT_CHECKED_IN, visit.id)) == 1


def test_a_flagged_check_in_emits_flagged_with_its_check_in_flags(db, world, rep):
    # 1.1 km from the shop, sent by a phone whose clock is two hours behind.
    visit, _ = check_in(db, rep, world.customer_a.id, lat=-6.21, sent_at=NOW - timedelta(hours=2))
    checked_in = only_event(db, VISIT_CHECKED_IN, visit.id)
    assert checked_in.payload["flags"] == ["clock_skew", "too_far"]
    assert checked_in.payload["verification_status"] == "too_far"
    assert checked_in.payload["distance_to_customer_m"] == pytest.approx(1106, abs=5)
    flagged = only_event(db, VISIT_FLAGGED, visit.id)
    assert flagged.payload["added"] == ["clock_skew", "too_far"]
    assert flagged.payload["flags"] == ["clock_skew", "too_far"]
    assert flagged.payload["trust_score"] == visit.trust_score
    assert flagged.actor_id == str(world.rep_a.id)


def test_a_check_in_that_fails_or_rolls_back_leaves_no_event(db, world, rep):
    with pytest.raises(InvalidInput):
        check_in(db, rep, world.customer_a.id, at=NOW + timedelta(days=2))
    savepoint = db.begin_nested()
    check_in(db, rep, world.customer_a.id, mock=True)
    savepoint.rollback()
    for event_type in (VISIT_CHECKED_IN, VISIT_FLAGGED):
        assert [e for e in events_of(db, event_type) if e.actor_id == str(rep.id)] == []


def test_a_check_out_emits_checked_out_and_flagged_for_its_new_flags(db, world, rep):
    visit, _ = check_in(db, rep, world.customer_a.id, mock=True)
    check_out(db, rep, visit, minutes=2)  # shorter than visit_min_minutes (5)

    out = only_event(db, VISIT_CHECKED_OUT, visit.id)
    assert out.payload["dwell_seconds"] == 120
    assert out.payload["flags"] == ["mock_location", "too_short"]
    db.refresh(visit)
    assert out.payload["trust_score"] == visit.trust_score
    assert out.actor_id == str(world.rep_a.id)
    flagged = events_of(db, VISIT_FLAGGED, visit.id)
    assert [e.payload["added"] for e in flagged] == [["mock_location"], ["too_short"]]
    assert flagged[1].payload["flags"] == ["mock_location", "too_short"]

    check_out(db, rep, visit, minutes=2)  # a retry of the same check-out
    assert len(events_of(db, VISIT_CHECKED_OUT, visit.id)) == 1
    assert len(events_of(db, VISIT_FLAGGED, visit.id)) == 2


def test_a_check_out_refused_leaves_no_event(db, world, rep):
    visit, _ = check_in(db, rep, world.customer_a.id)
    with pytest.raises(InvalidInput):
        check_out(db, rep, visit, minutes=-5)
    assert events_of(db, VISIT_CHECKED_OUT, visit.id) == []


def test_the_day_job_flags_a_visit_once_as_the_system(db, world, rep):
    visit, _ = check_in(db, rep, world.customer_a.id)
    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)
    flagged = only_event(db, VISIT_FLAGGED, visit.id)
    assert flagged.payload["added"] == ["not_checked_out"]
    assert (flagged.actor_kind, flagged.actor_id) == ("system", None)

    days.refresh_day(db, rep_id=world.rep_a.id, day=DAY)  # the job again: the same flags
    assert len(events_of(db, VISIT_FLAGGED, visit.id)) == 1


def test_indicators_flag_each_visit_once_however_often_they_run(db, world):
    # Four visits within 30 minutes at four shops 500 m apart: rapid_visits.
    shops = [
        make_customer(db, f"R{i}", world.team_a, SHOP[0], SHOP[1] + 0.005 * i) for i in range(4)
    ]
    visits = [
        make_visit(
            db,
            world.rep_a,
            shop,
            T0 + timedelta(minutes=8 * i),
            (SHOP[0], SHOP[1] + 0.005 * i),
            dwell_minutes=6,
        )
        for i, shop in enumerate(shops)
    ]
    settings = company_service.get_company_settings(db)
    for _ in range(2):
        indicators.recompute_flags(db, scope=Scope(DAY, DAY), settings=settings)
    for visit in visits:
        flagged = only_event(db, VISIT_FLAGGED, visit.id)
        assert "rapid_visits" in flagged.payload["added"]
        assert flagged.payload["added"] == flagged.payload["flags"]
        assert flagged.payload["customer_id"] == visit.customer_id
        assert flagged.actor_kind == "system"


# --- customers -------------------------------------------------------------------------


@pytest.fixture
def manager(db, world):
    return auth_service.principal_for_user(db, world.manager_a)


def test_creating_a_customer_emits_created(db, world, manager):
    data = {"code": "N001", "name": "Toko Baru", "location": {"lat": -6.21, "lon": 106.81}}
    customer = customer_service.create_customer(
        db, principal=manager, data=data | {"team_id": world.team_a.id}
    )
    event = only_event(db, CUSTOMER_CREATED, customer.id)
    assert (event.subject_kind, event.actor_kind, event.actor_id) == (
        "customer",
        "user",
        str(world.manager_a.id),
    )
    assert event.payload == {
        "customer_id": customer.id,
        "code": "N001",
        "name": "Toko Baru",
        "team_id": world.team_a.id,
        "distributor_id": None,
        "source": "app",
    }
    # A customer created with a location has not moved.
    assert events_of(db, CUSTOMER_LOCATION_CHANGED, customer.id) == []

    with pytest.raises(Conflict):  # the same code again: refused, nothing emitted
        customer_service.create_customer(db, principal=manager, data=data)
    assert len([e for e in events_of(db, CUSTOMER_CREATED) if e.payload["code"] == "N001"]) == 1


def test_an_edit_that_moves_a_customer_emits_location_changed_once(db, world, manager):
    customer_id = world.customer_a.id
    moved = {"location": {"lat": -6.201, "lon": 106.802}}
    customer_service.update_customer(db, principal=manager, customer_id=customer_id, data=moved)
    event = only_event(db, CUSTOMER_LOCATION_CHANGED, customer_id)
    assert event.actor_id == str(world.manager_a.id)
    assert event.payload == {
        "customer_id": customer_id,
        "lat": -6.201,
        "lon": 106.802,
        "old_lat": SHOP[0],
        "old_lon": SHOP[1],
        "moved_m": pytest.approx(247.5, abs=1),  # 110.6 m south, 221.4 m east
        "proposal_id": None,
        "visit_id": None,
    }
    # The same edit again, or an edit of another field: the location did not change.
    customer_service.update_customer(db, principal=manager, customer_id=customer_id, data=moved)
    customer_service.update_customer(
        db, principal=manager, customer_id=customer_id, data={"name": "Toko A"}
    )
    assert len(events_of(db, CUSTOMER_LOCATION_CHANGED, customer_id)) == 1
    # Cleared: a change too.
    customer_service.update_customer(
        db, principal=manager, customer_id=customer_id, data={"location": None}
    )
    cleared = events_of(db, CUSTOMER_LOCATION_CHANGED, customer_id)[-1].payload
    assert (cleared["lat"], cleared["lon"], cleared["old_lat"]) == (None, None, -6.201)


def test_an_approved_proposal_emits_location_changed_a_rejected_one_nothing(
    db, world, rep, manager
):
    customer_id = world.customer_a.id

    def propose(lat):
        return locations.propose(
            db,
            principal=rep,
            customer_id=customer_id,
            lat=lat,
            lon=SHOP[1],
            accuracy_m=5,
            note=None,
            visit_id=None,
        )

    def decide(proposal, approve):
        locations.decide(
            db,
            principal=manager,
            customer_id=customer_id,
            proposal_id=proposal.id,
            approve=approve,
        )

    decide(propose(-6.205), approve=False)
    assert events_of(db, CUSTOMER_LOCATION_CHANGED, customer_id) == []
    proposal = propose(-6.203)
    decide(proposal, approve=True)
    event = only_event(db, CUSTOMER_LOCATION_CHANGED, customer_id)
    assert event.payload["proposal_id"] == proposal.id
    assert (event.payload["lat"], event.payload["old_lat"]) == (-6.203, SHOP[0])
    with pytest.raises(Conflict):  # decided already
        decide(proposal, approve=True)
    assert len(events_of(db, CUSTOMER_LOCATION_CHANGED, customer_id)) == 1


def test_a_location_captured_at_check_in_emits_location_changed(db, world, rep):
    shop = make_customer(db, "NOLOC", world.team_a)
    visit, _ = check_in(db, rep, shop.id, lat=-6.25)
    event = only_event(db, CUSTOMER_LOCATION_CHANGED, shop.id)
    assert event.payload["visit_id"] == visit.id
    assert (event.payload["lat"], event.payload["lon"]) == (-6.25, SHOP[1])
    assert (event.payload["old_lat"], event.payload["old_lon"]) == (None, None)
    check_in(db, rep, shop.id, lat=-6.26)  # it has a location now: not captured again
    assert len(events_of(db, CUSTOMER_LOCATION_CHANGED, shop.id)) == 1


# --- anomalies -------------------------------------------------------------------------


def rep_events(db, event_type: str, rep_id: int) -> list[DomainEvent]:
    return [e for e in events_of(db, event_type) if e.payload["rep_id"] == rep_id]


def test_the_weekly_job_emits_each_new_anomaly_once(db, world):
    # Last week (the job's week) 6 short visits after a week of 2 normal ones: a spike.
    settings = company_service.get_company_settings(db)
    today = datetime.now(settings.tz).date()
    last_monday = today - timedelta(days=today.weekday() + 7)
    noon = datetime.combine(last_monday, datetime.min.time(), settings.tz) + timedelta(hours=10)
    for day, count, minutes in ((-7, 2, 30), (0, 6, 2)):
        for i in range(count):
            at = noon + timedelta(days=day, minutes=40 * i)
            make_visit(db, world.rep_a, world.customer_a, at, SHOP, dwell_minutes=minutes)
    # The week before was computed when it was last week (it has no anomaly).
    anomaly_service.compute_week(db, week_start=last_monday - timedelta(days=7))
    assert rep_events(db, ANOMALY_DETECTED, world.rep_a.id) == []

    anomaly_jobs.compute_last_week(db)
    (event,) = rep_events(db, ANOMALY_DETECTED, world.rep_a.id)
    assert (event.subject_kind, event.subject_id) == ("rep", str(world.rep_a.id))
    assert (event.actor_kind, event.actor_id) == ("system", None)
    week = last_monday.isocalendar()
    assert event.payload["week"] == f"{week.year}-W{week.week:02d}"
    assert event.payload["kind"] == "short_visits_spike"
    assert event.payload["details"]["this_week"] == 6
    assert event.payload["details"]["previous_week"] == 0

    anomaly_jobs.compute_last_week(db)  # run twice: the same anomaly, no new event
    assert len(rep_events(db, ANOMALY_DETECTED, world.rep_a.id)) == 1


def compute(db, week):
    anomaly_service.compute_anomalies(
        db,
        week_from=week,
        week_to=week,
        rep_ids=None,
        settings=company_service.get_company_settings(db),
        today=week + timedelta(days=7),
    )


def test_an_anomaly_found_again_after_it_went_is_not_new(db, world):
    week = date(2026, 11, 16)
    make_rep_weeks(db, world.rep_a, [(40, 4, 0, 0), (40, 9, 0, 0)], week)
    savepoint = db.begin_nested()
    compute(db, week)
    savepoint.rollback()  # the run failed: its events went with it
    assert rep_events(db, ANOMALY_DETECTED, world.rep_a.id) == []

    compute(db, week)
    assert len(rep_events(db, ANOMALY_DETECTED, world.rep_a.id)) == 1
    this_week = db.get(RepWeek, (world.rep_a.id, week))
    this_week.short_visits = 4  # no spike any more: the anomaly goes
    compute(db, week)
    this_week.short_visits = 9  # and comes back: still the same anomaly
    compute(db, week)
    assert len(rep_events(db, ANOMALY_DETECTED, world.rep_a.id)) == 1


# --- plans -----------------------------------------------------------------------------


def test_a_planned_visit_without_a_check_in_is_missed_once_the_day_ended(db, world, rep):
    def plan(customer, day):
        planned = PlannedVisit(rep_id=rep.id, customer_id=customer.id, day=day, source="adhoc")
        db.add(planned)
        db.flush()
        return planned

    other = make_customer(db, "P002", world.team_a, *SHOP)
    missed = plan(world.customer_a, DAY)
    done = plan(other, DAY)
    today = plan(world.customer_a, DAY + timedelta(days=1))
    history = plan(other, DAY - timedelta(days=8))  # before the job's look-back
    check_in(db, rep, other.id)  # fulfils `done`

    def job(at):
        return plan_jobs.report_missed(db, now=at)

    # 23:00 in Jakarta: the day has not ended.
    assert job(datetime(2026, 11, 17, 16, 0, tzinfo=UTC)) == 0
    assert job(NOW) == 1  # the next day
    event = only_event(db, PLANNED_VISIT_MISSED, missed.id)
    assert (event.subject_kind, event.actor_kind) == ("planned_visit", "system")
    assert event.payload == {
        "planned_visit_id": missed.id,
        "rep_id": rep.id,
        "customer_id": world.customer_a.id,
        "day": DAY.isoformat(),
        "source": "adhoc",
    }
    for planned in (done, today, history):
        assert events_of(db, PLANNED_VISIT_MISSED, planned.id) == []

    assert job(NOW) == 0  # run again
    # Nights later: the next day's planned visit is missed too, the first not again.
    assert job(NOW + timedelta(days=3)) == 1
    assert len(events_of(db, PLANNED_VISIT_MISSED, missed.id)) == 1
    assert only_event(db, PLANNED_VISIT_MISSED, today.id).payload["day"] == "2026-11-18"
