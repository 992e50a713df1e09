"""Journey plans on a real PostGIS: expansion on known calendars, fulfilment by check-ins
on the company-local day, the visit rate, and who may plan for whom."""

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from factories import make_customer
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound
from sfa.pagination import paginate
from sfa.plans import service as plan_service
from sfa.plans.models import JourneyPlan, PlannedVisit
from sfa.plans.service import RatePeriod
from sfa.visits import service as visit_service
from sfa.visits.models import Visit
from sfa.visits.service import CheckIn, Position

JAKARTA = ZoneInfo("Asia/Jakarta")
MON, TUE, WED, THU, FRI, SAT, SUN = range(1, 8)


def principal(db, user):
    return auth_service.principal_for_user(db, user)


def make_plan(db, rep, customer, weekday, anchor, valid_from, valid_to=None, every=1):
    """A plan stored directly: service-created plans also expand around the real today."""
    plan = JourneyPlan(
        rep_id=rep.id,
        customer_id=customer.id,
        weekday=weekday,
        every_n_weeks=every,
        anchor_week=anchor,
        valid_from=valid_from,
        valid_to=valid_to,
    )
    db.add(plan)
    db.flush()
    return plan


def planned_days(db, rep, customer=None):
    stmt = select(PlannedVisit.day).where(PlannedVisit.rep_id == rep.id)
    if customer is not None:
        stmt = stmt.where(PlannedVisit.customer_id == customer.id)
    return list(db.scalars(stmt.order_by(PlannedVisit.day)))


def planned(db, rep, customer, day) -> PlannedVisit:
    db.expire_all()
    return db.scalar(
        select(PlannedVisit).where(
            PlannedVisit.rep_id == rep.id,
            PlannedVisit.customer_id == customer.id,
            PlannedVisit.day == day,
        )
    )


def check_in(db, rep, customer, at, planned_visit_id=None) -> Visit:
    visit, created = visit_service.check_in(
        db,
        principal=principal(db, rep),
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=customer.id,
            planned_visit_id=planned_visit_id,
            position=Position(at=at, lat=-6.2, lon=106.8, accuracy_m=10),
        ),
    )
    assert created
    return visit


@pytest.fixture
def more(db, world):
    """Two more customers in team A's territory."""
    return (
        make_customer(db, "A002", world.team_a, -6.21, 106.81),
        make_customer(db, "A003", world.team_a, -6.22, 106.82),
    )


# --- expansion -----------------------------------------------------------------------


def test_expansion_on_a_known_calendar(db, world, more):
    a2, a3 = more
    # Every Monday from the week of 2025-11-03.
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    # Every other Wednesday from the week of 2025-11-10, until 2025-12-10 (inclusive).
    make_plan(
        db,
        world.rep_a,
        a2,
        WED,
        date(2025, 11, 10),
        date(2025, 11, 1),
        valid_to=date(2025, 12, 10),
        every=2,
    )
    # Every other Friday counted from a later anchor: the pattern runs backwards too.
    make_plan(db, world.rep_a, a3, FRI, date(2025, 12, 1), date(2025, 11, 1), every=2)
    # Starts mid-range: nothing before valid_from.
    make_plan(db, world.rep_a2, world.customer_a, TUE, date(2025, 11, 3), date(2025, 12, 3))

    created = plan_service.expand_plans(db, date_from=date(2025, 11, 1), date_to=date(2025, 12, 31))

    assert planned_days(db, world.rep_a, world.customer_a) == [
        date(2025, 11, 3),
        date(2025, 11, 10),
        date(2025, 11, 17),
        date(2025, 11, 24),
        date(2025, 12, 1),
        date(2025, 12, 8),
        date(2025, 12, 15),
        date(2025, 12, 22),
        date(2025, 12, 29),
    ]
    assert planned_days(db, world.rep_a, a2) == [
        date(2025, 11, 12),
        date(2025, 11, 26),
        date(2025, 12, 10),
    ]
    assert planned_days(db, world.rep_a, a3) == [
        date(2025, 11, 7),
        date(2025, 11, 21),
        date(2025, 12, 5),
        date(2025, 12, 19),
    ]
    assert planned_days(db, world.rep_a2) == [
        date(2025, 12, 9),
        date(2025, 12, 16),
        date(2025, 12, 23),
        date(2025, 12, 30),
    ]
    assert created == 9 + 3 + 4 + 4
    rows = db.scalars(select(PlannedVisit).where(PlannedVisit.rep_id == world.rep_a.id)).all()
    assert {(r.source, r.visit_id) for r in rows} == {("journey", None)}
    assert all(r.journey_plan_id is not None for r in rows)

    # Idempotent: a second expansion, or an overlapping one, creates nothing.
    assert (
        plan_service.expand_plans(db, date_from=date(2025, 11, 1), date_to=date(2025, 12, 31)) == 0
    )
    assert (
        plan_service.expand_plans(db, date_from=date(2025, 12, 1), date_to=date(2026, 1, 5)) == 2
    )  # Fri 2, Mon 5 Jan
    assert len(planned_days(db, world.rep_a)) == 18


