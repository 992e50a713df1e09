"""Advisory locks make a job run once even when two schedulers fire it together."""

import contextlib

from sqlalchemy import text

from sfa.db import advisory_key, session_scope
from sfa.jobs import Job, run_locked


def test_second_runner_skips_while_first_holds_the_lock(database_url, engine):
    calls = []
    job = Job(name="test-job", func=lambda session: calls.append(1) or "ran", schedule={})
    with engine.connect() as other:
        other.begin()
        other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": advisory_key("job:test-job")})
        assert run_locked(job) is None  # another process holds it: skipped
        assert calls == []
        other.rollback()
    assert run_locked(job) == "ran"
    assert calls == [1]


def test_lock_is_released_when_a_job_fails(database_url):
    def boom(session):
        raise RuntimeError("crash mid-job")

    job = Job(name="failing", func=boom, schedule={})
    for _ in range(2):  # the second run is not blocked by the first one's crash
        with contextlib.suppress(RuntimeError):
            run_locked(job)
    with session_scope() as session:
        held = session.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        ).scalar()
    assert held == 0
