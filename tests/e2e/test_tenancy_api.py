"""Requests are routed to their company's database by host name or X-Company header, and
credentials are valid for their own company only (docs/tenancy.md). The app runs as
deployed (no session override): every company is a real database of the test cluster."""

import uuid

import pytest
from fastapi.testclient import TestClient
from polling import wait_until
from sqlalchemy import text

from api.main import create_app
from sfa.auth import principal_cache, tokens
from sfa.db import session_scope
from sfa.tenants import service
from sfa.tenants.engines import get_engines
from sfa.tenants.models import Status
from tenancy import BASE_DOMAIN, COMPANIES


@pytest.fixture
def api(tenancy):
    with TestClient(create_app(), raise_server_exceptions=False) as client:
        yield client


def _login(api, company: str, **headers) -> dict:
    response = api.post(
        "/v1/auth/token",
        data={"username": "admin", "password": COMPANIES[company]},
        headers={"X-Company": company} | headers,
    )
    assert response.status_code == 200, response.text
    return response.json()


def _bearer(token: str, company: str | None = None) -> dict:
    return {"Authorization": f"Bearer {token}"} | ({"X-Company": company} if company else {})


def _customer_codes(company, registry) -> set[str]:
    with service.company_database(registry.lookup(company)), session_scope() as session:
        return set(session.execute(text("SELECT code FROM customers")).scalars())


def test_the_header_and_the_host_route_to_the_company(api, tenancy):
    acme = _login(api, "acme")["access_token"]
    code = f"ACME-{uuid.uuid4().hex[:8]}"
    created = api.post(
        "/v1/customers", json={"code": code, "name": "Toko Acme"}, headers=_bearer(acme, "acme")
    )
    assert created.status_code == 201, created.text
    assert code in _customer_codes("acme", tenancy)
    assert code not in _customer_codes("beta", tenancy)

    by_host = api.get(
        "/v1/customers", params={"q": code}, headers=_bearer(acme) | {"Host": f"acme.{BASE_DOMAIN}"}
    )
    assert by_host.status_code == 200, by_host.text
    assert [c["code"] for c in by_host.json()["items"]] == [code]
    # Logging in by host name gives a token of that company too.
    by_host_login = _login(api, "beta", Host=f"beta.{BASE_DOMAIN}:8443")
    me = api.get("/v1/me", headers=_bearer(by_host_login["access_token"], "beta"))
    assert me.status_code == 200 and me.json()["username"] == "admin"
    # Each company's pool is open in this process, and its principal cache listens.
    assert {"acme", "beta"} <= set(get_engines().open_companies())


def test_unknown_disabled_and_conflicting_companies_are_refused_before_the_body(api, tenancy):
    body = {"code": "X1", "name": "never read"}
    unknown = api.post("/v1/customers", json=body, headers={"X-Company": "nobody"})
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_company"
    malformed = api.get("/v1/me", headers={"Host": f"a.b.{BASE_DOMAIN}"})
    assert malformed.status_code == 404
    conflict = api.get("/v1/me", headers={"Host": f"acme.{BASE_DOMAIN}", "X-Company": "beta"})
    assert conflict.status_code == 400
    assert conflict.json()["error"]["code"] == "company_conflict"

    service.set_status(tenancy, "beta", Status.disabled)
    try:
        disabled = api.post("/v1/customers", json=body, headers={"X-Company": "beta"})
        assert disabled.status_code == 403
        assert disabled.json()["error"]["code"] == "company_disabled"
        login = api.post(
            "/v1/auth/token",
            data={"username": "admin", "password": COMPANIES["beta"]},
            headers={"X-Company": "beta"},
        )
        assert login.status_code == 403
        assert "beta" not in get_engines().open_companies()  # its pool was closed
    finally:
        service.set_status(tenancy, "beta", Status.active)
    assert api.get("/v1/me", headers={"X-Company": "beta"}).status_code == 401  # served again
    # Liveness answers whatever company is named.
    assert api.get("/healthz", headers={"X-Company": "nobody"}).status_code == 200


def test_a_token_is_refused_on_any_other_company(api, tenancy):
    acme = _login(api, "acme")
    assert api.get("/v1/me", headers=_bearer(acme["access_token"], "acme")).status_code == 200
    for elsewhere in ({"X-Company": "beta"}, {"Host": f"beta.{BASE_DOMAIN}"}, {}):
        response = api.get("/v1/me", headers=_bearer(acme["access_token"]) | elsewhere)
        assert response.status_code == 401, (elsewhere, response.text)
        assert "another company" in response.json()["error"]["message"]
        # A request with a body is refused by the gate, before the body is read.
        posted = api.post(
            "/v1/customers",
            json={"code": "X", "name": "X"},
            headers=_bearer(acme["access_token"]) | elsewhere,
        )
        assert posted.status_code == 401, posted.text
    refreshed = api.post(
        "/v1/auth/refresh",
        json={"refresh_token": acme["refresh_token"]},
        headers={"X-Company": "beta"},
    )
    assert refreshed.status_code == 401
    # The default company's tokens (the test suite's) are refused on a company too, and a
    # token of a company naming a user id that exists in the other company changes nothing.
    with service.company_database(tenancy.lookup("acme")):
        forged = tokens.issue(1, "access")
    assert api.get("/v1/me", headers=_bearer(forged, "beta")).status_code == 401


def test_an_api_key_is_refused_on_any_other_company(api, tenancy):
    acme = _login(api, "acme")["access_token"]
    created = api.post(
        "/v1/api-keys",
        json={"name": "erp", "scopes": ["customers:read"]},
        headers=_bearer(acme, "acme"),
    )
    assert created.status_code == 201, created.text
    key = {"X-API-Key": created.json()["key"]}
    assert api.get("/v1/customers", headers=key | {"X-Company": "acme"}).status_code == 200
    for elsewhere in ({"X-Company": "beta"}, {}):
        refused = api.get("/v1/customers", headers=key | elsewhere)
        assert refused.status_code == 401, refused.text


def test_each_company_has_its_own_principal_cache(api, tenancy):
    """User ids are per database: user 1 of acme is not user 1 of beta."""
    acme = _login(api, "acme")["access_token"]
    beta = _login(api, "beta")["access_token"]
    for _ in range(2):  # the second time from the caches
        assert api.get("/v1/me", headers=_bearer(acme, "acme")).json()["username"] == "admin"
        assert api.get("/v1/me", headers=_bearer(beta, "beta")).json()["username"] == "admin"
    # Each company's cache listens on its own database (the API's lifespan started them).
    wait_until(lambda: {"acme", "beta"} <= set(principal_cache.cache.listening()))