def test_expansion_across_the_iso_year_boundary(db, world, more):
    a2, a3 = more
    # 2026-12-28 is the Monday of 2026-W53; 2027-01-04 the Monday of 2027-W01.
    assert date(2026, 12, 28).isocalendar()[:2] == (2026, 53)
    assert date(2027, 1, 4).isocalendar()[:2] == (2027, 1)
    # Every other Friday from the week of 2026-12-14: weeks of Dec 28 and Jan 11.
    make_plan(
        db, world.rep_a, world.customer_a, FRI, date(2026, 12, 14), date(2026, 12, 1), every=2
    )
    # Every other Monday from 2027-W01: not in the week before (2026-W53).
    make_plan(db, world.rep_a, a2, MON, date(2027, 1, 4), date(2026, 12, 1), every=2)
    # Every Sunday.
    make_plan(db, world.rep_a, a3, SUN, date(2026, 12, 28), date(2026, 12, 1))

    created = plan_service.expand_plans(db, date_from=date(2026, 12, 28), date_to=date(2027, 1, 10))

    assert planned_days(db, world.rep_a, world.customer_a) == [date(2027, 1, 1)]
    assert planned_days(db, world.rep_a, a2) == [date(2027, 1, 4)]
    assert planned_days(db, world.rep_a, a3) == [date(2027, 1, 3), date(2027, 1, 10)]
    assert created == 4


def test_expansion_skips_inactive_reps_and_customers_outside_the_territory(db, world):
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    make_plan(db, world.rep_b, world.customer_b, MON, date(2025, 11, 3), date(2025, 11, 1))
    world.rep_b.is_active = False
    db.flush()
    assert (
        plan_service.expand_plans(db, date_from=date(2025, 11, 3), date_to=date(2025, 11, 9)) == 1
    )
    # The customer moved to team B's territory: rep_a can no longer check in there.
    world.customer_a.team_id = world.team_b.id
    db.flush()
    assert (
        plan_service.expand_plans(db, date_from=date(2025, 11, 10), date_to=date(2025, 11, 16)) == 0
    )


def test_expansion_for_some_reps_only(db, world):
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    make_plan(db, world.rep_b, world.customer_b, MON, date(2025, 11, 3), date(2025, 11, 1))
    assert (
        plan_service.expand_plans(
            db, date_from=date(2025, 11, 3), date_to=date(2025, 11, 9), rep_ids=[world.rep_b.id]
        )
        == 1
    )
    assert planned_days(db, world.rep_a) == []
    # A manager's expansion reaches only the reps of their teams.
    result = plan_service.expand_for(
        db,
        principal=principal(db, world.manager_a),
        date_from=date(2025, 11, 3),
        date_to=date(2025, 11, 16),
    )
    assert (result.created, result.linked) == (2, 0)
    assert planned_days(db, world.rep_a) == [date(2025, 11, 3), date(2025, 11, 10)]
    assert planned_days(db, world.rep_b) == [date(2025, 11, 3)]


