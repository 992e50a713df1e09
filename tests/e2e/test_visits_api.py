import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from pyproj import Geod
from sqlalchemy import func, select, text

from factories import make_customer
from sfa.customers.models import Customer
from sfa.tracking.models import RepDay
from sfa.visits.models import Visit

GEOD = Geod(ellps="WGS84")


def now() -> datetime:
    """The time at the call: the suite may reach a test long after importing it (a
    module-level "now" made a check-in look 11 minutes skewed after a slow suite)."""
    return datetime.now(UTC).replace(microsecond=0)


def offset(lat, lon, metres, azimuth=0.0):
    lon2, lat2, _ = GEOD.fwd(lon, lat, azimuth, metres)
    return lat2, lon2


def check_in_body(customer, metres=20.0, **extra):
    lat, lon = offset(-6.2, 106.8, metres)
    body = {
        "client_id": str(uuid.uuid4()),
        "customer_id": customer.id,
        "at": (now() - timedelta(minutes=30)).isoformat(),
        "lat": lat,
        "lon": lon,
        "accuracy_m": 12,
    }
    return body | extra


def test_check_in_is_verified_and_replay_returns_the_same_visit(client, world):
    body = check_in_body(world.customer_a)
    first = client.post("/v1/visits/check-in", json=body, headers=world.headers("rep_a"))
    assert first.status_code == 201, first.text
    visit = first.json()
    assert visit["verification_status"] == "verified"
    assert visit["distance_to_customer_m"] == pytest.approx(20, abs=0.2)
    assert visit["flags"] == [] and visit["trust_score"] == 100
    # A retry with a new sent_at (the device clock at resend) is the same check-in.
    replay = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json=body | {"sent_at": now().isoformat()},
    )
    assert replay.status_code == 200
    assert replay.json()["id"] == visit["id"]
    changed = client.post(
        "/v1/visits/check-in", headers=world.headers("rep_a"), json=body | {"accuracy_m": 40}
    )
    assert changed.status_code == 409
    assert "client_id" in changed.json()["error"]["message"]


def test_too_far_and_mock_are_flagged_with_reasons(client, world):
    far = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json=check_in_body(world.customer_a, metres=350),
    ).json()
    assert far["verification_status"] == "too_far"
    flag = far["flags"][0]
    assert flag["code"] == "too_far" and flag["numbers"]["radius_m"] == 300
    assert "350 m" in flag["reason_en"] and "350 m" in flag["reason_id"]
    assert far["trust_score"] == 60
    mock = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json=check_in_body(world.customer_a, mock=True),
    ).json()
    assert mock["verification_status"] == "mock_location"
    assert [f["code"] for f in mock["flags"]] == ["mock_location"]


def test_no_position_and_unknown_customer_location(client, world, db):
    body = check_in_body(world.customer_a)
    del body["lat"], body["lon"]
    assert (
        client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=body).json()[
            "verification_status"
        ]
        == "no_position"
    )
    half = check_in_body(world.customer_a)
    del half["lon"]
    response = client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=half)
    assert response.status_code == 422 and "both lat and lon" in response.text


@pytest.mark.parametrize(("accuracy", "captured"), [(50, True), (0, False), (60, False)])
def test_customer_location_is_captured_from_first_accurate_check_in(
    client, world, db, accuracy, captured
):
    new = make_customer(db, "A-NOLOC", world.team_a)
    db.commit()
    response = client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json=check_in_body(new, accuracy_m=accuracy),
    )
    assert response.json()["verification_status"] == "customer_location_unknown"
    db.expire_all()
    customer = db.get(Customer, new.id)
    assert (customer.location is not None) is captured
    assert customer.location_status == ("captured" if captured else "unknown")


def test_clock_skew_is_flagged_but_an_old_offline_check_in_is_not(client, world):
    old = check_in_body(
        world.customer_a, at=(now() - timedelta(hours=6)).isoformat(), sent_at=now().isoformat()
    )
    assert (
        client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=old).json()["flags"]
        == []
    )
    skewed = check_in_body(world.customer_a, sent_at=(now() - timedelta(minutes=11)).isoformat())
    flags = client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=skewed).json()[
        "flags"
    ]
    assert [f["code"] for f in flags] == ["clock_skew"]
    assert flags[0]["numbers"]["skew_minutes"] >= 11


def test_future_check_in_is_refused(client, world):
    ahead = check_in_body(world.customer_a, at=(now() + timedelta(hours=25)).isoformat())
    response = client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=ahead)
    assert response.status_code == 422 and "future" in response.json()["error"]["message"]
    within = check_in_body(world.customer_a, at=(now() + timedelta(hours=23)).isoformat())
    assert (
        client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=within).status_code
        == 201
    )


def test_timestamp_without_offset_is_refused(client, world):
    body = check_in_body(world.customer_a, at="2026-11-23T08:00:00")
    response = client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=body)
    assert response.status_code == 422 and "at" in response.json()["error"]["message"]


def test_foreign_customer_and_non_rep(client, world):
    response = client.post(
        "/v1/visits/check-in", headers=world.headers("rep_a"), json=check_in_body(world.customer_b)
    )
    assert response.status_code == 404
    response = client.post(
        "/v1/visits/check-in",
        headers=world.headers("manager_a"),
        json=check_in_body(world.customer_a),
    )
    assert response.status_code == 403


