"""A second `make run` while one runs says so and stops before it touches anything
(migrations, seeding, a second scheduler, the first one's log)."""

import fcntl
import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_script(run_dir: Path, port: int) -> subprocess.CompletedProcess:
    env = os.environ | {"SFA_RUN_DIR": str(run_dir), "SFA_PORT": str(port)}
    env.pop("SFA_DATABASE_URL", None)
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "run.sh")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def running_scheduler(tmp_path):
    """A live process that looks like this checkout's scheduler, with its pid file and log."""
    process = subprocess.Popen(["bash", "-c", "exec -a sfa-scheduler sleep 120"])
    (tmp_path / "scheduler.pid").write_text(f"{process.pid}\n")
    (tmp_path / "scheduler.log").write_text("the first instance's log\n")
    yield process
    process.kill()
    process.wait()


def assert_stopped_before_anything(result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 1, result.stderr
    # Nothing after the guard ran: no install, no database, no migration.
    for later in ("[bootstrap]", "[pg]", "[packages]", "migrating"):
        assert later not in result.stderr + result.stdout


def test_a_running_scheduler_is_detected(tmp_path, running_scheduler):
    result = run_script(tmp_path, free_port())
    assert_stopped_before_anything(result)
    assert "SFA is already running" in result.stderr
    assert f"scheduler runs (pid {running_scheduler.pid}" in result.stderr
    assert "make stop" in result.stderr
    assert (tmp_path / "scheduler.log").read_text() == "the first instance's log\n"
    assert running_scheduler.poll() is None  # left alone


def test_a_starting_instance_holding_the_lock_is_detected(tmp_path):
    with (tmp_path / "run.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = run_script(tmp_path, free_port())
    assert_stopped_before_anything(result)
    assert "another 'make run' of this checkout is starting" in result.stderr


def test_a_port_taken_by_another_program_is_reported(tmp_path):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        result = run_script(tmp_path, port)
    assert_stopped_before_anything(result)
    assert f"port {port} on 127.0.0.1 is in use by another program" in result.stderr


def test_a_stale_pid_file_is_not_an_instance(tmp_path):
    """A pid file left by a crash (process gone) does not block; the port check still runs."""
    process = subprocess.Popen(["true"])
    process.wait()
    (tmp_path / "scheduler.pid").write_text(f"{process.pid}\n")
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        result = run_script(tmp_path, server.getsockname()[1])
    assert "already running" not in result.stderr
    assert "in use by another program" in result.stderr
