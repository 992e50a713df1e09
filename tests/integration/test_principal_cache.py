"""The principal cache (sfa/auth/principal_cache.py) against a real PostgreSQL: it caches
only while it listens, and a change to users or teams committed by any connection empties
it. Real commits (notifications are delivered on commit); the rows are removed afterwards."""

import pytest
from polling import wait_until
from sqlalchemy import delete, text

from factories import make_user
from sfa.auth import service as auth_service
from sfa.auth import tokens
from sfa.auth.principal_cache import PrincipalCache
from sfa.db import get_sessionmaker, libpq_url, session_scope
from sfa.users.models import Role, Team, User


@pytest.fixture
def listening(database_url):
    cache = PrincipalCache()
    cache.start(libpq_url(database_url))
    try:
        wait_until(lambda: cache.enabled)
        yield cache
    finally:
        cache.stop()


@pytest.fixture
def committed_rep(database_url):
    with session_scope() as session:
        team = Team(name="cache-test-team")
        session.add(team)
        session.flush()
        rep_id, team_id = make_user(session, "cache-test-rep", Role.rep, team).id, team.id
    try:
        yield rep_id, team_id
    finally:
        with session_scope() as session:
            session.execute(delete(User).where(User.id == rep_id))
            session.execute(delete(Team).where(Team.id == team_id))


class Loads:
    """A load function that counts its calls."""

    def __init__(self, value):
        self.value, self.calls = value, 0

    def __call__(self):
        self.calls += 1
        return self.value


def test_nothing_is_cached_unless_listening():
    cache, load = PrincipalCache(), Loads("principal")
    assert cache.lookup(1, load) == cache.lookup(1, load) == "principal"
    assert load.calls == 2


def test_a_load_is_cached_until_a_committed_change_is_notified(listening, engine):
    load = Loads("principal")
    listening.lookup(7, load)
    listening.lookup(7, load)
    assert load.calls == 1
    # Another connection (as another API process would) changes users and commits.
    with engine.connect() as other:
        other.execute(text("UPDATE users SET full_name = full_name WHERE false"))
        other.commit()
    wait_until(lambda: (listening.lookup(7, load), load.calls)[1] == 2)


def test_a_load_overtaken_by_a_change_is_not_kept(listening):
    def load_then_change():
        listening.clear()  # what a notification arriving meanwhile does
        return "maybe stale"

    listening.lookup(7, load_then_change)
    load = Loads("fresh")
    assert listening.lookup(7, load) == "fresh" and load.calls == 1


def test_a_lost_listening_connection_stops_caching_until_it_is_back(listening, engine):
    load = Loads("principal")
    listening.lookup(7, load)
    with engine.connect() as other:
        # Every listener's connection (any other one reconnects the same way).
        killed = other.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = 'sfa principal cache'"
            )
        ).all()
        other.commit()
    assert killed
    wait_until(lambda: not listening.enabled)
    assert listening.lookup(7, load) and load.calls == 2  # read, not served from before
    wait_until(lambda: listening.enabled)  # reconnected after ~1 s
    listening.lookup(7, load)
    listening.lookup(7, load)
    assert load.calls == 3


def test_deactivating_a_rep_in_another_process_refuses_their_token(
    listening, committed_rep, monkeypatch
):
    rep_id, _ = committed_rep
    monkeypatch.setattr("sfa.auth.principal_cache.cache", listening)
    token = tokens.issue(rep_id, "access")
    with get_sessionmaker()() as session:
        assert auth_service.principal_for_token(session, access_token=token).id == rep_id
    with session_scope() as session:  # another process's commit, as far as ORM events go
        session.execute(text("UPDATE users SET is_active = false WHERE id = :id"), {"id": rep_id})

    def refused():
        with get_sessionmaker()() as session:
            try:
                auth_service.principal_for_token(session, access_token=token)
            except auth_service.Unauthenticated:
                return True
            return False

    wait_until(refused)


def test_a_team_given_to_a_manager_is_seen_once_committed(listening, committed_rep, monkeypatch):
    _, team_id = committed_rep
    monkeypatch.setattr("sfa.auth.principal_cache.cache", listening)
    with session_scope() as session:
        manager_id = make_user(session, "cache-test-manager", Role.manager).id
    try:
        token = tokens.issue(manager_id, "access")

        def teams():
            with get_sessionmaker()() as session:
                return auth_service.principal_for_token(session, access_token=token).team_ids

        assert teams() == frozenset()
        with session_scope() as session:
            session.execute(
                text("UPDATE teams SET manager_id = :m WHERE id = :t"),
                {"m": manager_id, "t": team_id},
            )
        wait_until(lambda: teams() == frozenset({team_id}))
    finally:
        with session_scope() as session:
            session.execute(
                text("UPDATE teams SET manager_id = NULL WHERE id = :t"), {"t": team_id}
            )
            session.execute(delete(User).where(User.id == manager_id))