def test_check_out_gives_dwell_and_is_idempotent(client, world):
    body = check_in_body(world.customer_a)
    visit = client.post("/v1/visits/check-in", headers=world.headers("rep_a"), json=body).json()
    # From the check-in's own time: two now() calls may straddle a second on a slow machine.
    checked_in = datetime.fromisoformat(body["at"])
    out = {"at": (checked_in + timedelta(minutes=18)).isoformat(), "lat": -6.2, "lon": 106.8}
    first = client.post(
        f"/v1/visits/{visit['id']}/check-out", json=out, headers=world.headers("rep_a")
    )
    assert first.status_code == 200, first.text
    assert (first.json()["dwell_seconds"], first.json()["dwell_source"]) == (18 * 60, "check_out")
    assert (
        client.post(
            f"/v1/visits/{visit['id']}/check-out", json=out, headers=world.headers("rep_a")
        ).json()
        == first.json()
    )
    other = out | {"at": (checked_in + timedelta(minutes=25)).isoformat()}
    assert (
        client.post(
            f"/v1/visits/{visit['id']}/check-out", json=other, headers=world.headers("rep_a")
        ).status_code
        == 409
    )
    # Another rep cannot even see the visit.
    assert (
        client.post(
            f"/v1/visits/{visit['id']}/check-out", json=out, headers=world.headers("rep_a2")
        ).status_code
        == 404
    )


def test_check_out_before_check_in_is_refused(client, world):
    visit = client.post(
        "/v1/visits/check-in", headers=world.headers("rep_a"), json=check_in_body(world.customer_a)
    ).json()
    early = {"at": (now() - timedelta(hours=2)).isoformat(), "lat": -6.2, "lon": 106.8}
    response = client.post(
        f"/v1/visits/{visit['id']}/check-out", json=early, headers=world.headers("rep_a")
    )
    assert response.status_code == 422 and "before the check-in" in response.text


def test_check_in_marks_its_local_day_for_recompute(client, world, db):
    at = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)  # 06:30 on the 21st in Jakarta
    client.post(
        "/v1/visits/check-in",
        headers=world.headers("rep_a"),
        json=check_in_body(world.customer_a, at=at.isoformat()),
    )
    days = db.scalars(select(RepDay.day).where(RepDay.rep_id == world.rep_a.id)).all()
    assert [d.isoformat() for d in days] == ["2026-11-21"]


def test_visits_list_is_scoped(client, world):
    client.post(
        "/v1/visits/check-in", headers=world.headers("rep_a"), json=check_in_body(world.customer_a)
    )
    assert client.get("/v1/visits", headers=world.headers("rep_a")).json()["total"] == 1
    assert client.get("/v1/visits", headers=world.headers("rep_a2")).json()["total"] == 0
    assert client.get("/v1/visits", headers=world.headers("manager_a")).json()["total"] == 1
    assert client.get("/v1/visits", headers=world.headers("manager_b")).json()["total"] == 0


def test_location_proposal_approved_by_manager_keeps_history(client, world, db):
    lat, lon = offset(-6.2, 106.8, 400)
    proposal = client.post(
        f"/v1/customers/{world.customer_a.id}/location-proposals",
        headers=world.headers("rep_a"),
        json={"lat": lat, "lon": lon, "accuracy_m": 8, "note": "shop moved"},
    )
    assert proposal.status_code == 201, proposal.text
    pid = proposal.json()["id"]
    assert (
        client.post(
            f"/v1/customers/{world.customer_a.id}/location-proposals/{pid}/approve",
            headers=world.headers("rep_a"),
        ).status_code
        == 403
    )
    assert (
        client.post(
            f"/v1/customers/{world.customer_a.id}/location-proposals/{pid}/approve",
            headers=world.headers("manager_b"),
        ).status_code
        == 404
    )
    approved = client.post(
        f"/v1/customers/{world.customer_a.id}/location-proposals/{pid}/approve",
        headers=world.headers("manager_a"),
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert (approved.json()["previous_lat"], approved.json()["previous_lon"]) == (-6.2, 106.8)
    customer = client.get(
        f"/v1/customers/{world.customer_a.id}", headers=world.headers("rep_a")
    ).json()
    assert customer["location"] == {"lat": pytest.approx(lat), "lon": pytest.approx(lon)}
    assert customer["location_status"] == "approved"
    again = client.post(
        f"/v1/customers/{world.customer_a.id}/location-proposals/{pid}/reject",
        headers=world.headers("manager_a"),
    )
    assert again.status_code == 409
    history = client.get(
        f"/v1/customers/{world.customer_a.id}/location-proposals",
        headers=world.headers("manager_a"),
    ).json()
    assert [h["status"] for h in history] == ["approved"]


def test_a_check_in_waits_for_a_lock_at_most_a_second_then_answers_busy(client, world, db, engine):
    """Check-in runs on the event loop (api.deps): a lock held elsewhere must not stall it
    (and the process) indefinitely; the client is told to retry and nothing is kept."""
    with engine.connect() as other:
        other.execute(text("LOCK TABLE rep_days IN ACCESS EXCLUSIVE MODE"))
        # Without a bound the check-in would wait for this lock forever: release it after
        # 5 s anyway, so that such a regression fails instead of hanging.
        release = threading.Timer(5, other.rollback)
        release.start()
        started = time.monotonic()
        body = check_in_body(world.customer_a)
        busy = client.post("/v1/visits/check-in", json=body, headers=world.headers("rep_a"))
        waited = time.monotonic() - started
        release.cancel()
        release.join()
        other.rollback()
    assert busy.status_code == 503, busy.text
    assert busy.headers["Retry-After"] == "1"
    assert busy.json()["error"]["code"] == "busy"
    assert 0.9 < waited < 4
    assert db.scalar(select(func.count()).select_from(Visit)) == 0
    retried = client.post("/v1/visits/check-in", json=body, headers=world.headers("rep_a"))
    assert retried.status_code == 201, retried.text
