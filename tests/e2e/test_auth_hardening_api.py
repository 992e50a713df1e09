"""Authentication and authorisation holes of issue 12, each closed and kept closed.

API keys never grant more than their own scopes; the last active admin stays; failed
logins are counted per client too, cost the same for unknown users, and concurrent
ones neither block nor break genuine logins; password hashes never reach PostgreSQL's
"Failing row contains" log lines.
"""

import asyncio
import uuid

import anyio
import httpx
import pytest
from sqlalchemy import delete, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.main import create_app
from factories import PASSWORD, password_hash
from sfa.auth import passwords
from sfa.auth import service as auth_service
from sfa.config import get_settings
from sfa.users import service as user_service
from sfa.users.models import Role, User


def _login(client, username, password=PASSWORD):
    return client.post("/v1/auth/token", data={"username": username, "password": password})


def _key(db, world, scopes) -> dict:
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(db, actor=admin, name="hr", scopes=scopes)
    db.commit()
    return {"X-API-Key": plaintext}


def _new_user(role: str, **extra) -> dict:
    return {
        "username": f"new.{role}.{uuid.uuid4().hex[:6]}",
        "full_name": "New",
        "password": "password123",
        "role": role,
    } | extra


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_an_api_key_cannot_create_a_user_with_more_than_its_scopes(client, world, db, role):
    key = _key(db, world, ["users:read", "users:write", "teams:read"])
    response = client.post("/v1/users", json=_new_user(role), headers=key)
    assert response.status_code == 403, response.text
    assert db.query(User).filter(User.username.like("new.%")).count() == 0


def test_an_api_key_cannot_take_over_an_existing_user(client, world, db):
    key = _key(db, world, ["users:read", "users:write"])
    for target, change in [
        (world.admin, {"password": "taken-over-123"}),
        (world.rep_a, {"password": "taken-over-123"}),
        (world.rep_a, {"role": "admin"}),
    ]:
        response = client.patch(f"/v1/users/{target.id}", json=change, headers=key)
        assert response.status_code == 403, (change, response.text)
    assert _login(client, "admin", "taken-over-123").status_code == 401


def test_an_admin_user_makes_admins(client, world):
    response = client.post("/v1/users", json=_new_user("admin"), headers=world.headers("admin"))
    assert response.status_code == 201, response.text


def test_the_last_active_admin_cannot_demote_or_deactivate_itself(client, world):
    me = f"/v1/users/{world.admin.id}"
    admin = world.headers("admin")
    demoted = client.patch(me, json={"role": "manager"}, headers=admin)
    assert demoted.status_code == 409, demoted.text
    assert "last active administrator" in demoted.json()["error"]["message"]
    assert client.delete(me, headers=admin).status_code == 409
    assert client.patch(me, json={"is_active": False}, headers=admin).status_code == 409
    # With a second active admin, the first may step down.
    client.post("/v1/users", json=_new_user("admin"), headers=admin).raise_for_status()
    assert client.patch(me, json={"role": "manager"}, headers=admin).status_code == 200


def test_unknown_users_cost_the_same_password_check(client, world, monkeypatch):
    checked = []
    real = passwords._hasher

    class Counting:
        def verify(self, hash_, password):
            checked.append(hash_)
            return real.verify(hash_, password)

    monkeypatch.setattr(passwords, "_hasher", Counting())
    assert _login(client, "rep.a", "wrong-password").status_code == 401
    assert _login(client, "nobody-at-all", "wrong-password").status_code == 401
    assert len(checked) == 2, "an unknown username must be checked against a hash too"
    assert all(h.startswith("$argon2") for h in checked)


def test_one_client_trying_many_usernames_is_throttled(client, world, monkeypatch):
    monkeypatch.setattr(get_settings(), "login_max_failures_per_client", 3)
    for name in ("rep.a", "rep.a2", "manager.a"):
        assert _login(client, name, "Summer2026!").status_code == 401
    # The fourth attempt from this client is refused, even with a right password.
    locked = _login(client, "rep.b")
    assert locked.status_code == 429, locked.text
    assert locked.json()["error"]["code"] == "throttled"


def test_concurrent_bad_logins_neither_fail_nor_block_a_genuine_login(engine):
    """20 wrong passwords at once for one user, and a genuine login meanwhile: only 401 and
    429 for the bad ones (no 503 busy, no 409), 200 for the genuine one. Real commits on
    the suite's database (each request its own transaction), cleaned up afterwards."""
    names = [f"conc.{uuid.uuid4().hex[:8]}" for _ in range(2)]
    with Session(engine) as session:
        for name in names:
            session.add(
                User(username=name, full_name=name, role=Role.rep, password_hash=password_hash())
            )
        session.commit()
    app = create_app()
    app.state.transactions = anyio.CapacityLimiter(get_settings().db_pool_size)

    async def attempt(client, username, password):
        response = await client.post(
            "/v1/auth/token", data={"username": username, "password": password}
        )
        return response.status_code

    async def run():
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 4000))
        async with httpx.AsyncClient(transport=transport, base_url="http://sfa") as client:
            bad = [attempt(client, names[0], f"wrong-{i}") for i in range(20)]
            return await asyncio.gather(*bad, attempt(client, names[1], PASSWORD))

    try:
        *bad, genuine = asyncio.run(run())
    finally:
        with Session(engine) as session:
            session.execute(delete(User).where(User.username.in_(names)))
            session.execute(
                text("DELETE FROM login_throttle WHERE username = ANY(:n)"), {"n": names}
            )
            session.execute(text("DELETE FROM login_client_throttle WHERE client = '198.51.100.7'"))
            session.commit()
    assert set(bad) <= {401, 429}, bad
    assert bad.count(401) >= get_settings().login_max_failures
    assert genuine == 200


def test_a_failing_users_row_never_shows_a_password_hash(db, world):
    """PostgreSQL logs the whole row of a failed constraint ("Failing row contains"): the
    hash is not in that row."""
    admin = auth_service.principal_for_user(db, world.admin)
    data = _new_user("rep") | {"full_name": None}
    with pytest.raises(IntegrityError) as failed:
        user_service.create_user(db, principal=admin, data=data)
    detail = failed.value.orig.diag.message_detail or ""
    assert "Failing row contains" in detail
    assert "$argon2" not in detail
