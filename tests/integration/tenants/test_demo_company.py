"""`sfa tenants create SLUG --demo --exists-ok`, what `make demo-company` runs
(scripts/demo_company.sh): a company made from scratch with the demo data in its own
database, nothing added to the default company's; run again, it changes nothing."""

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from api.cli import app as cli
from sfa.auth.passwords import verify_password
from sfa.customers.models import Customer
from sfa.db import libpq_url, session_scope
from sfa.demo.seed import DEMO_PASSWORD
from sfa.tenants import service
from sfa.users.models import User
from tenancy import drop_database

runner = CliRunner()
SLUG = "demo-x"


def _count(url: str, table: str) -> int:
    with psycopg.connect(libpq_url(url)) as conn:
        query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        return conn.execute(query).fetchone()[0]


@pytest.fixture
def demo_company(tenancy, pg_server):
    yield
    with tenancy.engine.begin() as conn:
        conn.execute(text("DELETE FROM tenants WHERE slug = :slug"), {"slug": SLUG})
    tenancy.forget()
    drop_database(pg_server, "sfa_demo_x")


def test_a_demo_company_in_one_command_and_again_changes_nothing(
    tenancy, demo_company, database_url
):
    default_users = _count(database_url, "users")
    command = ["tenants", "create", SLUG, "--name", "Demo X", "--demo", "--exists-ok"]
    result = runner.invoke(cli, command)
    assert result.exit_code == 0, result.output
    assert "demo data loaded" in result.output
    assert f"X-Company: {SLUG}" in result.output

    company = tenancy.lookup(SLUG)
    assert company is not None and company.display_name == "Demo X"
    with service.company_database(company), session_scope() as session:
        assert session.execute(text("SELECT current_database()")).scalar() == "sfa_demo_x"
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert verify_password(DEMO_PASSWORD, admin.password_hash)
        assert session.scalar(select(User.id).where(User.username == "rep01")) is not None
        customers = session.scalar(select(func.count()).select_from(Customer))
    assert customers >= 1000
    assert _count(database_url, "users") == default_users  # none in the default company

    again = runner.invoke(cli, command)
    assert again.exit_code == 0, again.output
    assert "exists already: left as it is" in again.output
    assert "nothing to do" in again.output
    assert _count(company.database_url, "customers") == customers
    # Without --exists-ok a second create is refused, as before.
    refused = runner.invoke(cli, ["tenants", "create", SLUG])
    assert refused.exit_code == 1 and "exists already" in refused.output
