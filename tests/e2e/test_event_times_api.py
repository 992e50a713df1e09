"""Device times are bounded: not more than max_backdate_days (35) in the past, not before
the company's start, not beyond future_tolerance_hours ahead — on every way a device
time comes in (check-in, check-out, pings, OsmAnd, GPX), each refusal with its reason,
ping by ping (issue 12: year-1 and 1970 pings created partitions and broke the job)."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from sfa.tracking import days

NOW = datetime.now(UTC)
OLD_TIMES = ["0001-01-01T00:00:00+00:00", "1900-01-01T00:00:00+00:00", "1970-01-01T00:00:00Z"]


@pytest.fixture(autouse=True)
def default_bounds(db):
    """The default max_backdate_days (the suite's database allows ten years: conftest)."""
    db.execute(text("DELETE FROM company_settings WHERE key = 'max_backdate_days'"))
    db.commit()


def _check_in(client, world, at: str, customer=None):
    body = {
        "client_id": "6f1c1c1e-0000-4000-8000-00000000000a",
        "customer_id": (customer or world.customer_a).id,
        "at": at,
        "lat": -6.2,
        "lon": 106.8,
    }
    return client.post("/v1/visits/check-in", json=body, headers=world.headers("rep_a"))


@pytest.mark.parametrize("at", [*OLD_TIMES, (NOW - timedelta(days=36)).isoformat()])
def test_a_check_in_too_far_back_is_refused_with_the_reason(client, world, at):
    response = _check_in(client, world, at)
    assert response.status_code == 422, response.text
    assert "days in the past" in response.json()["error"]["message"]


def test_a_recent_check_in_is_accepted(client, world):
    assert _check_in(client, world, (NOW - timedelta(days=34)).isoformat()).status_code == 201


def test_nothing_before_the_company_start(client, world, db):
    start = (NOW - timedelta(days=3)).date()
    client.patch(
        "/v1/settings",
        json={"company_start_date": start.isoformat()},
        headers=world.headers("admin"),
    ).raise_for_status()
    response = _check_in(client, world, (NOW - timedelta(days=5)).isoformat())
    assert response.status_code == 422
    assert "company's start" in response.json()["error"]["message"]


def test_a_check_out_too_far_back_is_refused(client, world):
    visit = _check_in(client, world, (NOW - timedelta(hours=1)).isoformat()).json()
    response = client.post(
        f"/v1/visits/{visit['id']}/check-out",
        json={"at": "1970-01-01T00:00:00Z"},
        headers=world.headers("rep_a"),
    )
    assert response.status_code == 422, response.text


def _partitions(db) -> set[str]:
    return set(
        db.execute(
            text("SELECT relname FROM pg_class WHERE relname LIKE 'pings\\_%' AND relkind = 'r'")
        ).scalars()
    )


def test_pings_out_of_bounds_are_rejected_one_by_one_and_make_no_partition(client, world, db):
    before = _partitions(db)
    good = {"at": (NOW - timedelta(minutes=5)).isoformat(), "lat": -6.2, "lon": 106.8}
    future = {"at": (NOW + timedelta(days=3)).isoformat(), "lat": -6.2, "lon": 106.8}
    batch = [{"at": at, "lat": -6.2, "lon": 106.8} for at in OLD_TIMES] + [good, future]
    response = client.post("/v1/pings", json=batch, headers=world.headers("rep_a"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["accepted"] == 1
    rejected = {r["index"]: r["reason"] for r in body["rejected"]}
    assert set(rejected) == {0, 1, 2, 4}
    assert all("days in the past" in rejected[i] for i in (0, 1, 2))
    assert "in the future" in rejected[4]
    assert not any(
        name.startswith(("pings_1_", "pings_1900", "pings_1970"))
        for name in _partitions(db) - before
    )


def test_osmand_timestamp_zero_is_refused(client, world, db):
    client.post(
        "/v1/devices",
        json={"id": "tracker-0001", "rep_id": world.rep_a.id},
        headers=world.headers("admin"),
    ).raise_for_status()
    response = client.get(
        "/v1/osmand", params={"id": "tracker-0001", "timestamp": "0", "lat": "-6.2", "lon": "106.8"}
    )
    assert response.status_code == 422, response.text
    assert "days in the past" in response.json()["error"]["message"]


def test_gpx_points_too_far_back_are_reported(client, world):
    old = "1970-01-01T00:00:00Z"
    recent = (NOW - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    gpx = (
        '<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        f'<trkpt lat="-6.2" lon="106.8"><time>{old}</time></trkpt>'
        f'<trkpt lat="-6.2" lon="106.8"><time>{recent}</time></trkpt>'
        "</trkseg></trk></gpx>"
    ).encode()
    response = client.post(
        f"/v1/reps/{world.rep_a.id}/gpx",
        files={"file": ("t.gpx", gpx)},
        headers=world.headers("admin"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    assert [r["index"] for r in response.json()["rejected"]] == [0]


def test_a_day_outside_the_supported_years_is_not_analysed(db, world):
    """Days stored before the bounds existed: refused with the reason, no OverflowError."""
    from datetime import date

    from sfa.errors import InvalidInput

    with pytest.raises(InvalidInput, match="not analysed"):
        days.compute_day(db, rep_id=world.rep_a.id, day=date(1, 1, 1))