def test_expand_upcoming_covers_the_next_14_company_days(db, world):
    # 2026-03-01 20:00 UTC is already 2026-03-02 (a Monday) in Jakarta.
    now = datetime.fromisoformat("2026-03-01T20:00:00+00:00")
    make_plan(db, world.rep_a, world.customer_a, MON, date(2026, 3, 2), date(2026, 1, 1))
    make_plan(db, world.rep_a2, world.customer_a, SUN, date(2026, 3, 2), date(2026, 1, 1))
    assert plan_service.expand_upcoming(db, now=now) == 4
    assert planned_days(db, world.rep_a) == [date(2026, 3, 2), date(2026, 3, 9)]
    # Sunday 2026-03-01 is still today in UTC but yesterday in Jakarta; 2026-03-15 is the
    # 14th company day.
    assert planned_days(db, world.rep_a2) == [date(2026, 3, 8), date(2026, 3, 15)]
    assert plan_service.expand_upcoming(db, now=now) == 0


def test_expansion_links_check_ins_stored_before_it(db, world):
    company_service.update_settings(db, actor="test", changes={"timezone": "Asia/Jakarta"})
    early = check_in(
        db, world.rep_a, world.customer_a, datetime(2025, 11, 10, 9, 0, tzinfo=JAKARTA)
    )
    later = check_in(
        db, world.rep_a, world.customer_a, datetime(2025, 11, 10, 15, 0, tzinfo=JAKARTA)
    )
    assert early.planned_visit_id is None
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    result = plan_service.expand_for(
        db,
        principal=principal(db, world.admin),
        date_from=date(2025, 11, 3),
        date_to=date(2025, 11, 16),
    )
    assert (result.created, result.linked) == (3 - 1, 1)  # Mondays Nov 3 and Nov 10
    row = planned(db, world.rep_a, world.customer_a, date(2025, 11, 10))
    assert row.visit_id == early.id  # the first check-in of the day fulfils it
    assert db.get(Visit, early.id).planned_visit_id == row.id
    assert db.get(Visit, later.id).planned_visit_id is None
    assert planned(db, world.rep_a, world.customer_a, date(2025, 11, 3)).visit_id is None


# --- fulfilment ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_time", "fulfilled", "open_"),
    [
        # 23:30 in Jakarta on the 17th is 16:30 UTC: the company day is the 17th.
        ("2025-11-17T23:30:00+07:00", date(2025, 11, 17), date(2025, 11, 18)),
        # 00:30 in Jakarta on the 18th is still the 17th in UTC: the company day is the 18th.
        ("2025-11-18T00:30:00+07:00", date(2025, 11, 18), date(2025, 11, 17)),
    ],
)
def test_check_in_fulfils_the_plan_of_the_company_local_day(
    db, world, local_time, fulfilled, open_
):
    company_service.update_settings(db, actor="test", changes={"timezone": "Asia/Jakarta"})
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 17), date(2025, 11, 1))
    make_plan(db, world.rep_a, world.customer_a, TUE, date(2025, 11, 17), date(2025, 11, 1))
    plan_service.expand_plans(db, date_from=date(2025, 11, 17), date_to=date(2025, 11, 18))

    visit = check_in(db, world.rep_a, world.customer_a, datetime.fromisoformat(local_time))

    assert visit.local_day == fulfilled
    done = planned(db, world.rep_a, world.customer_a, fulfilled)
    assert done.visit_id == visit.id
    assert db.get(Visit, visit.id).planned_visit_id == done.id
    assert planned(db, world.rep_a, world.customer_a, open_).visit_id is None


def test_check_in_just_after_midnight_does_not_fulfil_the_previous_day(db, world):
    company_service.update_settings(db, actor="test", changes={"timezone": "Asia/Jakarta"})
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 17), date(2025, 11, 1))
    plan_service.expand_plans(db, date_from=date(2025, 11, 17), date_to=date(2025, 11, 17))
    plan = planned(db, world.rep_a, world.customer_a, date(2025, 11, 17))
    # Even when the app names that planned visit: it is a hint, not an override.
    visit = check_in(
        db,
        world.rep_a,
        world.customer_a,
        datetime.fromisoformat("2025-11-18T00:30:00+07:00"),
        planned_visit_id=plan.id,
    )
    assert visit.planned_visit_id is None
    assert planned(db, world.rep_a, world.customer_a, date(2025, 11, 17)).visit_id is None


