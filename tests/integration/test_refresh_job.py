"""The refresh-dirty-days job beside the mobile app: the app never waits for it, and one
failing rep-day never stops it for the others. Real commits (locks and a second API
session are only visible across connections); every row is removed afterwards."""

import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete, select, text

from factories import auth_header, make_customer, make_user
from sfa.anomalies import jobs as anomaly_jobs
from sfa.auth import service as auth_service
from sfa.customers.models import Customer
from sfa.db import session_scope
from sfa.tracking import days
from sfa.tracking import service as tracking_service
from sfa.tracking.ingest import PingRecord
from sfa.tracking.models import Ping, RepDay, RepStop
from sfa.users.models import Role, Team, User
from sfa.visits import indicators
from sfa.visits import service as visit_service
from sfa.visits.models import Visit, VisitFlag
from sfa.visits.service import CheckIn, Position

DAY = date(2026, 11, 17)  # a Tuesday; Jakarta is the company's zone
T0 = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)  # 09:00 in Jakarta
NOW = T0 + timedelta(hours=3)


@pytest.fixture
def reps(database_url):
    """Two reps of one team, each with a visit (not checked out) and pings on DAY."""
    tag = uuid.uuid4().hex[:8]
    made: list[tuple[int, int]] = []  # (rep id, visit id)
    with session_scope() as session:
        manager = make_user(session, f"job-mgr-{tag}", Role.manager)
        team = Team(name=f"Job team {tag}", manager_id=manager.id)
        session.add(team)
        session.flush()
        for n in range(2):
            rep = make_user(session, f"job-rep-{tag}-{n}", Role.rep, team)
            lat, lon = -6.2 - n / 100, 106.8
            shop = make_customer(session, f"JOB{tag}{n}", team, lat, lon)
            pings = [
                PingRecord(at=T0 + timedelta(minutes=m), lat=lat, lon=lon, accuracy_m=8)
                for m in range(0, 30)
            ]
            tracking_service.store_rep_pings(
                session, rep_id=rep.id, items=list(enumerate(pings)), batch_size=30, now=NOW
            )
            visit, _ = visit_service.check_in(
                session,
                principal=auth_service.principal_for_user(session, rep),
                now=NOW,
                data=CheckIn(
                    client_id=uuid.uuid4(),
                    customer_id=shop.id,
                    position=Position(at=T0 + timedelta(minutes=1), lat=lat, lon=lon),
                ),
            )
            made.append((rep.id, visit.id))
        manager_id, team_id = manager.id, team.id
    try:
        yield made
    finally:
        rep_ids = [rep_id for rep_id, _ in made]
        with session_scope() as session:
            for model in (VisitFlag, Visit, RepStop, RepDay, Ping):
                session.execute(delete(model).where(model.rep_id.in_(rep_ids)))
            session.execute(delete(Customer).where(Customer.team_id == team_id))
            session.execute(delete(User).where(User.id.in_(rep_ids)))
            session.execute(delete(Team).where(Team.id == team_id))
            session.execute(delete(User).where(User.id == manager_id))


def run_job() -> anomaly_jobs.RefreshResult:
    with session_scope() as session:
        return anomaly_jobs.refresh_dirty(session)


def day_row(rep_id: int):
    with session_scope() as session:
        return session.execute(
            text(
                "SELECT dirty, flags_dirty, refresh_error FROM rep_days "
                "WHERE rep_id = :r AND day = :d"
            ),
            {"r": rep_id, "d": DAY},
        ).one()


