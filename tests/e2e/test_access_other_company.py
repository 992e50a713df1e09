"""Every authenticated route refuses another company's credentials (docs/tenancy.md): a
token or API key of acme sent to beta — by header or by host — is 401 on every
operation of the OpenAPI, before the route reads a body or an id. Ids cannot cross
either: beta's database does not hold acme's rows, and acme's credentials never reach
beta's routes at all.

The route list is the app's own OpenAPI (every operation that declares a security
scheme), so a new route is covered the day it is added."""

import re

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from tenancy import BASE_DOMAIN, COMPANIES

OPERATIONS = [
    (method.upper(), path)
    for path, item in create_app().openapi()["paths"].items()
    for method, operation in item.items()
    if operation.get("security")
]


def _concrete(path: str) -> str:
    """The path with every parameter filled (any id: the request never gets that far)."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def credentials(companies, pg_server):
    """acme's admin token and an API key of acme with every scope it may have."""
    from tenancy import tenancy_settings

    with tenancy_settings(pg_server), TestClient(create_app()) as api:
        login = api.post(
            "/v1/auth/token",
            data={"username": "admin", "password": COMPANIES["acme"]},
            headers={"X-Company": "acme"},
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        key = api.post(
            "/v1/api-keys",
            json={"name": "every-route", "scopes": ["customers:read", "exports:read"]},
            headers={"Authorization": f"Bearer {token}", "X-Company": "acme"},
        )
        assert key.status_code == 201, key.text
        yield {"Authorization": f"Bearer {token}"}, {"X-API-Key": key.json()["key"]}


@pytest.fixture
def api(tenancy):
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def test_the_walk_covers_the_api():
    assert len(OPERATIONS) > 100
    assert ("POST", "/v1/visits/check-in") in OPERATIONS


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_acme_credentials_are_refused_by_beta_on_every_route(api, credentials, method, path):
    token, key = credentials
    for credential in (token, key):
        for elsewhere in ({"X-Company": "beta"}, {"Host": f"beta.{BASE_DOMAIN}"}):
            response = api.request(
                method,
                _concrete(path),
                headers=credential | elsewhere,
                json={} if method in ("POST", "PUT", "PATCH") else None,
            )
            assert response.status_code == 401, (method, path, elsewhere, response.text)
            assert response.json()["error"]["code"] == "unauthenticated"
