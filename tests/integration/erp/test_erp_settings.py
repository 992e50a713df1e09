"""Wrong ERP settings say exactly what is wrong, on GET /readyz and in the sync, never a 500.

Each mistake of issue 20 against the real Tryton: an empty user, a URL ending in a
database path, a wrong database, a wrong password (tried once per run: Tryton answers
each further failed login of a user more slowly).
"""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import pytest

from integrations.erp.tryton import TrytonConnector
from sfa.erp.connector import ErpMisconfigured

URL_EXAMPLE = "e.g. SFA_ERP_URL=http://erp.example.com:8000"


def readyz_erp(client) -> dict:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    return response.json()


def failed_logins(tryton, login: str) -> int:
    """Failed logins Tryton recorded for ``login`` (its res.user.login.attempt table)."""
    path = Path(tryton.directory) / f"{tryton.database}.sqlite"
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM res_user_login_attempt WHERE login = ?", (login,)
        ).fetchone()[0]


def test_the_right_settings_are_ready(client, erp_env):
    body = readyz_erp(client)
    assert body["status"] == "ok"
    assert body["erp"]["status"] == "ok" and body["erp"]["problems"] == []
    assert body["erp"]["server_version"].startswith("8.2")


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        (
            {"SFA_ERP_USER": ""},
            "SFA_ERP_URL is set but SFA_ERP_USER is empty: set it to the login of the "
            "Tryton user the sync uses",
        ),
        (
            {"SFA_ERP_URL": "{url}/sfa"},
            f"SFA_ERP_URL ends in '/sfa': give the server's root only ({URL_EXAMPLE}) and "
            "the database name in SFA_ERP_DATABASE",
        ),
        (
            {"SFA_ERP_PASSWORD": ""},
            "SFA_ERP_URL is set but SFA_ERP_PASSWORD is empty: set it to that user's password",
        ),
    ],
)
def test_settings_that_cannot_work_are_named_before_anything_connects(
    client, world, erp_env, tryton, settings, problem
):
    erp_env(**{name: value.format(url=tryton.url) for name, value in settings.items()})

    body = readyz_erp(client)

    assert body["status"] == "degraded"
    assert body["erp"] == {"status": "misconfigured", "problems": [problem]}
    response = client.post("/v1/sync/run", headers=world.headers("admin"))
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["message"] == f"the ERP settings cannot work: {problem}"
    assert error["details"] == {"problems": [problem]}
    assert "GET /readyz" in error["hint"]


def test_a_database_url_is_explained_even_past_the_settings_check(tryton):
    """What the connector says when it is given such a URL anyway (was `_SessionExpired()`)."""
    wrong = TrytonConnector(
        f"{tryton.url}/sfa",
        tryton.database,
        tryton.meta["connector_login"],
        tryton.meta["connector_password"],
    )
    with pytest.raises(ErpMisconfigured) as info, wrong:
        wrong.check()
    assert str(info.value) == (
        f"{tryton.url}/sfa/rpc/ asks for a login: SFA_ERP_URL points to a database, not to "
        "the server (SFA_ERP_URL must be the server's root, e.g. "
        "http://erp.example.com:8000; the database goes in SFA_ERP_DATABASE)"
    )


def test_a_wrong_database_is_named(client, world, erp_env, tryton, sync_now):
    erp_env(SFA_ERP_DATABASE="nodb")
    problem = (
        f"Tryton has no database 'nodb' (HTTP 404 at {tryton.url}/nodb/rpc/): set "
        "SFA_ERP_DATABASE to the name of the Tryton database the sync uses"
    )

    assert readyz_erp(client)["erp"] == {"status": "misconfigured", "problems": [problem]}
    run = sync_now()

    assert run["status"] == "failed"
    assert run["errors"] == [{"phase": "check", "kind": "misconfigured", "message": problem}]


def test_a_wrong_password_is_said_at_once_and_tried_once_per_run(
    client, world, erp_env, tryton, tryton_user, sync_now
):
    login = f"sfa-{uuid.uuid4().hex[:8]}"
    tryton_user("res.user", "create", [{"name": "SFA check", "login": login, "password": "x" * 12}])
    erp_env(SFA_ERP_USER=login, SFA_ERP_PASSWORD="not-the-password")
    problem = (
        f"Tryton refused the login of {login!r} on database {tryton.database!r}: check "
        "SFA_ERP_USER and SFA_ERP_PASSWORD (the user must exist in that database and be active)"
    )

    run = sync_now()

    assert run["status"] == "failed"
    assert run["errors"] == [{"phase": "check", "kind": "misconfigured", "message": problem}]
    # One login attempt for the whole run: not one for every order and every pull, each
    # of which Tryton answers more slowly (up to 2^n - 1 s for the n-th failure).
    assert failed_logins(tryton, login) == 1

    for _ in range(3):  # a probe every few seconds: checked once, then remembered
        assert readyz_erp(client)["erp"] == {"status": "misconfigured", "problems": [problem]}
    assert failed_logins(tryton, login) == 2
