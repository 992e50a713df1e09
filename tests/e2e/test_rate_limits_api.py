"""Rate limits per user and per API key: 429 with Retry-After past the limit, and the
RateLimit-* headers on every authenticated response (api/ratelimit.py)."""

import pytest

from api import ratelimit
from sfa.auth import service as auth_service
from sfa.config import get_settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(ratelimit, "_limiter", ratelimit.Limiter(clock=clock))
    return clock


@pytest.fixture
def limits(monkeypatch):
    settings = get_settings()
    monkeypatch.setattr(settings, "rate_limit_user_per_minute", 3)
    monkeypatch.setattr(settings, "rate_limit_api_key_per_minute", 2)
    return settings


def _api_key(db, world) -> dict[str, str]:
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(db, actor=admin, name="bi", scopes=["reports:read"])
    db.commit()
    return {"X-API-Key": plaintext}


def test_a_user_past_the_limit_gets_429_with_retry_after_then_passes_again(
    client, world, clock, limits
):
    headers = world.headers("rep_a")
    seen = []
    for _ in range(3):
        response = client.get("/v1/customers", headers=headers)
        assert response.status_code == 200
        seen.append(int(response.headers["RateLimit-Remaining"]))
        assert response.headers["RateLimit-Limit"] == "3"
    assert seen == [2, 1, 0]

    clock.now += 20
    refused = client.get("/v1/customers", headers=headers)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert refused.headers["Retry-After"] == "40"
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Reset"] == "40"

    clock.now += 40
    again = client.get("/v1/customers", headers=headers)
    assert again.status_code == 200
    assert again.headers["RateLimit-Remaining"] == "2"


def test_each_user_and_each_key_has_its_own_allowance(client, db, world, clock, limits):
    for _ in range(3):
        assert client.get("/v1/customers", headers=world.headers("rep_a")).status_code == 200
    assert client.get("/v1/customers", headers=world.headers("rep_a")).status_code == 429
    # Another user of the same team is not held back by rep_a.
    other = client.get("/v1/customers", headers=world.headers("manager_a"))
    assert other.status_code == 200

    key = _api_key(db, world)
    url = "/v1/reports/suspicious-visits"
    statuses = [client.get(url, headers=key).status_code for _ in range(3)]
    assert statuses[2] == 429
    assert statuses[0] != 429 and statuses[1] != 429


def test_errors_of_an_authenticated_caller_carry_the_headers_too(client, world, clock, limits):
    response = client.get("/v1/customers/987654321", headers=world.headers("rep_a"))
    assert response.status_code == 404
    assert response.headers["RateLimit-Limit"] == "3"
    assert response.headers["RateLimit-Remaining"] == "2"


def test_a_wrong_secret_does_not_spend_a_keys_allowance(client, db, world, clock, limits):
    key = _api_key(db, world)
    head, _, secret = key["X-API-Key"].rpartition("_")
    forged = {"X-API-Key": f"{head}_{'x' * len(secret)}"}
    for _ in range(5):
        assert client.get("/v1/reports/suspicious-visits", headers=forged).status_code == 401
    assert client.get("/v1/reports/suspicious-visits", headers=key).status_code != 429


def test_a_limit_of_zero_is_no_limit(client, world, clock, limits, monkeypatch):
    monkeypatch.setattr(limits, "rate_limit_user_per_minute", 0)
    for _ in range(5):
        response = client.get("/v1/customers", headers=world.headers("rep_a"))
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response.headers


def test_the_table_of_callers_is_bounded():
    limiter = ratelimit.Limiter(max_callers=3, clock=Clock())
    for caller in ("a", "b", "c", "d"):
        limiter.hit(caller, 1)
    assert len(limiter._windows) == 3
    # "a", the least recently seen, was forgotten: it starts afresh.
    assert limiter.hit("a", 1)[1] is True
    assert limiter.hit("d", 1)[1] is False
