"""The scheduler serves every company of the registry (api/scheduler.py CompanySchedules):
each company's job runs bound to its own database, under its advisory lock there, and
claims its periods in its own `job_runs`; one company's slow, failing or unreachable job
stops no other company's runs. A real APScheduler, the real runner (`run_locked`) and the
real company databases of tests/tenancy.py; only the job is made up, so that what it
saw can be read back from each database."""

import logging
import threading
import uuid

import psycopg
import pytest
from apscheduler.events import EVENT_JOB_ERROR
from apscheduler.schedulers.background import BackgroundScheduler
from polling import wait_until
from sqlalchemy import text

from api.scheduler import CompanySchedules
from sfa.db import advisory_key, libpq_url, make_engine
from sfa.jobs import Job
from sfa.tenants import repository, service
from sfa.tenants.engines import get_engines
from sfa.tenants.models import Status, Tenant
from sfa.tenants.registry import Registry

GONE = "c-gone"


def _runs(url: str, job: str) -> list[tuple[str, str | None]]:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            "SELECT status, result FROM job_runs WHERE job = %s ORDER BY period_start", (job,)
        ).fetchall()


def _done(url: str, job: str) -> list[str | None]:
    return [result for status, result in _runs(url, job) if status == "done"]


class Probe:
    """A job that reports the database it ran in and whether its advisory lock was held
    there by its runner; it fails in beta's database and waits, the first time, in acme's
    until released."""

    def __init__(self):
        self.name = f"probe-{uuid.uuid4().hex[:8]}"
        self.release = threading.Event()
        self.job = Job(name=self.name, func=self, schedule={"trigger": "interval", "seconds": 1})

    def __call__(self, session) -> str:
        database = session.execute(text("SELECT current_database()")).scalar()
        # Another connection of the runner holds the lock, so this one cannot take it.
        free = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"),
            {"key": advisory_key(f"job:{self.name}")},
        ).scalar()
        if database == "sfa_beta":
            raise RuntimeError("beta's probe fails")
        if database == "sfa_acme" and not self.release.is_set():
            self.release.wait(30)
        return f"{database} lock_held={not free}"


@pytest.fixture
def gone_company(tenancy, pg_server):
    """A company of the registry whose database is not there (dropped, server gone)."""
    url = f"{pg_server}/sfa_gone_nowhere"
    repository.add(tenancy.engine, Tenant(slug=GONE, display_name="Gone", database_url=url))
    tenancy.forget()
    try:
        yield
    finally:
        with tenancy.engine.begin() as conn:
            conn.execute(text("DELETE FROM tenants WHERE slug = :slug"), {"slug": GONE})
        tenancy.forget()


@pytest.fixture
def probe(database_url, companies):
    made = Probe()
    yield made
    made.release.set()
    for url in (database_url, companies["acme"].database_url, companies["beta"].database_url):
        with psycopg.connect(libpq_url(url)) as conn:
            conn.execute("DELETE FROM job_runs WHERE job = %s", (made.name,))


@pytest.fixture
def scheduler():
    made = BackgroundScheduler(timezone="UTC")
    failed: list[str] = []
    made.add_listener(lambda event: failed.append(event.job_id), EVENT_JOB_ERROR)
    made.failed = failed
    made.start()
    yield made
    made.shutdown(wait=True)


def test_each_company_runs_its_jobs_in_its_own_database_past_the_others_failures(
    tenancy, companies, gone_company, probe, scheduler, database_url, caplog
):
    caplog.set_level(logging.ERROR, logger="sfa.scheduler")
    schedules = CompanySchedules(scheduler, registry=tenancy, jobs=lambda: [probe.job])
    schedules.follow()
    assert {job.id for job in scheduler.get_jobs()} == {
        probe.name,
        f"acme:{probe.name}",
        f"beta:{probe.name}",
        f"{GONE}:{probe.name}",
    }
    acme, beta = companies["acme"].database_url, companies["beta"].database_url

    # acme's first run is stuck; the default company's runs go on meanwhile.
    wait_until(lambda: len(_done(database_url, probe.name)) >= 2)
    assert [status for status, _ in _runs(acme, probe.name)] == ["running"]
    probe.release.set()
    wait_until(lambda: len(_done(acme, probe.name)) >= 2)
    # beta fails every period, recorded in its own job_runs, and is tried again each time.
    wait_until(lambda: len(_runs(beta, probe.name)) >= 2)
    wait_until(lambda: any(job == f"{GONE}:{probe.name}" for job in scheduler.failed))

    # Each company's runs are in its own database only, each run under its lock there.
    assert set(_done(database_url, probe.name)) == {"sfa_test lock_held=True"}
    assert set(_done(acme, probe.name)) == {"sfa_acme lock_held=True"}
    beta_runs = _runs(beta, probe.name)
    assert {status for status, _ in beta_runs} == {"failed"}
    assert all("beta's probe fails" in result for _, result in beta_runs)
    assert f"beta:{probe.name}" in scheduler.failed
    assert not any(job in scheduler.failed for job in (probe.name, f"acme:{probe.name}"))
    logged = caplog.text
    assert f"job {probe.name} of company beta failed" in logged
    assert f"job {probe.name} of company {GONE} failed" in logged


def test_a_disabled_company_is_unscheduled_and_its_pools_closed(
    tenancy, companies, probe, scheduler
):
    schedules = CompanySchedules(scheduler, registry=tenancy, jobs=lambda: [probe.job])
    probe.release.set()
    schedules.follow()
    wait_until(lambda: len(_done(companies["acme"].database_url, probe.name)) >= 1)
    assert "acme" in get_engines().open_companies()
    service.set_status(tenancy, "acme", Status.disabled)
    try:
        schedules.follow()
        assert scheduler.get_job(f"acme:{probe.name}") is None
        assert scheduler.get_job(f"beta:{probe.name}") is not None
        assert "acme" not in get_engines().open_companies()
    finally:
        service.set_status(tenancy, "acme", Status.active)
    schedules.follow()  # enabled again: scheduled again
    assert scheduler.get_job(f"acme:{probe.name}") is not None


def test_the_default_company_is_scheduled_while_the_registry_does_not_answer(
    tenancy, pg_server, probe, scheduler
):
    gone = Registry(make_engine(f"{pg_server}/sfa_no_registry", connect_timeout=2), cache_seconds=0)
    try:
        schedules = CompanySchedules(scheduler, registry=gone, jobs=lambda: [probe.job])
        schedules.follow()
        assert [job.id for job in scheduler.get_jobs()] == [probe.name]
        schedules.follow()  # still down: nothing removed, nothing twice
        assert [job.id for job in scheduler.get_jobs()] == [probe.name]
    finally:
        gone.dispose()
