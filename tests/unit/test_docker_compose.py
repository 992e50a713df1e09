"""docker-compose.yml, the Dockerfile and .dockerignore, read as a Docker engine would
read them (there is no engine on the test machines: nothing here starts a container).

Production-like: one image for the API and the scheduler, no public default secret, no
demo data unless SFA_DEMO=1, ports on loopback unless asked, a volume for the data
folder, and a build context without the virtualenv or the local database.
"""

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KNOWN_DEV_SECRET = "dev-only-insecure-jwt-secret-change-me"
_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?error}`; `$$` is a literal `$`."""

    def replace(match: re.Match) -> str:
        name, kind, rest = match.groups()
        given = env.get(name, "")
        if given:
            return given
        if kind == "?":
            raise LookupError(f"{name}: {rest}")
        return rest if kind == "-" else ""

    return _VARIABLE.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def resolved(node, env):
    if isinstance(node, dict):
        return {k: resolved(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [resolved(v, env) for v in node]
    return interpolate(node, env) if isinstance(node, str) else node


def compose(env: dict[str, str] | None = None) -> dict:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return resolved(raw, {"SFA_DB_PASSWORD": "a-private-password"} | (env or {}))


def test_three_services_one_image_built_once():
    services = compose()["services"]
    assert set(services) == {"db", "api", "scheduler"}
    assert services["api"]["image"] == services["scheduler"]["image"]
    built = [name for name in ("api", "scheduler") if "build" in services[name]]
    assert built == ["api"]
    assert services["scheduler"]["pull_policy"] == "never"
    assert services["scheduler"]["depends_on"]["api"]["condition"] == "service_healthy"


def test_production_settings_and_no_known_secret():
    text = (ROOT / "docker-compose.yml").read_text() + (ROOT / "Dockerfile").read_text()
    assert KNOWN_DEV_SECRET not in text
    assert (
        "SFA_JWT_SECRET"
        not in yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-sfa"]["environment"]
    )
    services = compose()["services"]
    for name in ("api", "scheduler"):
        env = services[name]["environment"]
        assert env["SFA_ENV"] == "production"
        assert "SFA_JWT_SECRET" not in env
        assert "sfa-data:/data" in services[name]["volumes"]
        assert env["SFA_DATA_DIR"] == "/data"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "SFA_ENV=production" in dockerfile and "SFA_ENV=development" not in dockerfile
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M)


def test_the_database_password_has_no_default():
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    with pytest.raises(LookupError, match="SFA_DB_PASSWORD"):
        resolved(raw, {})
    services = compose()["services"]
    assert services["db"]["environment"]["POSTGRES_PASSWORD"] == "a-private-password"
    assert "a-private-password@db:5432" in services["api"]["environment"]["SFA_DATABASE_URL"]


def test_ports_on_loopback_unless_asked():
    services = compose()["services"]
    assert "ports" not in services["db"] and "ports" not in services["scheduler"]
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    published = compose({"SFA_BIND": "0.0.0.0", "SFA_PORT": "9000"})["services"]["api"]
    assert published["ports"] == ["0.0.0.0:9000:8000"]


def run_api_command(tmp_path: Path, demo: str | None) -> list[str]:
    """The api service's command, run by a real shell with a stand-in `sfa` that records
    each call instead of doing it."""
    log = tmp_path / "calls"
    fake = tmp_path / "bin" / "sfa"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(f'#!/bin/sh\necho "$*" >> {log}\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    env = {} if demo is None else {"SFA_DEMO": demo}
    api = compose(env)["services"]["api"]
    environment = {k: str(v) for k, v in api["environment"].items()}
    subprocess.run(
        api["command"],
        env={"PATH": f"{fake.parent}:{os.environ['PATH']}"} | environment,
        check=True,
        timeout=10,
    )
    calls = log.read_text().splitlines()
    log.unlink()
    return calls


def test_demo_data_only_when_asked(tmp_path):
    serve = "serve --host 0.0.0.0 --port 8000"
    assert run_api_command(tmp_path, None) == ["migrate", serve]
    assert run_api_command(tmp_path, "0") == ["migrate", serve]
    assert run_api_command(tmp_path, "1") == ["migrate", "seed-demo", serve]


def test_build_context_leaves_out_local_state():
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".pgdata", ".run", ".git", ".env", "**/__pycache__"} <= ignored
