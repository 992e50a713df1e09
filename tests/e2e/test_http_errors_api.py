"""What the HTTP layer refuses comes in the error envelope, with the right status.

Unknown paths (404), wrong methods (405, also where a `/{id}` route would catch a fixed
path), bodies beyond a route's limit (413, before they are read), bodies without
credentials on authenticated routes (401, before they are read), JSON nested too deep
(400/422): never a 500, never FastAPI's `{"detail": …}` (issue 12).
"""

import asyncio
import json

import anyio
import pytest

from api.main import create_app
from factories import auth_header


def _envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


def test_an_unknown_path_is_a_404_in_the_envelope(client):
    _envelope(client.get("/v1/no-such-thing"), 404, "not_found")
    _envelope(client.get("/nothing/here"), 404, "not_found")


def test_a_wrong_method_is_a_405_naming_the_allowed_ones(client, world):
    response = client.delete("/v1/visits", headers=world.headers("admin"))
    error = _envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET"
    assert "GET" in error["hint"]


# Every path without parameters, with every method it does not take: such a request
# must be a 405 even when a `/{id}` route of that method would match the path.
FIXED = sorted(
    (path, {m.upper() for m in operations})
    for path, operations in create_app().openapi()["paths"].items()
    if "{" not in path
)


@pytest.mark.parametrize(("path", "methods"), FIXED, ids=[p for p, _ in FIXED])
def test_a_fixed_path_with_another_method_is_a_405(client, world, path, methods):
    for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE"} - methods):
        response = client.request(method, path, headers=world.headers("admin"))
        _envelope(response, 405, "method_not_allowed")
        assert set(response.headers["allow"].split(", ")) == methods, (method, path)


def test_the_check_in_path_is_not_a_visit_id(client, world):
    response = client.get("/v1/visits/check-in", headers=world.headers("rep_a"))
    _envelope(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"
    # A path that names no other route is still a 422 on its parameter.
    _envelope(client.get("/v1/visits/abc", headers=world.headers("rep_a")), 422, "invalid_input")


def test_a_body_beyond_the_limit_is_a_413_before_it_is_read(client, world):
    headers = world.headers("admin") | {"content-type": "application/json"}
    big = b"[" + b"1," * 600_000 + b"1]"  # 1.2 MB: above the default 1 MiB
    _envelope(client.post("/v1/customers", content=big, headers=headers), 413, "too_large")
    # Pings take more (a full batch of 5,000), but not without end.
    pings = b"[" + b"1," * 2_200_000 + b"1]"  # 4.4 MB
    rep = world.headers("rep_a") | {"content-type": "application/json"}
    _envelope(client.post("/v1/pings", content=pings, headers=rep), 413, "too_large")


def test_a_chunked_body_is_cut_off_at_the_limit(client, world):
    sent = []

    def chunks():
        for _ in range(40):  # 40 x 64 KiB = 2.5 MiB, no Content-Length
            sent.append(1)
            yield b" " * 65536

    headers = world.headers("admin") | {"content-type": "application/json"}
    response = client.post("/v1/customers", content=chunks(), headers=headers)
    _envelope(response, 413, "too_large")


async def _asgi_post(
    app, path: str, headers: list[tuple[bytes, bytes]], length: int = 20 * 1024 * 1024
):
    """POST with a 20 MB Content-Length (or `length`) straight into the ASGI app; records
    whether the app ever asked for the body."""
    read = []
    sent: list[dict] = []

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": b"[1]", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
            *headers,
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], json.loads(body), read


@pytest.mark.parametrize("path", ["/v1/pings", "/v1/customers", "/v1/visits/check-in"])
@pytest.mark.parametrize(
    "credentials",
    [[], [(b"authorization", b"Bearer not-a-token")], [(b"x-api-key", b"junk")]],
    ids=["none", "forged token", "malformed key"],
)
def test_no_body_is_read_before_credentials_can_hold(app, path, credentials):
    status, body, read = asyncio.run(_asgi_post(app, path, credentials))
    assert status == 401 and body["error"]["code"] == "unauthenticated"
    assert read == [], "the body was read before the caller was authenticated"


@pytest.mark.parametrize(
    ("path", "who"),
    [
        ("/v1/visits/check-in", "rep_a"),
        ("/v1/pings", "rep_a"),
        ("/v1/customers", "admin"),
        ("/v1/osmand", None),
        ("/v1/auth/refresh", None),
    ],
)
def test_deeply_nested_json_is_refused_in_the_envelope(client, world, path, who):
    # Deeper than any parser here recurses (pydantic's: 200 levels, json's: ~1,000), and
    # small enough for every route's size limit.
    deep = b"[" * 5_000 + b"]" * 5_000
    headers = {"content-type": "application/json"}
    if who:
        headers |= world.headers(who)
    response = client.post(path, content=deep, headers=headers)
    assert response.status_code in (400, 422), response.text
    _envelope(response, response.status_code)


def test_a_valid_token_still_gets_through_the_gate(client, world):
    response = client.post("/v1/pings", json=[], headers=auth_header(world.rep_a))
    assert response.status_code == 200, response.text


def test_a_too_large_body_with_valid_credentials_is_refused_unread(app, world):
    app.state.transactions = anyio.CapacityLimiter(2)  # what the lifespan sets up
    token = auth_header(world.rep_a)["Authorization"].encode()
    status, body, read = asyncio.run(_asgi_post(app, "/v1/pings", [(b"authorization", token)]))
    assert status == 413 and body["error"]["code"] == "too_large"
    assert read == [], "the body was read although its Content-Length is over the limit"


@pytest.mark.parametrize("path", ["/v1/plans/import", "/v1/purchase-orders/intake"])
@pytest.mark.parametrize(("mib", "allowed"), [(2, True), (21, False)])
def test_uploads_take_files_up_to_20_mib(app, world, path, mib, allowed):
    # Bulk uploads and scanned documents: far above the API's default limit of 1 MiB, but
    # not without end.
    app.state.transactions = anyio.CapacityLimiter(2)
    token = auth_header(world.admin)["Authorization"].encode()
    status, body, read = asyncio.run(
        _asgi_post(app, path, [(b"authorization", token)], mib * 2**20)
    )
    if allowed:  # past the body limiter (the default limit answers 413 unread)
        assert status != 413, body
    else:
        assert status == 413 and body["error"]["code"] == "too_large"
        assert read == [], "the body was read although its Content-Length is over the limit"
