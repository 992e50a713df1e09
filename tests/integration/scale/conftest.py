"""Fixtures of the scale tests: a database of their own (they commit, unlike the rest of
the suite, so they never share rows with it), a real streaming replica of it, a real
pgbouncer in front of it. Session-scoped and only made when a test asks for them."""

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import ROOT, _free_port
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

SCALE_DB = "sfa_scale"


@pytest.fixture(scope="session")
def scale_url(pg_server: str, database_url: str) -> Iterator[str]:
    """A migrated database of its own on the suite's server."""
    from sfa import migrate

    admin = create_engine(f"{pg_server}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {SCALE_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {SCALE_DB}"))
    url = f"{pg_server}/{SCALE_DB}"
    migrate.upgrade(url)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {SCALE_DB} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture(scope="session")
def replica_url(pg_server: str, scale_url: str) -> Iterator[str]:
    """A hot standby streaming from the suite's server (scripts/pg.sh replica)."""
    data_dir = Path(tempfile.mkdtemp(prefix="sfa-test-replica-"))
    port = _free_port()
    script = ROOT / "scripts" / "pg.sh"
    primary_port = str(make_url(pg_server).port)
    env = os.environ | {"SFA_PG_FSYNC": "off"}
    subprocess.run([script, "replica", primary_port, data_dir, str(port)], check=True, env=env)
    try:
        yield f"postgresql+psycopg://sfa@127.0.0.1:{port}/{SCALE_DB}"
    finally:
        subprocess.run([script, "stop", data_dir], check=False)
        shutil.rmtree(data_dir, ignore_errors=True)


def clear_process_caches() -> None:
    from sfa import db as sfa_db
    from sfa import replica
    from sfa.company import service as company_service
    from sfa.config import get_settings

    replica.clear_caches()
    get_settings.cache_clear()
    for cached in (sfa_db.get_engine, sfa_db.get_sessionmaker):
        cached.cache_clear()
    company_service.clear_cache()


@contextmanager
def process_settings(**values: str) -> Iterator[None]:
    """This process's settings (SFA_ environment) changed for a block, engines anew."""
    keys = {f"SFA_{name.upper()}": value for name, value in values.items()}
    saved = {key: os.environ.get(key) for key in keys}
    os.environ.update(keys)
    clear_process_caches()
    try:
        yield
    finally:
        from sfa import db as sfa_db

        sfa_db.get_engine().dispose()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        clear_process_caches()


PGBOUNCER_INI = """\
[databases]
{db} = host=127.0.0.1 port={server_port} dbname={db} user=sfa

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {folder}/users.txt
pool_mode = transaction
; Fewer server connections than the app's pool: each one serves many clients' transactions
; in turn, so anything a transaction left on its session would reach another client.
default_pool_size = 3
max_client_conn = 200
ignore_startup_parameters = extra_float_digits
; SHOW STATS for the tests (the admin console, database "pgbouncer").
stats_users = sfa
logfile = {folder}/pgbouncer.log
pidfile = {folder}/pgbouncer.pid
"""


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20.0) -> None:
    import socket
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"pgbouncer did not listen on 127.0.0.1:{port}")


@pytest.fixture(scope="session")
def pgbouncer_url(pg_server: str, scale_url: str) -> Iterator[str]:
    """A real pgbouncer (Debian's) in transaction mode in front of the scale database."""
    folder = Path(tempfile.mkdtemp(prefix="sfa-test-pgbouncer-"))
    port = _free_port()
    (folder / "users.txt").write_text('"sfa" ""\n')
    ini = folder / "pgbouncer.ini"
    server_port = make_url(pg_server).port
    ini.write_text(
        PGBOUNCER_INI.format(db=SCALE_DB, server_port=server_port, port=port, folder=folder)
    )
    # pgbouncer refuses to run as root: as the account that runs the test clusters.
    user = "postgres" if os.geteuid() == 0 else None
    if user:
        shutil.chown(folder, user)
        for item in folder.iterdir():
            shutil.chown(item, user)
    process = subprocess.Popen(["/usr/sbin/pgbouncer", str(ini)], user=user)
    try:
        _wait_for_port(port, process)
        yield f"postgresql+psycopg://sfa@127.0.0.1:{port}/{SCALE_DB}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)