def test_a_planned_visit_is_fulfilled_once_and_wrong_claims_are_ignored(db, world, more):
    a2, _ = more
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 17), date(2025, 11, 1))
    make_plan(db, world.rep_a, a2, MON, date(2025, 11, 17), date(2025, 11, 1))
    plan_service.expand_plans(db, date_from=date(2025, 11, 17), date_to=date(2025, 11, 17))
    other = planned(db, world.rep_a, a2, date(2025, 11, 17))
    # Claims the planned visit of another customer: the real match is used instead.
    first = check_in(
        db,
        world.rep_a,
        world.customer_a,
        datetime(2025, 11, 17, 9, tzinfo=JAKARTA),
        planned_visit_id=other.id,
    )
    mine = planned(db, world.rep_a, world.customer_a, date(2025, 11, 17))
    assert first.planned_visit_id == mine.id and mine.visit_id == first.id
    assert planned(db, world.rep_a, a2, date(2025, 11, 17)).visit_id is None
    second = check_in(
        db,
        world.rep_a,
        world.customer_a,
        datetime(2025, 11, 17, 11, tzinfo=JAKARTA),
        planned_visit_id=mine.id,
    )
    assert second.planned_visit_id is None
    assert planned(db, world.rep_a, world.customer_a, date(2025, 11, 17)).visit_id == first.id
    # Another rep's check-in never fulfils rep_a's plan.
    check_in(db, world.rep_a2, a2, datetime(2025, 11, 17, 10, tzinfo=JAKARTA))
    assert planned(db, world.rep_a, a2, date(2025, 11, 17)).visit_id is None


# --- visit rate ------------------------------------------------------------------------


@pytest.fixture
def rate_world(db, world, more):
    """rep_a, weeks of 2025-12-22 and 2025-12-29 (the latter is ISO week 2026-W01):
    Monday at customer_a, Wednesday at A002, Friday at A003, every week."""
    a2, a3 = more
    for weekday, customer in ((MON, world.customer_a), (WED, a2), (FRI, a3)):
        make_plan(db, world.rep_a, customer, weekday, date(2025, 12, 1), date(2025, 12, 1))
    plan_service.expand_plans(db, date_from=date(2025, 12, 22), date_to=date(2026, 1, 4))

    def at(day, hour=10):
        return datetime(day.year, day.month, day.day, hour, tzinfo=JAKARTA)

    check_in(db, world.rep_a, world.customer_a, at(date(2025, 12, 22)))
    check_in(db, world.rep_a, a2, at(date(2025, 12, 24)))
    check_in(db, world.rep_a, a3, at(date(2025, 12, 26)))
    check_in(db, world.rep_a, world.customer_a, at(date(2025, 12, 29)))
    # Not planned: customer_a on a Friday fulfils nothing.
    check_in(db, world.rep_a, world.customer_a, at(date(2026, 1, 2)))
    return world


def test_visit_rate_per_iso_week(db, rate_world):
    world = rate_world
    rows = plan_service.visit_rate(
        db,
        principal=principal(db, world.manager_a),
        rep_id=world.rep_a.id,
        date_from=date(2025, 12, 22),
        date_to=date(2026, 1, 4),
        by="week",
    )
    assert rows == [
        RatePeriod(date(2025, 12, 22), 3, 3, 1.0),
        RatePeriod(date(2025, 12, 29), 3, 1, 0.3333),
    ]
    assert date(2025, 12, 29).isocalendar()[:2] == (2026, 1)
    # A range that cuts weeks is widened to whole ISO weeks.
    widened = plan_service.visit_rate(
        db,
        principal=principal(db, world.rep_a),
        rep_id=world.rep_a.id,
        date_from=date(2025, 12, 24),
        date_to=date(2025, 12, 30),
        by="week",
    )
    assert widened == rows


