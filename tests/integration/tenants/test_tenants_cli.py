"""`sfa tenants create|list|migrate|disable|enable` against real databases of the test
cluster (docs/tenancy.md): a company is made from scratch and works; migrating every
company goes past one that fails, reports it and exits non-zero."""

import psycopg
import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from api.cli import app as cli
from sfa.auth.passwords import verify_password
from sfa.db import get_engine, libpq_url, session_scope
from sfa.errors import Conflict, InvalidInput
from sfa.tenants import repository, service
from sfa.tenants.models import Status, Tenant
from sfa.users.models import Role, User
from tenancy import COMPANIES, create_empty_database, drop_database

runner = CliRunner()


def test_a_created_company_has_postgis_every_migration_and_its_admin(tenancy, companies):
    acme = companies["acme"]
    with psycopg.connect(libpq_url(acme.database_url)) as conn:
        assert conn.execute("SELECT postgis_lib_version()").fetchone()[0]
        (head,) = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    with psycopg.connect(libpq_url(get_engine().url.render_as_string(hide_password=False))) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone() == (head,)
    with service.company_database(acme), session_scope() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None and admin.role is Role.admin
        assert verify_password(COMPANIES["acme"], admin.password_hash)
        assert session.execute(text("SELECT current_database()")).scalar() == "sfa_acme"
    assert repository.find(tenancy.engine, "acme") == Tenant(
        slug="acme", display_name="Acme", database_url=acme.database_url
    )


def test_create_prints_a_generated_password_once(tenancy, pg_server):
    result = runner.invoke(cli, ["tenants", "create", "gamma", "--name", "Gamma Distribusi"])
    try:
        assert result.exit_code == 0, result.output
        assert "applying the migrations" in result.output  # progress as it goes
        password = result.output.split("password ")[1].split()[0]
        gamma = tenancy.lookup("gamma")
        assert gamma is not None and gamma.display_name == "Gamma Distribusi"
        with service.company_database(gamma), session_scope() as session:
            admin = session.scalar(select(User).where(User.username == "admin"))
            assert verify_password(password, admin.password_hash)
        listed = runner.invoke(cli, ["tenants", "list"])
        assert listed.exit_code == 0
        for slug in ("default", "acme", "beta", "gamma"):
            assert slug in listed.output
        assert "sfa_gamma" in listed.output
        again = runner.invoke(cli, ["tenants", "create", "gamma"])
        assert again.exit_code == 1 and "exists already" in again.output
    finally:
        _unregister(tenancy, "gamma")
        drop_database(pg_server, "sfa_gamma")


def test_names_that_cannot_be_a_company_are_refused(tenancy):
    for slug in ("Acme", "1acme", "acme.b", "a" * 41, ""):
        with pytest.raises(InvalidInput):
            service.create(tenancy, slug=slug)
    with pytest.raises(Conflict):
        service.create(tenancy, slug="default")  # the default company (SFA_DATABASE_URL)
    with pytest.raises(Conflict):
        service.create(tenancy, slug="acme")


def _unregister(registry, slug: str) -> None:
    with registry.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE slug = :slug"), {"slug": slug})
    registry.forget()


@pytest.fixture
def broken_company(tenancy, pg_server):
    """A company whose database claims a migration this code does not have: its
    migration fails as a real one would."""
    create_empty_database(pg_server, "sfa_broken")
    url = f"{pg_server}/sfa_broken"
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute("CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)")
        conn.execute("INSERT INTO alembic_version VALUES ('9999_from_the_future')")
    # Registered between acme and beta (the registry lists by name): beta must still be
    # migrated after it fails.
    repository.add(tenancy.engine, Tenant(slug="b-broken", display_name="Broken", database_url=url))
    try:
        yield
    finally:
        _unregister(tenancy, "b-broken")
        drop_database(pg_server, "sfa_broken")


def test_migrate_goes_past_a_failing_company_and_exits_non_zero(tenancy, broken_company):
    migrated = []
    outcomes = service.migrate_all(
        tenancy, upgrade=lambda url: (migrated.append(url), service.migrate.upgrade(url))
    )
    assert [(o.slug, o.ok) for o in outcomes] == [
        ("default", True),
        ("acme", True),
        ("b-broken", False),
        ("beta", True),
    ]
    assert "9999_from_the_future" in outcomes[2].problem
    assert len(migrated) == 4  # one at a time, each tried

    result = runner.invoke(cli, ["tenants", "migrate"])
    assert result.exit_code == 1, result.output
    assert "[4/4] migrating beta" in result.output
    assert "3 of 4 companies migrated, 1 failed: b-broken" in " ".join(result.output.split())


def test_disable_and_enable(tenancy):
    try:
        assert runner.invoke(cli, ["tenants", "disable", "beta"]).exit_code == 0
        assert tenancy.lookup("beta").status is Status.disabled
        outcomes = service.migrate_all(tenancy, upgrade=lambda url: None)
        assert "beta" not in [o.slug for o in outcomes]  # a disabled company is left alone
        refused = runner.invoke(cli, ["tenants", "disable", "default"])
        assert refused.exit_code == 1 and "default company" in refused.output
        assert runner.invoke(cli, ["tenants", "disable", "nobody"]).exit_code == 1
    finally:
        assert runner.invoke(cli, ["tenants", "enable", "beta"]).exit_code == 0
    assert tenancy.lookup("beta").status is Status.active


def test_commands_run_for_the_company_named(tenancy):
    result = runner.invoke(cli, ["--company", "beta", "migrate"])
    assert result.exit_code == 0, result.output
    assert "sfa_beta" in result.output
    unknown = runner.invoke(cli, ["--company", "nobody", "migrate"])
    assert unknown.exit_code == 2 and "no company 'nobody'" in unknown.output
