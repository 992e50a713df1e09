import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sfa.anomalies.models import RepWeek, WeeklyAnomaly
from sfa.weeks import parse_week


def test_check_out_answers_with_duration_flags_and_trust_score(client, world):
    at = datetime(2026, 11, 16, 2, 0, tzinfo=UTC)
    visit = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json={
            "client_id": str(uuid.uuid4()),
            "customer_id": world.customer_a.id,
            "at": at.isoformat(),
            "lat": -6.2,
            "lon": 106.8,
            "accuracy_m": 10,
        },
    ).json()
    out = client.post(
        f"/v1/visits/{visit['id']}/check-out",
        headers=world.headers("rep_a"),
        json={"at": (at + timedelta(minutes=3)).isoformat()},
    )
    assert out.status_code == 200, out.text
    assert [f["code"] for f in out.json()["flags"]] == ["too_short"]
    listed = client.get("/v1/visits", headers=world.headers("manager_a")).json()["items"][0]
    assert listed["flags"][0]["numbers"] == {
        "minutes": 3.0,
        "min_minutes": 5.0,
        "max_minutes": 60.0,
    }


def test_compute_week_on_demand_is_scoped(client, world, db):
    for rep in (world.rep_a, world.rep_b):
        for i, visits in enumerate([40, 42, 38, 40, 10]):
            monday = datetime(2026, 10, 19).date() + timedelta(weeks=i)
            db.add(
                RepWeek(
                    rep_id=rep.id,
                    week_start=monday,
                    iso_year=2026,
                    iso_week=monday.isocalendar().week,
                    visits=visits,
                    short_visits=0,
                    planned=0,
                    planned_done=0,
                )
            )
    db.commit()
    response = client.post(
        "/v1/weekly-anomalies/compute",
        headers=world.headers("manager_a"),
        json={"week": "2026-W47"},
    )
    assert response.status_code == 200, response.text
    # W47's 10 visits lie far below the history (40, 42, 38, 40): only rep_a's counts.
    assert response.json()["reps"] == 2 and response.json()["anomalies"] == 1
    assert (
        client.post(
            "/v1/weekly-anomalies/compute",
            headers=world.headers("rep_a"),
            json={"week": "2026-W47"},
        ).status_code
        == 403
    )
    bad = client.post(
        "/v1/weekly-anomalies/compute", headers=world.headers("admin"), json={"week": "2026-W60"}
    )
    assert bad.status_code == 422 and "ISO week" in bad.json()["error"]["message"]
    codes = db.execute(select(WeeklyAnomaly.rep_id, WeeklyAnomaly.code)).all()
    assert codes == [(world.rep_a.id, "visit_count_outlier")]


@pytest.mark.parametrize(
    ("value", "monday"),
    [
        ("2026-W47", "2026-11-16"),
        ("2026-11-22", "2026-11-16"),
        ("2027-W01", "2027-01-04"),
        ("2026-W53", "2026-12-28"),
    ],
)
def test_parse_week(value, monday):
    assert parse_week(value).isoformat() == monday


def test_recompute_range_is_bounded(client, world):
    response = client.post(
        "/v1/analytics/recompute",
        headers=world.headers("admin"),
        json={"date_from": "2024-01-01", "date_to": "2026-01-01"},
    )
    assert response.status_code == 422 and "split" in response.json()["error"]["message"]