def test_visit_rate_per_day(db, rate_world):
    world = rate_world
    rows = plan_service.visit_rate(
        db,
        principal=principal(db, world.rep_a),
        rep_id=world.rep_a.id,
        date_from=date(2025, 12, 28),
        date_to=date(2026, 1, 3),
        by="day",
    )
    assert rows == [
        RatePeriod(date(2025, 12, 28), 0, 0, None),
        RatePeriod(date(2025, 12, 29), 1, 1, 1.0),
        RatePeriod(date(2025, 12, 30), 0, 0, None),
        RatePeriod(date(2025, 12, 31), 1, 0, 0.0),
        RatePeriod(date(2026, 1, 1), 0, 0, None),
        RatePeriod(date(2026, 1, 2), 1, 0, 0.0),
        RatePeriod(date(2026, 1, 3), 0, 0, None),
    ]


def test_visit_rate_visibility_and_input(db, rate_world):
    world = rate_world
    kwargs = {
        "rep_id": world.rep_a.id,
        "date_from": date(2025, 12, 22),
        "date_to": date(2026, 1, 4),
    }
    for who in (world.manager_b, world.rep_a2, world.rep_b):
        with pytest.raises(NotFound):
            plan_service.visit_rate(db, principal=principal(db, who), **kwargs)
    me = principal(db, world.rep_a)
    with pytest.raises(InvalidInput, match="'day' or 'week'"):
        plan_service.visit_rate(db, principal=me, **kwargs, by="month")
    with pytest.raises(InvalidInput, match="after date_to"):
        plan_service.visit_rate(
            db,
            principal=me,
            rep_id=world.rep_a.id,
            date_from=date(2026, 1, 4),
            date_to=date(2025, 12, 22),
        )
    with pytest.raises(InvalidInput, match="at most 366"):
        plan_service.visit_rate(
            db,
            principal=me,
            rep_id=world.rep_a.id,
            date_from=date(2024, 1, 1),
            date_to=date(2025, 12, 22),
        )


# --- managing plans ------------------------------------------------------------------


def test_create_update_and_deactivate_a_plan(db, world, more):
    a2, _ = more
    manager = principal(db, world.manager_a)
    today = plan_service.company_today(db)
    monday = today - timedelta(days=today.isoweekday() - 1)
    plan = plan_service.create_plan(
        db,
        principal=manager,
        data={
            "rep_id": world.rep_a.id,
            "customer_id": world.customer_a.id,
            "weekday": today.isoweekday(),
            "anchor_week": monday,
            "valid_from": today,
        },
    )
    assert plan.every_n_weeks == 1
    # Created plans are expanded over the upcoming 14 days (today included) at once.
    assert planned_days(db, world.rep_a) == [today, today + timedelta(days=7)]

    # Today's visit is done before the plan changes: it stays, open future ones move.
    visit = check_in(
        db,
        world.rep_a,
        world.customer_a,
        datetime.now(JAKARTA).replace(microsecond=0) - timedelta(seconds=5),
    )
    assert visit.local_day == today and visit.planned_visit_id is not None
    tomorrow = today + timedelta(days=1)
    plan_service.update_plan(
        db,
        principal=manager,
        plan_id=plan.id,
        data={"weekday": tomorrow.isoweekday(), "customer_id": a2.id},
    )
    assert planned_days(db, world.rep_a, world.customer_a) == [today]
    assert planned_days(db, world.rep_a, a2) == [tomorrow, tomorrow + timedelta(days=7)]
    assert planned(db, world.rep_a, world.customer_a, today).visit_id == visit.id

    # The plan has not started before today: deactivating deletes it, history stays.
    result = plan_service.deactivate_plan(db, principal=manager, plan_id=plan.id)
    assert result.deleted and result.removed_planned_visits == 2
    assert db.get(JourneyPlan, plan.id) is None
    kept = planned(db, world.rep_a, world.customer_a, today)
    assert kept.visit_id == visit.id and kept.journey_plan_id is None
    assert planned_days(db, world.rep_a, a2) == []


