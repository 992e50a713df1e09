import pytest


def test_defaults_match_design(client, world):
    body = client.get("/v1/settings", headers=world.headers("rep_a")).json()
    assert body["timezone"] == "Asia/Jakarta" and body["currency"] == "IDR"
    assert (
        body["verify_radius_m"],
        body["low_accuracy_radius_m"],
        body["low_accuracy_threshold_m"],
    ) == (300, 600, 100)
    assert (
        body["max_speed_kmh"],
        body["gap_minutes"],
        body["stop_radius_m"],
        body["stop_min_minutes"],
        body["dwell_radius_m"],
    ) == (200, 15, 100, 5, 150)
    assert (body["discount_auto_max_pct"], body["discount_single_max_pct"]) == (5, 15)


def test_admin_change_is_audited_old_to_new(client, world):
    response = client.patch(
        "/v1/settings",
        headers=world.headers("admin"),
        json={"verify_radius_m": 250, "timezone": "Asia/Makassar"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["verify_radius_m"] == 250
    assert (
        client.get("/v1/settings", headers=world.headers("rep_a")).json()["timezone"]
        == "Asia/Makassar"
    )
    audit = client.get(
        "/v1/audit", headers=world.headers("admin"), params={"entity": "setting"}
    ).json()["items"]
    changes = {e["entity_id"]: (e["old"]["value"], e["new"]["value"], e["actor"]) for e in audit}
    actor = f"user:{world.admin.id}"
    assert changes == {
        "verify_radius_m": (300, 250, actor),
        "timezone": ("Asia/Jakarta", "Asia/Makassar", actor),
    }


def test_unchanged_value_is_not_audited(client, world):
    client.patch("/v1/settings", headers=world.headers("admin"), json={"currency": "IDR"})
    audit = client.get(
        "/v1/audit", headers=world.headers("admin"), params={"entity": "setting"}
    ).json()
    assert audit["total"] == 0


@pytest.mark.parametrize("who", ["rep_a", "manager_a"])
def test_only_admin_changes_settings(client, world, who):
    response = client.patch("/v1/settings", headers=world.headers(who), json={"verify_radius_m": 1})
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"verify_radius_m": -1}, "verify_radius_m"),
        ({"verify_radius_m": "wide"}, "verify_radius_m"),
        ({"workday_start": "25:00"}, "workday_start"),
        ({"workday_start": "19:00"}, "workday_start must be before"),
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"discount_auto_max_pct": 20}, "discount_auto_max_pct"),
        ({"ping_retention_months": 1}, "keeps less than max_backdate_days"),
        ({"ping_retention_months": 2, "max_backdate_days": 56}, "ping_retention_months 2"),
    ],
)
def test_invalid_settings_are_422_and_nothing_changes(client, world, change, needle):
    response = client.patch("/v1/settings", headers=world.headers("admin"), json=change)
    assert response.status_code == 422
    assert needle in response.json()["error"]["message"]
    assert (
        client.get("/v1/settings", headers=world.headers("admin")).json()["verify_radius_m"] == 300
    )