def test_a_check_out_during_a_running_refresh_of_its_day_gets_no_503(reps, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import create_app

    (rep_id, visit_id), _ = reps
    computing, may_finish = threading.Event(), threading.Event()
    compute = days.compute_day

    def slow_compute(session, *, rep_id, day, settings=None):
        computing.set()
        may_finish.wait(5)  # the job is busy with this day while the rep checks out
        return compute(session, rep_id=rep_id, day=day, settings=settings)

    monkeypatch.setattr(days, "compute_day", slow_compute)
    outcome: list = []
    job = threading.Thread(target=lambda: outcome.append(run_job()))
    job.start()
    try:
        assert computing.wait(10)
        with session_scope() as session:
            headers = auth_header(session.get(User, rep_id))
        with TestClient(create_app()) as client:
            started = time.monotonic()
            response = client.post(
                f"/v1/visits/{visit_id}/check-out",
                json={"at": (T0 + timedelta(minutes=25)).isoformat()},
                headers=headers,
            )
            waited = time.monotonic() - started
    finally:
        may_finish.set()
        job.join(20)
    assert response.status_code == 200, response.text
    assert waited < 1.0  # the lock timeout is 1 s: it never waited for one
    assert response.json()["dwell_seconds"] == 24 * 60
    (result,) = outcome
    assert result.parked == []
    # The day the job was computing when the visit changed is stale again, and the next
    # run settles it with the check-out's dwell.
    run_job()
    with session_scope() as session:
        visit = session.get(Visit, visit_id)
        assert (visit.dwell_source, visit.dwell_seconds) == ("check_out", 24 * 60)
        codes = set(session.scalars(select(VisitFlag.code).where(VisitFlag.visit_id == visit_id)))
        assert "not_checked_out" not in codes
    assert day_row(rep_id)[:2] == (False, False)


def test_a_rep_day_a_request_holds_is_skipped_and_done_next_time(reps, engine):
    (rep_id, visit_id), (other_rep, _) = reps
    with engine.connect() as request:  # a check-out in progress holds its visit's row
        request.execute(text("SELECT 1 FROM visits WHERE id = :v FOR UPDATE"), {"v": visit_id})
        started = time.monotonic()
        result = run_job()
        took = time.monotonic() - started
        request.rollback()
    assert result.skipped >= 1
    assert took < 5  # nothing waited out a lock
    assert day_row(rep_id).dirty or day_row(rep_id).flags_dirty  # still queued
    assert day_row(other_rep)[:2] == (False, False)  # the other rep was not held up
    run_job()
    assert day_row(rep_id)[:2] == (False, False)


@pytest.mark.parametrize("step", ["tracking", "visit flags"])
def test_one_failing_rep_day_is_parked_and_every_other_one_computes(reps, monkeypatch, step):
    from fastapi.testclient import TestClient

    from api.main import create_app

    (bad_rep, _), (good_rep, good_visit) = reps

    def poisoned(real):
        def call(session, **kwargs):
            rep_ids = kwargs.get("rep_id") or kwargs["scope"].rep_ids[0]
            if rep_ids == bad_rep:
                raise OverflowError("date value out of range")
            return real(session, **kwargs)

        return call

    if step == "tracking":
        monkeypatch.setattr(days, "compute_day", poisoned(days.compute_day))
    else:
        monkeypatch.setattr(indicators, "recompute_flags", poisoned(indicators.recompute_flags))
    result = run_job()
    assert len(result.parked) == 1
    assert result.parked[0].startswith(f"rep {bad_rep} {DAY}: {step}: OverflowError")
    assert day_row(good_rep)[:2] == (False, False)
    with session_scope() as session:
        assert session.get(Visit, good_visit).dwell_source == "pings"
    bad = day_row(bad_rep)
    assert bad.refresh_error.startswith(f"{step}: OverflowError: date value out of range")
    # Parked: the next runs leave it alone instead of failing on it every minute.
    assert run_job().parked == []

    # An administrator sees it, with the reason, and can put it back on the queue.
    with session_scope() as session:
        admin = make_user(session, f"job-admin-{uuid.uuid4().hex[:8]}", Role.admin)
        admin_id, headers = admin.id, auth_header(admin)
    try:
        with TestClient(create_app()) as client:
            page = client.get("/v1/analytics/parked-days", headers=headers).json()
            mine = [d for d in page["items"] if d["rep_id"] == bad_rep]
            assert [(d["day"], d["error"][: len(step) + 15]) for d in mine] == [
                (DAY.isoformat(), f"{step}: OverflowError")
            ]
            monkeypatch.undo()
            retried = client.post(
                f"/v1/analytics/parked-days/{bad_rep}/{DAY}/retry", headers=headers
            )
            assert retried.status_code == 204
            again = client.post(f"/v1/analytics/parked-days/{bad_rep}/{DAY}/retry", headers=headers)
            assert again.status_code == 404
    finally:
        with session_scope() as session:
            session.execute(
                text("DELETE FROM audit_log WHERE entity = 'rep_day' AND entity_id = :id"),
                {"id": f"{bad_rep}:{DAY.isoformat()}"},
            )
            session.execute(delete(User).where(User.id == admin_id))
    assert run_job().parked == []
    assert day_row(bad_rep) == (False, False, None)


def test_new_data_for_a_parked_day_gives_it_another_chance(reps, monkeypatch):
    (bad_rep, _), _ = reps
    monkeypatch.setattr(
        days, "compute_day", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom"))
    )
    run_job()
    assert day_row(bad_rep).refresh_error == "tracking: RuntimeError: boom"
    monkeypatch.undo()
    with session_scope() as session:
        late = [PingRecord(at=T0 + timedelta(minutes=40), lat=-6.2, lon=106.8, accuracy_m=8)]
        tracking_service.store_rep_pings(
            session, rep_id=bad_rep, items=list(enumerate(late)), batch_size=1, now=NOW
        )
    assert day_row(bad_rep).refresh_error is None
    run_job()
    assert day_row(bad_rep) == (False, False, None)