def test_deactivating_a_running_plan_ends_it_yesterday(db, world):
    today = plan_service.company_today(db)
    started = today - timedelta(days=30)
    plan = make_plan(
        db,
        world.rep_a,
        world.customer_a,
        today.isoweekday(),
        started - timedelta(days=started.isoweekday() - 1),
        started,
    )
    plan_service.expand_plans(db, date_from=started, date_to=today + timedelta(days=13))
    past = [d for d in planned_days(db, world.rep_a) if d < today]
    assert len(past) == 4 and len(planned_days(db, world.rep_a)) == 6
    result = plan_service.deactivate_plan(db, principal=principal(db, world.admin), plan_id=plan.id)
    assert not result.deleted and result.removed_planned_visits == 2
    assert db.get(JourneyPlan, plan.id).valid_to == today - timedelta(days=1)
    assert planned_days(db, world.rep_a) == past  # missed visits stay for the visit rate
    assert plan_service.expand_plans(db, date_from=today, date_to=today + timedelta(days=13)) == 0
    assert not plan_service.plan_is_active(plan, today)


def test_who_may_plan_for_whom(db, world):
    today = plan_service.company_today(db)
    monday = today - timedelta(days=today.isoweekday() - 1)
    data = {
        "rep_id": world.rep_a.id,
        "customer_id": world.customer_a.id,
        "weekday": 1,
        "anchor_week": monday,
        "valid_from": today,
    }
    with pytest.raises(Forbidden, match="plans:write"):
        plan_service.create_plan(db, principal=principal(db, world.rep_a), data=data)
    with pytest.raises(NotFound, match="rep"):
        plan_service.create_plan(db, principal=principal(db, world.manager_b), data=data)
    manager_a = principal(db, world.manager_a)
    with pytest.raises(NotFound, match="customer"):
        plan_service.create_plan(
            db, principal=manager_a, data=data | {"customer_id": world.customer_b.id}
        )
    with pytest.raises(InvalidInput, match="territory"):
        plan_service.create_plan(
            db,
            principal=principal(db, world.admin),
            data=data | {"customer_id": world.customer_b.id},
        )
    with pytest.raises(NotFound, match="rep"):  # a manager is not a rep
        plan_service.create_plan(
            db, principal=manager_a, data=data | {"rep_id": world.manager_a.id}
        )

    plan = plan_service.create_plan(db, principal=manager_a, data=data)
    manager_b = principal(db, world.manager_b)
    with pytest.raises(NotFound):
        plan_service.get_plan(db, principal=manager_b, plan_id=plan.id)
    with pytest.raises(NotFound):
        plan_service.update_plan(db, principal=manager_b, plan_id=plan.id, data={"weekday": 2})
    with pytest.raises(NotFound):
        plan_service.deactivate_plan(db, principal=manager_b, plan_id=plan.id)
    with pytest.raises(NotFound):
        plan_service.get_plan(db, principal=principal(db, world.rep_a2), plan_id=plan.id)

    def plans(who):
        return paginate(db, plan_service.plans_query(db, principal=who), limit=50, offset=0)

    def planned(who):
        stmt = plan_service.planned_visits_query(principal=who)
        return paginate(db, stmt, limit=50, offset=0)

    assert plans(manager_b).total == 0
    assert plans(principal(db, world.rep_a2)).total == 0
    assert [p.id for p in plans(principal(db, world.rep_a)).items] == [plan.id]
    assert planned(manager_b).total == 0
    assert planned(principal(db, world.rep_a)).total == len(planned_days(db, world.rep_a))


