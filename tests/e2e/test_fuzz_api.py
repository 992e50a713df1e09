"""Property-based fuzzing of the whole OpenAPI (schemathesis), as an admin, as a rep and
without a token, in-process against the app and inside one rolled-back transaction for
the module: no answer may be a server error, and every answer must match the schema the
document gives for its status (the error envelope included).

One transaction for every operation (not one per test, which costs a second of set-up
each): later operations meet the state earlier ones left — a stronger test, and as
reproducible, the seed and the order being fixed.

Bounded: FUZZ_EXAMPLES generated requests per operation and caller (environment variable
SFA_FUZZ_EXAMPLES to run more, e.g. before a release). Schemathesis generates valid
and invalid inputs (huge integers, NUL in text, nulls, extreme dates, wrong types).
"""

import os
from collections import Counter

import pytest
import schemathesis
from conftest import rolled_back_connection
from conftest import rolled_back_session as _session
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.main import create_app

FUZZ_EXAMPLES = int(os.environ.get("SFA_FUZZ_EXAMPLES", "8"))

# Only the fuzzing phase, with a fixed seed: the same examples every run, so a failure is
# reproducible. (The coverage phase's boundary cases for ~100 operations take far longer
# than this suite can spend; the fuzzing phase's invalid inputs reach the same classes.)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20261201,
        "generation": {"max-examples": FUZZ_EXAMPLES, "mode": "all"},
        "phases": {
            "examples": {"enabled": False},
            "coverage": {"enabled": False},
            "stateful": {"enabled": False},
        },
    }
)
schema = schemathesis.openapi.from_dict(create_app().openapi(), config=CONFIG)
CHECKS = [not_a_server_error, response_schema_conformance]


CALLERS = ("admin", "rep_a", None)  # None: no token


@pytest.fixture(scope="module")
def fuzz_connection(engine):
    with rolled_back_connection(engine) as conn:
        yield conn


@pytest.fixture(scope="module")
def fuzz_world(fuzz_connection):
    from factories import build_world

    session = _session(fuzz_connection)
    world = build_world(session)
    session.commit()
    headers = {who: world.headers(who) for who in CALLERS if who}
    session.close()
    return headers


@pytest.fixture(scope="module")
def fuzz_client(fuzz_connection, request):
    from fastapi.testclient import TestClient

    from api import deps

    app = create_app()
    app.dependency_overrides.update(deps.session_overrides(lambda: _session(fuzz_connection)))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
    # What the run amounted to, in the test report (run with -rA or see the summary).
    by_class = sorted(f"{k}xx: {v}" for k, v in STATUS_CLASSES.items())
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"fuzz: {sum(STATUS_CLASSES.values())} requests, {FUZZ_EXAMPLES} examples per "
            f"operation and caller; answers {', '.join(by_class)}"
        )


STATUS_CLASSES: Counter = Counter()


@schema.parametrize()
@settings(deadline=None, suppress_health_check=list(HealthCheck), database=None)
def test_no_server_error_and_answers_match_the_schema(case, fuzz_client, fuzz_world):
    for who in CALLERS:
        kwargs = case.as_transport_kwargs(headers=fuzz_world[who] if who else {})
        kwargs.pop("base_url", None)
        url = kwargs.pop("url", None) or kwargs.pop("path")
        response = fuzz_client.request(kwargs.pop("method"), url, **_httpx_kwargs(kwargs))
        response.request.read()  # a multipart body is a stream until read; the checks read it
        STATUS_CLASSES[response.status_code // 100] += 1
        case.validate_response(response, checks=CHECKS)


def _httpx_kwargs(kwargs: dict) -> dict:
    """The transport's requests-style arguments as httpx (TestClient) takes them."""
    allowed = {"headers", "params", "json", "data", "content", "files"}
    out = {k: v for k, v in kwargs.items() if k in allowed}
    if "data" in out and isinstance(out["data"], bytes | str):
        out["content"] = out.pop("data")
    if out.get("files", ...) is None:
        del out["files"]  # a multipart body the generator made without any file part
    if "files" in out:
        # Invalid generated parts (a number as the file) are sent as their text.
        items = out["files"].items() if isinstance(out["files"], dict) else out["files"]
        out["files"] = [(name, _part(value)) for name, value in items]
    return out


def _part(value):
    if isinstance(value, tuple):
        return (value[0], _part(value[1]), *value[2:])
    return value if isinstance(value, bytes | str) or hasattr(value, "read") else str(value)
