"""Which statements a replica-routed session sends to the primary, and which routes are
served from the replica (sfa/replica.py, api/deps.py)."""

import pytest
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from api.deps import _READS
from api.routers import crm_reports, reports
from sfa import replica
from sfa.auth.models import ApiKey
from sfa.customers.models import Customer


@pytest.mark.parametrize(
    "statement",
    [
        insert(Customer).values(code="x", name="x"),
        update(Customer).values(name="y"),
        delete(Customer),
        select(Customer).with_for_update(),
        text("INSERT INTO rep_days (rep_id, day) VALUES (1, '2026-01-01')"),
        text("WITH moved AS (UPDATE visits SET rep_id = 2 RETURNING id) SELECT * FROM moved"),
        text("SELECT pg_advisory_xact_lock(1)"),
        text("SELECT * FROM orders FOR UPDATE SKIP LOCKED"),
    ],
)
def test_writes_and_locks_go_to_the_primary(statement):
    assert replica.writes(statement)


@pytest.mark.parametrize(
    "statement",
    [
        select(Customer),
        text("SELECT updated_at, last_update FROM customers"),
        text("SELECT created_by, deleted FROM visits"),
    ],
)
def test_reads_may_go_to_the_replica(statement):
    assert not replica.writes(statement)


def _bind(session: Session, **kw):
    return session.get_bind(**kw)


def test_a_routing_session_sticks_to_the_primary_once_it_wrote():
    primary, standby = object(), object()
    session = replica.RoutingSession(primary=primary, replica=standby)  # type: ignore[arg-type]
    assert _bind(session, clause=select(Customer)) is standby
    # Authentication reads the primary, and so does the principal's marked query.
    assert _bind(session, mapper=ApiKey.__mapper__, clause=select(ApiKey)) is primary
    marked = text("SELECT 1 FROM users").execution_options(**{replica.PRIMARY: True})
    assert _bind(session, clause=marked) is primary
    assert session.on_replica
    assert _bind(session, clause=update(Customer).values(name="y")) is primary
    assert not session.on_replica
    assert _bind(session, clause=select(Customer)) is primary


def test_every_report_route_reads_the_replica():
    routes = [r for module in (reports, crm_reports) for r in module.router.routes]
    report_routes = [r for r in routes if r.path.startswith("/v1/reports")]
    assert len(report_routes) == 7
    assert all(getattr(r.endpoint, _READS, None) == "always" for r in report_routes)