def test_plan_rules_on_the_merged_plan(db, world):
    admin = principal(db, world.admin)
    today = plan_service.company_today(db)
    monday = today - timedelta(days=today.isoweekday() - 1)
    plan = plan_service.create_plan(
        db,
        principal=admin,
        data={
            "rep_id": world.rep_a.id,
            "customer_id": world.customer_a.id,
            "weekday": 1,
            "anchor_week": monday,
            "valid_from": today,
            "valid_to": today + timedelta(days=60),
        },
    )
    db.commit()  # each refused change below is rolled back to here
    with pytest.raises(InvalidInput, match="before valid_from"):
        plan_service.update_plan(
            db, principal=admin, plan_id=plan.id, data={"valid_from": today + timedelta(days=61)}
        )
    db.rollback()
    plan = db.get(JourneyPlan, plan.id)
    with pytest.raises(InvalidInput, match="not a Monday"):
        plan_service.update_plan(
            db, principal=admin, plan_id=plan.id, data={"anchor_week": monday + timedelta(days=1)}
        )
    db.rollback()
    for field, value in (("weekday", 8), ("every_n_weeks", 53), ("every_n_weeks", 0)):
        with pytest.raises(InvalidInput, match=field):
            plan_service.update_plan(db, principal=admin, plan_id=plan.id, data={field: value})
        db.rollback()


# --- ad-hoc planned visits -------------------------------------------------------------


def test_ad_hoc_planned_visits(db, world, more):
    a2, _ = more
    manager = principal(db, world.manager_a)
    today = plan_service.company_today(db)
    # A check-in stored earlier today fulfils a visit planned afterwards for today.
    visit = check_in(
        db, world.rep_a, a2, datetime.now(JAKARTA).replace(microsecond=0) - timedelta(seconds=5)
    )
    now_planned = plan_service.create_planned_visit(
        db, principal=manager, rep_id=world.rep_a.id, customer_id=a2.id, day=today
    )
    assert now_planned.source == "adhoc" and now_planned.visit_id == visit.id
    assert db.get(Visit, visit.id).planned_visit_id == now_planned.id

    later = plan_service.create_planned_visit(
        db,
        principal=manager,
        rep_id=world.rep_a.id,
        customer_id=world.customer_a.id,
        day=today + timedelta(days=3),
    )
    assert later.visit_id is None
    with pytest.raises(Conflict, match="already has planned visit"):
        plan_service.create_planned_visit(
            db,
            principal=manager,
            rep_id=world.rep_a.id,
            customer_id=world.customer_a.id,
            day=today + timedelta(days=3),
        )
    with pytest.raises(InvalidInput, match="in the past"):
        plan_service.create_planned_visit(
            db,
            principal=manager,
            rep_id=world.rep_a.id,
            customer_id=world.customer_a.id,
            day=today - timedelta(days=1),
        )
    with pytest.raises(Forbidden):
        plan_service.create_planned_visit(
            db,
            principal=principal(db, world.rep_a),
            rep_id=world.rep_a.id,
            customer_id=world.customer_a.id,
            day=today,
        )
    with pytest.raises(NotFound):
        plan_service.create_planned_visit(
            db,
            principal=principal(db, world.manager_b),
            rep_id=world.rep_a.id,
            customer_id=world.customer_a.id,
            day=today,
        )
    with pytest.raises(NotFound):
        plan_service.delete_planned_visit(
            db, principal=principal(db, world.manager_b), planned_visit_id=later.id
        )
    with pytest.raises(Conflict, match="fulfilled"):
        plan_service.delete_planned_visit(db, principal=manager, planned_visit_id=now_planned.id)
    plan_service.delete_planned_visit(db, principal=manager, planned_visit_id=later.id)
    assert db.get(PlannedVisit, later.id) is None


def test_journey_occurrences_are_not_deleted_one_by_one(db, world):
    make_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    plan_service.expand_plans(db, date_from=date(2025, 11, 3), date_to=date(2025, 11, 3))
    row = planned(db, world.rep_a, world.customer_a, date(2025, 11, 3))
    with pytest.raises(Conflict, match="journey plan") as caught:
        plan_service.delete_planned_visit(
            db, principal=principal(db, world.admin), planned_visit_id=row.id
        )
    assert f"/v1/journey-plans/{row.journey_plan_id}" in caught.value.hint
