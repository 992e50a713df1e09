import csv
import io

import pytest
from pyproj import Geod

GEOD = Geod(ellps="WGS84")


def test_rep_creates_customer_in_own_territory(client, world):
    response = client.post(
        "/v1/customers",
        headers=world.headers("rep_a"),
        json={
            "code": "A100",
            "name": "Warung Baru",
            "customer_class": "warung",
            "location": {"lat": -6.21, "lon": 106.81},
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["team_id"] == world.team_a.id
    assert body["location"] == {"lat": -6.21, "lon": 106.81}
    assert body["location_status"] == "imported"


def test_duplicate_code_is_409_with_explanation(client, world):
    response = client.post(
        "/v1/customers", headers=world.headers("admin"), json={"code": "A001", "name": "Dup"}
    )
    assert response.status_code == 409
    assert "A001" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("location", "needle"),
    [
        ({"lat": 90.0001, "lon": 0}, "location.lat"),
        ({"lat": -90.5, "lon": 0}, "location.lat"),
        ({"lat": 0, "lon": 180.01}, "location.lon"),
        ({"lat": 0, "lon": -181}, "location.lon"),
        ({"lat": "NaN", "lon": 0}, "location.lat"),
        ({"lat": 0}, "location.lon"),
    ],
)
def test_bad_coordinates_are_422_naming_the_field(client, world, location, needle):
    response = client.post(
        "/v1/customers",
        headers=world.headers("admin"),
        json={"code": "BAD", "name": "Bad", "location": location},
    )
    assert response.status_code == 422
    assert needle in response.json()["error"]["message"]


def test_boundary_coordinates_are_accepted(client, world):
    for i, (lat, lon) in enumerate([(90, 180), (-90, -180)]):
        response = client.post(
            "/v1/customers",
            headers=world.headers("admin"),
            json={"code": f"EDGE{i}", "name": "Edge", "location": {"lat": lat, "lon": lon}},
        )
        assert response.status_code == 201, response.text


def test_raw_nan_literal_in_json_is_rejected(client, world):
    response = client.post(
        "/v1/customers",
        headers=world.headers("admin") | {"content-type": "application/json"},
        content=b'{"code": "N1", "name": "n", "location": {"lat": NaN, "lon": 1}}',
    )
    assert response.status_code == 422
    assert "finite" in response.json()["error"]["message"]


def test_unknown_field_is_rejected_not_dropped(client, world):
    response = client.post(
        "/v1/customers",
        headers=world.headers("admin"),
        json={"code": "U1", "name": "u", "colour": "red"},
    )
    assert response.status_code == 422
    assert "colour" in response.json()["error"]["message"]


@pytest.mark.parametrize("url", ["/v1/customers/999999", "/v1/users/999999", "/v1/teams/999999"])
def test_unknown_ids_are_404(client, world, url):
    response = client.get(url, headers=world.headers("admin"))
    assert response.status_code == 404
    assert "999999" in response.json()["error"]["message"]


def test_non_integer_id_is_422(client, world):
    assert client.get("/v1/customers/abc", headers=world.headers("admin")).status_code == 422


def test_unknown_distributor_and_team_are_422(client, world):
    for body, text in [
        ({"distributor_id": world.customer_a.id}, "not a distributor"),
        ({"team_id": 987654}, "team 987654"),
    ]:
        response = client.post(
            "/v1/customers", headers=world.headers("admin"), json={"code": "Z9", "name": "z"} | body
        )
        assert response.status_code == 422
        assert text in response.json()["error"]["message"]


def test_near_search_orders_by_geodesic_distance(client, world, db):
    from factories import make_customer

    # Points north of customer A at known geodesic distances.
    for code, metres in [("N250", 250), ("N90", 90), ("N600", 600)]:
        lon, lat, _ = GEOD.fwd(106.8, -6.2, 0, metres)
        make_customer(db, code, world.team_a, lat, lon)
    db.commit()
    response = client.get(
        "/v1/customers",
        headers=world.headers("admin"),
        params={"near": "-6.2,106.8", "radius_m": 300},
    )
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [i["code"] for i in items] == ["A001", "N90", "N250"]
    assert [round(i["distance_m"]) for i in items] == [0, 90, 250]


@pytest.mark.parametrize(
    "params",
    [
        {"near": "-6.2", "radius_m": 100},
        {"near": "a,b", "radius_m": 100},
        {"near": "nan,1", "radius_m": 100},
        {"near": "-95,106", "radius_m": 100},
        {"near": "-6.2,106.8"},
        {"radius_m": 100},
        {"bbox": "1,2,3"},
        {"bbox": "106.9,-6.1,106.7,-6.3"},
        {"near": "-6.2,106.8", "radius_m": -5},
    ],
)
def test_bad_search_parameters_are_4xx(client, world, params):
    response = client.get("/v1/customers", headers=world.headers("admin"), params=params)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["message"]


def test_bbox_search_and_geojson(client, world):
    response = client.get(
        "/v1/customers",
        headers=world.headers("admin"),
        params={"bbox": "106.85,-6.35,106.95,-6.25", "format": "geojson"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert sorted(f["properties"]["code"] for f in body["features"]) == ["B001", "BD01"]
    feature = next(f for f in body["features"] if f["properties"]["code"] == "B001")
    assert feature["geometry"] == {"type": "Point", "coordinates": [106.9001, -6.3001]}


def test_geojson_by_accept_header(client, world):
    response = client.get(
        f"/v1/customers/{world.customer_a.id}",
        headers=world.headers("rep_a") | {"Accept": "application/geo+json"},
    )
    assert response.json()["features"][0]["geometry"]["coordinates"] == [106.8, -6.2]


def test_csv_export(client, world):
    response = client.get(
        "/v1/customers", headers=world.headers("manager_b"), params={"format": "csv"}
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["code"] for r in rows) == ["B001", "BD01"]
    assert {"location.lat", "location.lon"} <= set(rows[0])


def test_pagination(client, world):
    first = client.get("/v1/customers", headers=world.headers("admin"), params={"limit": 2}).json()
    assert first["total"] == 3 and len(first["items"]) == 2 and first["next_offset"] == 2
    rest = client.get(
        "/v1/customers", headers=world.headers("admin"), params={"limit": 2, "offset": 2}
    ).json()
    assert len(rest["items"]) == 1 and rest["next_offset"] is None
    assert (
        client.get(
            "/v1/customers", headers=world.headers("admin"), params={"limit": 5000}
        ).status_code
        == 422
    )


def test_rep_cannot_move_an_existing_location(client, world):
    response = client.patch(
        f"/v1/customers/{world.customer_a.id}",
        headers=world.headers("rep_a"),
        json={"location": {"lat": -6.3, "lon": 106.9}},
    )
    assert response.status_code == 403
    assert "propose" in response.json()["error"]["hint"]


def test_delete_referenced_distributor_is_409(client, world):
    response = client.delete(
        f"/v1/customers/{world.distributor_b.id}", headers=world.headers("admin")
    )
    assert response.status_code == 409


def test_update_is_audited(client, world):
    client.patch(
        f"/v1/customers/{world.customer_a.id}",
        headers=world.headers("manager_a"),
        json={"name": "Toko Baru"},
    )
    entries = client.get(
        "/v1/audit", headers=world.headers("admin"), params={"entity": "customer"}
    ).json()["items"]
    assert entries[0]["old"]["name"] == "Toko A001" and entries[0]["new"]["name"] == "Toko Baru"
    assert entries[0]["actor"] == f"user:{world.manager_a.id}"
