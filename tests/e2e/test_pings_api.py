from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from sfa.tracking.models import Ping, RepDay

NOW = datetime.now(UTC).replace(microsecond=0)


def ping(minutes, lat=-6.2, lon=106.8, **extra):
    return {
        "at": (NOW - timedelta(minutes=minutes)).isoformat(),
        "lat": lat,
        "lon": lon,
        "accuracy_m": 10,
    } | extra


def count(db, rep):
    return db.scalar(select(func.count()).select_from(Ping).where(Ping.rep_id == rep.id))


def test_valid_items_stored_invalid_reported_by_index(client, world, db):
    batch = [
        ping(30),
        ping(29, lat=95),
        ping(28),
        {"lat": 1},
        ping(27, accuracy_m=-1),
        ping(-60 * 25),
        ping(26, lat="NaN"),
        ping(25, bearing=400),
        ping(24),
    ]
    response = client.post("/v1/pings", json=batch, headers=world.headers("rep_a"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    rejected = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(rejected) == [1, 3, 4, 5, 6, 7]
    assert "lat" in rejected[1] and "at" in rejected[3] and "accuracy_m" in rejected[4]
    assert "future" in rejected[5] and "bearing" in rejected[7]
    assert body["accepted"] + body["duplicates"] + len(body["rejected"]) == len(batch)
    assert count(db, world.rep_a) == 3


def test_each_ping_is_stored_with_its_fields_as_sent(client, world, db):
    full = ping(
        9,
        accuracy_m=0,
        speed_mps=1.5,
        bearing=90,
        altitude_m=12,
        battery_pct=80,
        mock=True,
        device_id="  phone-7 ",
    )
    bare = {"at": (NOW - timedelta(minutes=8)).isoformat(), "lat": -6.21, "lon": 106.81}
    batch = [full, bare, ping(7, colour="red"), ping(6, mock=None)]
    body = client.post("/v1/pings", json=batch, headers=world.headers("rep_a")).json()
    assert body["accepted"] == 2
    rejected = {r["index"]: r["reason"] for r in body["rejected"]}
    assert sorted(rejected) == [2, 3]
    assert "colour" in rejected[2] and "mock" in rejected[3]
    stored = db.scalars(select(Ping).where(Ping.rep_id == world.rep_a.id).order_by(Ping.at)).all()
    got = [
        (p.accuracy_m, p.speed_mps, p.bearing, p.altitude_m, p.battery_pct, p.mock, p.device_id)
        for p in stored
    ]
    # An accuracy of 0 means unknown; the device id is trimmed; absent means unknown.
    assert got == [
        (None, 1.5, 90, 12, 80, True, "phone-7"),
        (None, None, None, None, None, False, None),
    ]


def test_resent_and_repeated_pings_are_stored_once(client, world, db):
    batch = [ping(m) for m in range(40, 10, -1)]
    first = client.post("/v1/pings", json={"pings": batch}, headers=world.headers("rep_a"))
    assert first.json() == {"accepted": 30, "duplicates": 0, "rejected": []}
    again = client.post("/v1/pings", json=batch + batch[:5], headers=world.headers("rep_a"))
    assert again.json() == {"accepted": 0, "duplicates": 35, "rejected": []}
    mixed = client.post("/v1/pings", json=[*batch[:3], ping(5)], headers=world.headers("rep_a"))
    assert mixed.json() == {"accepted": 1, "duplicates": 3, "rejected": []}
    assert count(db, world.rep_a) == 31


def test_pings_of_different_reps_do_not_collide(client, world, db):
    batch = [ping(5)]
    client.post("/v1/pings", json=batch, headers=world.headers("rep_a"))
    assert (
        client.post("/v1/pings", json=batch, headers=world.headers("rep_b")).json()["accepted"] == 1
    )


def test_months_get_partitions_and_days_are_marked(client, world, db):
    old = [
        {"at": "2025-01-31T23:59:00+00:00", "lat": -6.2, "lon": 106.8},
        {"at": "2025-02-01T00:01:00+00:00", "lat": -6.2, "lon": 106.8},
    ]
    assert (
        client.post("/v1/pings", json=old, headers=world.headers("rep_a")).json()["accepted"] == 2
    )
    partitions = (
        db.execute(
            text(
                "SELECT inhrelid::regclass::text FROM pg_inherits "
                "WHERE inhparent = 'pings'::regclass ORDER BY 1"
            )
        )
        .scalars()
        .all()
    )
    assert {"pings_p2025_01", "pings_p2025_02"} <= set(partitions)
    # Both instants are on 1 February in Jakarta (UTC+7).
    days = db.execute(select(RepDay.day, RepDay.dirty).where(RepDay.rep_id == world.rep_a.id))
    assert [(d.isoformat(), dirty) for d, dirty in days] == [("2025-02-01", True)]


@pytest.mark.parametrize("repeat_first", [False, True])
def test_a_resend_that_reaches_a_month_without_partition(client, world, db, repeat_first):
    # Ingest creates a month's partition when its COPY finds none. COPY routes rows to
    # partitions as it reads them but checks uniqueness in buffered chunks (~1,000 rows or
    # 64 kB), so with 1,500 rows between them the repeat is refused first: the fallback for
    # repeats must create the partition too.
    stored = ping(30)
    client.post("/v1/pings", json=[stored], headers=world.headers("rep_a"))
    new_month = {"at": "2024-03-10T08:00:00+00:00", "lat": -6.2, "lon": 106.8}
    filler = [
        {"at": (NOW - timedelta(minutes=31, seconds=i)).isoformat(), "lat": -6.2, "lon": 106.8}
        for i in range(1, 1501)
    ]
    batch = [stored, *filler, new_month] if repeat_first else [new_month, stored, *filler]
    body = client.post("/v1/pings", json=batch, headers=world.headers("rep_a")).json()
    assert body == {"accepted": 1501, "duplicates": 1, "rejected": []}
    assert count(db, world.rep_a) == 1502
    assert db.scalar(text("SELECT to_regclass('pings_p2024_03')")) is not None


def test_partition_month_is_the_utc_month_whatever_the_offset(client, world, db):
    # 1 March 2024 07:00 in Jakarta is still 29 February in UTC: the February partition.
    late_feb = [
        {"at": "2024-03-01T06:00:00+07:00", "lat": -6.2, "lon": 106.8},
        {"at": "2024-03-01T06:30:00+07:00", "lat": -6.2, "lon": 106.8},
    ]
    assert (
        client.post("/v1/pings", json=late_feb, headers=world.headers("rep_a")).json()["accepted"]
        == 2
    )
    stored = (
        db.execute(
            text("SELECT tableoid::regclass::text FROM pings WHERE rep_id = :r"),
            {"r": world.rep_a.id},
        )
        .scalars()
        .all()
    )
    assert stored == ["pings_p2024_02", "pings_p2024_02"]


def test_batch_limits_and_shapes(client, world):
    too_many = [ping(1)] * 5001
    response = client.post("/v1/pings", json=too_many, headers=world.headers("rep_a"))
    assert response.status_code == 422 and "5000" in response.json()["error"]["message"]
    assert (
        client.post("/v1/pings", json={"nope": 1}, headers=world.headers("rep_a")).status_code
        == 422
    )
    assert client.post("/v1/pings", json=[], headers=world.headers("rep_a")).json() == {
        "accepted": 0,
        "duplicates": 0,
        "rejected": [],
    }
    assert (
        client.post("/v1/pings", json=[ping(1)], headers=world.headers("manager_a")).status_code
        == 403
    )


def test_osmand_protocol_for_a_registered_device(client, world, db):
    registered = client.post(
        "/v1/devices",
        headers=world.headers("manager_a"),
        json={"id": "traccar-123456", "rep_id": world.rep_a.id},
    )
    assert registered.status_code == 201, registered.text
    assert (
        client.post(
            "/v1/devices",
            headers=world.headers("manager_a"),
            json={"id": "traccar-999", "rep_id": world.rep_b.id},
        ).status_code
        == 404
    )
    ts = int((NOW - timedelta(minutes=3)).timestamp())
    response = client.get(
        "/v1/osmand",
        params={
            "id": "traccar-123456",
            "timestamp": ts,
            "lat": -6.2,
            "lon": 106.8,
            "speed": 10,
            "accuracy": 0,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1
    stored = db.scalar(select(Ping).where(Ping.rep_id == world.rep_a.id))
    assert stored.speed_mps == __import__("pytest").approx(5.14444, rel=1e-4)
    assert stored.accuracy_m is None  # 0 means unknown
    form = client.post(
        "/v1/osmand",
        data={"deviceid": "traccar-123456", "timestamp": ts + 60, "location": "-6.2001,106.8001"},
    )
    assert form.json()["accepted"] == 1
    unknown = client.get(
        "/v1/osmand", params={"id": "nobody-here", "timestamp": ts, "lat": -6.2, "lon": 106.8}
    )
    assert unknown.status_code == 401
    bad = client.get(
        "/v1/osmand", params={"id": "traccar-123456", "timestamp": ts, "lat": 91, "lon": 106.8}
    )
    assert bad.status_code == 422


def test_a_gpx_import_stores_the_timed_points_and_rejects_the_untimed(client, world, db):
    # A logger that writes points before it has a GPS time: the file used to be refused
    # outright; now the timed points are stored and the others reported like ping items.
    def point(lat, minutes=None):
        time = (
            ""
            if minutes is None
            else f"<time>{(NOW - timedelta(minutes=minutes)).isoformat()}</time>"
        )
        return f'<trkpt lat="{lat}" lon="106.8">{time}</trkpt>'

    gpx = (
        '<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
        + point(-6.20)
        + point(-6.201)
        + point(-6.202, 30)
        + point(-6.203, 29)
        + point(-6.204)
        + point(-6.205, 28)
        + "</trkseg></trk></gpx>"
    ).encode()
    response = client.post(
        f"/v1/reps/{world.rep_a.id}/gpx",
        files={"file": ("day.gpx", gpx, "application/gpx+xml")},
        headers=world.headers("admin"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["duplicates"]) == (3, 0)
    assert [r["index"] for r in body["rejected"]] == [0, 1, 4]
    assert all(r["reason"].startswith("has no <time>") for r in body["rejected"])
    assert count(db, world.rep_a) == 3
