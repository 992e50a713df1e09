"""Plans over HTTP: journey plans, planned visits, expansion, fulfilment by check-in and
the visit rate, with the roles that may use them and the 422s of bad bodies."""

import csv
import io
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from factories import make_customer
from sfa.plans import service as plan_service
from sfa.plans.models import JourneyPlan, PlannedVisit

MON, TUE, WED, THU, FRI, SAT, SUN = range(1, 8)


@pytest.fixture
def today(db, world):
    return plan_service.company_today(db)


def monday_of(day: date) -> date:
    return day - timedelta(days=day.isoweekday() - 1)


def plan_body(world, today, **extra):
    return {
        "rep_id": world.rep_a.id,
        "customer_id": world.customer_a.id,
        "weekday": today.isoweekday(),
        "anchor_week": monday_of(today).isoformat(),
        "valid_from": today.isoformat(),
    } | extra


def stored_plan(db, rep, customer, weekday, anchor, valid_from, every=1):
    plan = JourneyPlan(
        rep_id=rep.id,
        customer_id=customer.id,
        weekday=weekday,
        every_n_weeks=every,
        anchor_week=anchor,
        valid_from=valid_from,
    )
    db.add(plan)
    db.commit()
    return plan


def test_manager_plans_reads_changes_and_deactivates(client, world, db, today):
    h = world.headers("manager_a")
    response = client.post("/v1/journey-plans", json=plan_body(world, today), headers=h)
    assert response.status_code == 201, response.text
    plan = response.json()
    assert plan["every_n_weeks"] == 1 and plan["valid_to"] is None and plan["active"] is True
    # The upcoming 14 days are planned at once: today and a week later.
    days = client.get("/v1/planned-visits", headers=h, params={"rep_id": world.rep_a.id}).json()
    assert [(p["day"], p["source"], p["journey_plan_id"], p["done"]) for p in days["items"]] == [
        (today.isoformat(), "journey", plan["id"], False),
        ((today + timedelta(days=7)).isoformat(), "journey", plan["id"], False),
    ]

    second = client.post(
        "/v1/journey-plans",
        headers=h,
        json=plan_body(world, today, rep_id=world.rep_a2.id, weekday=SAT, every_n_weeks=2),
    ).json()
    page = client.get("/v1/journey-plans", params={"limit": 1}, headers=h).json()
    assert (page["total"], len(page["items"]), page["next_offset"]) == (2, 1, 1)
    page2 = client.get("/v1/journey-plans", params={"limit": 1, "offset": 1}, headers=h).json()
    assert {page["items"][0]["id"], page2["items"][0]["id"]} == {plan["id"], second["id"]}
    assert page2["next_offset"] is None
    only = client.get("/v1/journey-plans", params={"rep_id": world.rep_a2.id}, headers=h)
    assert [p["id"] for p in only.json()["items"]] == [second["id"]]

    tomorrow = today + timedelta(days=1)
    changed = client.patch(
        f"/v1/journey-plans/{plan['id']}",
        headers=h,
        json={
            "weekday": tomorrow.isoweekday(),
            "valid_to": (today + timedelta(days=60)).isoformat(),
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["weekday"] == tomorrow.isoweekday()
    days = client.get("/v1/planned-visits", headers=h, params={"rep_id": world.rep_a.id}).json()[
        "items"
    ]
    assert [p["day"] for p in days] == [
        tomorrow.isoformat(),
        (tomorrow + timedelta(days=7)).isoformat(),
    ]
    assert client.get(f"/v1/journey-plans/{plan['id']}", headers=h).json()["weekday"] == (
        tomorrow.isoweekday()
    )

    gone = client.delete(f"/v1/journey-plans/{plan['id']}", headers=h)
    assert gone.status_code == 200, gone.text
    assert (
        gone.json()["deleted"],
        gone.json()["removed_planned_visits"],
        gone.json()["active"],
    ) == (True, 2, False)
    assert client.get(f"/v1/journey-plans/{plan['id']}", headers=h).status_code == 404
    audit = client.get(
        "/v1/audit", params={"entity": "journey_plan"}, headers=world.headers("admin")
    ).json()
    assert {e["action"] for e in audit["items"]} == {"create", "update", "delete"}


def test_a_running_plan_is_ended_not_deleted(client, world, db, today):
    started = today - timedelta(days=21)
    plan = stored_plan(
        db, world.rep_a, world.customer_a, started.isoweekday(), monday_of(started), started
    )
    response = client.delete(f"/v1/journey-plans/{plan.id}", headers=world.headers("admin"))
    body = response.json()
    assert (body["deleted"], body["active"], body["valid_to"]) == (
        False,
        False,
        (today - timedelta(days=1)).isoformat(),
    )
    listed = client.get(
        "/v1/journey-plans", params={"active": "false"}, headers=world.headers("manager_a")
    ).json()
    assert [p["id"] for p in listed["items"]] == [plan.id]
    assert (
        client.get(
            "/v1/journey-plans", params={"active": "true"}, headers=world.headers("manager_a")
        ).json()["total"]
        == 0
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weekday": 0}, "weekday"),
        ({"weekday": 8}, "weekday"),
        ({"every_n_weeks": 0}, "every_n_weeks"),
        ({"every_n_weeks": 53}, "every_n_weeks"),
        (
            {"anchor_week": "2026-11-24"},
            "anchor_week must be a Monday; 2026-11-24 is a Tuesday "
            "(the Monday of that week is 2026-11-23)",
        ),
        ({"valid_from": "2026-12-01", "valid_to": "2026-11-30"}, "valid_to 2026-11-30 is before"),
        ({"valid_from": "2026-13-01"}, "valid_from"),
        ({"colour": "red"}, "colour"),
        ({"rep_id": None}, "rep_id"),
    ],
)
def test_plan_bodies_are_validated(client, world, today, change, message):
    body = plan_body(world, today) | change
    response = client.post("/v1/journey-plans", json=body, headers=world.headers("manager_a"))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_input" and message in error["message"]


def test_plan_changes_are_validated(client, world, db, today):
    h = world.headers("manager_a")
    plan = client.post(
        "/v1/journey-plans",
        headers=h,
        json=plan_body(world, today, valid_to=(today + timedelta(days=30)).isoformat()),
    ).json()
    url = f"/v1/journey-plans/{plan['id']}"
    nulls = client.patch(url, json={"weekday": None}, headers=h)
    assert nulls.status_code == 422 and "weekday cannot be null" in nulls.text
    # Checked on the merged plan: valid_from after the stored valid_to.
    after = client.patch(
        url, headers=h, json={"valid_from": (today + timedelta(days=31)).isoformat()}
    )
    assert after.status_code == 422
    assert "before valid_from" in after.json()["error"]["message"]
    assert client.patch(url, json={"weekday": 9}, headers=h).status_code == 422
    # Another team's customer is outside the rep's territory (and invisible to manager_a).
    assert (
        client.patch(url, json={"customer_id": world.customer_b.id}, headers=h).status_code == 404
    )
    moved = client.patch(
        url, json={"customer_id": world.customer_b.id}, headers=world.headers("admin")
    )
    assert moved.status_code == 422 and "territory" in moved.json()["error"]["message"]
    assert moved.json()["error"]["hint"]


def test_reps_read_their_own_plans_but_do_not_plan(client, world, today):
    manager = world.headers("manager_a")
    mine = client.post("/v1/journey-plans", json=plan_body(world, today), headers=manager)
    theirs = client.post(
        "/v1/journey-plans", headers=manager, json=plan_body(world, today, rep_id=world.rep_a2.id)
    ).json()
    rep = world.headers("rep_a")
    refused = client.post("/v1/journey-plans", json=plan_body(world, today), headers=rep)
    assert refused.status_code == 403 and "plans:write" in refused.json()["error"]["message"]
    assert (
        client.post(
            "/v1/planned-visits",
            headers=rep,
            json={
                "rep_id": world.rep_a.id,
                "customer_id": world.customer_a.id,
                "day": today.isoformat(),
            },
        ).status_code
        == 403
    )
    assert [p["id"] for p in client.get("/v1/journey-plans", headers=rep).json()["items"]] == [
        mine.json()["id"]
    ]
    assert client.get(f"/v1/journey-plans/{theirs['id']}", headers=rep).status_code == 404
    planned = client.get("/v1/planned-visits", headers=rep).json()["items"]
    assert planned and {p["rep_id"] for p in planned} == {world.rep_a.id}
    assert client.get(f"/v1/reps/{world.rep_a2.id}/visit-rate", headers=rep).status_code == 404


def test_another_teams_manager_cannot_see_or_edit_plans(client, world, today):
    plan = client.post(
        "/v1/journey-plans", json=plan_body(world, today), headers=world.headers("manager_a")
    ).json()
    h = world.headers("manager_b")
    url = f"/v1/journey-plans/{plan['id']}"
    assert client.get(url, headers=h).status_code == 404
    assert client.patch(url, json={"weekday": 3}, headers=h).status_code == 404
    assert client.delete(url, headers=h).status_code == 404
    assert client.get("/v1/journey-plans", headers=h).json()["total"] == 0
    assert client.get("/v1/planned-visits", headers=h).json()["total"] == 0
    assert (
        client.post("/v1/journey-plans", json=plan_body(world, today), headers=h).status_code == 404
    )
    assert client.get(f"/v1/reps/{world.rep_a.id}/visit-rate", headers=h).status_code == 404
    # Untouched behind the refusals.
    again = client.get(url, headers=world.headers("manager_a")).json()
    assert again["weekday"] == plan["weekday"] and again["active"]


def test_ad_hoc_planned_visits(client, world, db, today):
    h = world.headers("manager_a")
    day = today + timedelta(days=2)
    body = {"rep_id": world.rep_a.id, "customer_id": world.customer_a.id, "day": day.isoformat()}
    created = client.post("/v1/planned-visits", json=body, headers=h)
    assert created.status_code == 201, created.text
    assert created.json() | {"id": 0} == {
        "id": 0,
        "rep_id": world.rep_a.id,
        "customer_id": world.customer_a.id,
        "day": day.isoformat(),
        "source": "adhoc",
        "journey_plan_id": None,
        "visit_id": None,
        "done": False,
    }
    duplicate = client.post("/v1/planned-visits", json=body, headers=h)
    assert duplicate.status_code == 409
    assert duplicate.json()["error"]["details"]["planned_visit_id"] == created.json()["id"]
    past = client.post(
        "/v1/planned-visits",
        headers=h,
        json=body | {"day": (today - timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 422 and "in the past" in past.json()["error"]["message"]
    assert client.post("/v1/planned-visits", json=body | {"extra": 1}, headers=h).status_code == 422
    listed = client.get(
        "/v1/planned-visits",
        headers=h,
        params={
            "date_from": day.isoformat(),
            "date_to": day.isoformat(),
            "source": "adhoc",
            "done": "false",
        },
    ).json()
    assert [p["id"] for p in listed["items"]] == [created.json()["id"]]
    bad_range = client.get(
        "/v1/planned-visits",
        headers=h,
        params={"date_from": day.isoformat(), "date_to": today.isoformat()},
    )
    assert bad_range.status_code == 422
    assert (
        client.delete(
            f"/v1/planned-visits/{created.json()['id']}", headers=world.headers("manager_b")
        ).status_code
        == 404
    )
    assert client.delete(f"/v1/planned-visits/{created.json()['id']}", headers=h).status_code == 204
    assert client.get("/v1/planned-visits", headers=h).json()["total"] == 0

    # A journey occurrence is changed through its plan, not deleted one by one.
    plan = client.post("/v1/journey-plans", json=plan_body(world, today), headers=h).json()
    occurrence = client.get("/v1/planned-visits", headers=h).json()["items"][0]
    refused = client.delete(f"/v1/planned-visits/{occurrence['id']}", headers=h)
    assert refused.status_code == 409
    assert f"/v1/journey-plans/{plan['id']}" in refused.json()["error"]["hint"]


def test_expand_for_the_managers_teams_and_idempotent(client, world, db):
    stored_plan(db, world.rep_a, world.customer_a, MON, date(2025, 11, 3), date(2025, 11, 1))
    stored_plan(
        db, world.rep_a2, world.customer_a, FRI, date(2025, 11, 3), date(2025, 11, 1), every=2
    )
    foreign = stored_plan(
        db, world.rep_b, world.customer_b, MON, date(2025, 11, 3), date(2025, 11, 1)
    )
    h = world.headers("manager_a")
    body = {"date_from": "2025-11-01", "date_to": "2025-11-30"}
    response = client.post("/v1/planned-visits/expand", json=body, headers=h)
    assert response.status_code == 200, response.text
    # Mondays 3, 10, 17, 24; every other Friday from the week of Nov 3: 7 and 21.
    assert response.json() == body | {"created": 6, "linked": 0}
    again = client.post("/v1/planned-visits/expand", json=body, headers=h).json()
    assert (again["created"], again["linked"]) == (0, 0)
    assert (
        db.scalars(select(PlannedVisit).where(PlannedVisit.journey_plan_id == foreign.id)).all()
        == []
    )
    assert (
        client.post(
            "/v1/planned-visits/expand", json=body, headers=world.headers("rep_a")
        ).status_code
        == 403
    )
    too_long = client.post(
        "/v1/planned-visits/expand",
        headers=h,
        json={"date_from": "2025-01-01", "date_to": "2026-01-05"},
    )
    assert too_long.status_code == 422 and "at most 366" in too_long.json()["error"]["message"]
    reversed_ = client.post(
        "/v1/planned-visits/expand",
        headers=h,
        json={"date_from": "2025-11-30", "date_to": "2025-11-01"},
    )
    assert reversed_.status_code == 422
    admin = client.post(
        "/v1/planned-visits/expand", json=body, headers=world.headers("admin")
    ).json()
    assert admin["created"] == 4  # rep_b's Mondays


def check_in(client, world, customer, at, **extra):
    response = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json={
            "client_id": str(uuid.uuid4()),
            "customer_id": customer.id,
            "at": at,
            "lat": -6.2,
            "lon": 106.8,
            "accuracy_m": 10,
        }
        | extra,
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_check_in_fulfils_the_plan_and_the_visit_rate(client, world, db):
    """Company day in Asia/Jakarta (UTC+7): weeks of 2025-12-22 and 2025-12-29 (ISO week
    2026-W01), Monday at customer_a and Wednesday at A002, every week."""
    client.patch("/v1/settings", json={"timezone": "Asia/Jakarta"}, headers=world.headers("admin"))
    a2 = make_customer(db, "A002", world.team_a, -6.21, 106.81)
    db.commit()
    stored_plan(db, world.rep_a, world.customer_a, MON, date(2025, 12, 1), date(2025, 12, 1))
    stored_plan(db, world.rep_a, a2, WED, date(2025, 12, 1), date(2025, 12, 1))
    expanded = client.post(
        "/v1/planned-visits/expand",
        headers=world.headers("manager_a"),
        json={"date_from": "2025-12-22", "date_to": "2026-01-04"},
    ).json()
    assert expanded["created"] == 4

    # 23:30 on Monday the 22nd, Jakarta: that day's plan is done.
    late = check_in(client, world, world.customer_a, "2025-12-22T23:30:00+07:00")
    assert late["local_day"] == "2025-12-22" and late["planned_visit_id"] is not None
    # 00:30 on Thursday the 25th, Jakarta (still the 24th in UTC): not Wednesday's plan.
    after = check_in(client, world, a2, "2025-12-25T00:30:00+07:00")
    assert after["local_day"] == "2025-12-25" and after["planned_visit_id"] is None
    check_in(client, world, a2, "2025-12-31T10:00:00+07:00")

    rows = client.get(
        "/v1/planned-visits",
        headers=world.headers("rep_a"),
        params={"date_from": "2025-12-22", "date_to": "2025-12-24"},
    ).json()
    assert [(p["day"], p["done"]) for p in rows["items"]] == [
        ("2025-12-22", True),
        ("2025-12-24", False),
    ]
    assert rows["items"][0]["visit_id"] == late["id"]

    url = f"/v1/reps/{world.rep_a.id}/visit-rate"
    weekly = client.get(
        url,
        headers=world.headers("manager_a"),
        params={"date_from": "2025-12-24", "date_to": "2025-12-30", "by": "week"},
    )
    assert weekly.status_code == 200, weekly.text
    assert weekly.json() == {
        "rep_id": world.rep_a.id,
        "by": "week",
        "date_from": "2025-12-22",
        "date_to": "2026-01-04",
        "planned": 4,
        "done": 2,
        "rate": 0.5,
        "periods": [
            {
                "period_start": "2025-12-22",
                "period_end": "2025-12-28",
                "label": "2025-W52",
                "planned": 2,
                "done": 1,
                "rate": 0.5,
            },
            {
                "period_start": "2025-12-29",
                "period_end": "2026-01-04",
                "label": "2026-W01",
                "planned": 2,
                "done": 1,
                "rate": 0.5,
            },
        ],
    }
    daily = client.get(
        url,
        headers=world.headers("rep_a"),
        params={"date_from": "2025-12-22", "date_to": "2025-12-25"},
    ).json()
    assert [(p["label"], p["planned"], p["done"], p["rate"]) for p in daily["periods"]] == [
        ("2025-12-22", 1, 1, 1.0),
        ("2025-12-23", 0, 0, None),
        ("2025-12-24", 1, 0, 0.0),
        ("2025-12-25", 0, 0, None),
    ]
    as_csv = client.get(
        url,
        headers=world.headers("rep_a"),
        params={"date_from": "2025-12-22", "date_to": "2026-01-04", "by": "week", "format": "csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert [(r["label"], r["planned"], r["done"], r["rate"]) for r in table] == [
        ("2025-W52", "2", "1", "0.5"),
        ("2026-W01", "2", "1", "0.5"),
    ]
    for params, problem in (
        ({"by": "month"}, "by"),
        ({"date_from": "2026-01-04", "date_to": "2025-12-22"}, "after"),
        ({"date_from": "2024-01-01", "date_to": "2025-12-22"}, "366"),
    ):
        bad = client.get(url, params=params, headers=world.headers("manager_a"))
        assert bad.status_code == 422 and problem in bad.json()["error"]["message"], bad.text
    # Default range: the last 28 days up to today.
    default = client.get(url, headers=world.headers("manager_a")).json()
    assert len(default["periods"]) == 28


def test_planned_visits_csv(client, world, today):
    h = world.headers("manager_a")
    client.post("/v1/journey-plans", json=plan_body(world, today), headers=h)
    response = client.get("/v1/planned-visits", params={"format": "csv"}, headers=h)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["day"], r["source"], r["done"]) for r in rows] == [
        (today.isoformat(), "journey", "False"),
        ((today + timedelta(days=7)).isoformat(), "journey", "False"),
    ]
