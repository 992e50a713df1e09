"""POST /v1/plans/import and `sfa import-plans`: the same import over HTTP and the CLI."""

import contextlib
from datetime import timedelta

from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app as cli
from sfa.plans import service as plan_service
from sfa.plans.models import PlannedVisit

HEADER = "kind,rep,customer,weekday,every_n_weeks,anchor_week,valid_from,valid_to,day\n"


def csv_body(db) -> str:
    today = plan_service.company_today(db)
    return HEADER + (
        f"planned_visit,rep.a,A001,,,,,,{today - timedelta(days=10)}\n"
        f"planned_visit,rep.a,B001,,,,,,{today - timedelta(days=10)}\n"
    )


def post(client, world, who, body, content_type="text/csv", **params):
    return client.post(
        "/v1/plans/import",
        content=body,
        params=params,
        headers=world.headers(who) | {"Content-Type": content_type},
    )


def imported_days(db, world):
    stmt = select(PlannedVisit.day).where(
        PlannedVisit.rep_id == world.rep_a.id, PlannedVisit.source == "imported"
    )
    return list(db.scalars(stmt))


def test_admin_imports_a_csv_and_gets_every_rejection(client, world, db):
    response = post(client, world, "admin", csv_body(db))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["dry_run"] is False and answer["rows"] == 2
    assert answer["planned_visits_created"] == 1
    assert answer["rejected"] == [
        {
            "index": 1,
            "line": 3,
            "reason": "customer 'B001' is not in the territory of the team of rep 'rep.a'",
        }
    ]
    assert len(imported_days(db, world)) == 1
    # Again: nothing new.
    again = post(client, world, "admin", csv_body(db)).json()
    assert (again["planned_visits_created"], again["planned_visits_unchanged"]) == (0, 1)
    # The listing shows where the row came from.
    listed = client.get(
        "/v1/planned-visits", params={"source": "imported"}, headers=world.headers("admin")
    ).json()
    assert [p["source"] for p in listed["items"]] == ["imported"]


def test_json_body_and_dry_run(client, world, db):
    today = plan_service.company_today(db)
    rows = (
        '[{"kind": "journey_plan", "rep": "rep.a", "customer": "A001", "weekday": 3,'
        f' "valid_from": "{today - timedelta(days=60)}"}}]'
    )
    dry = post(client, world, "admin", rows, "application/json", dry_run="true").json()
    assert dry["dry_run"] is True and dry["journey_plans_created"] == 1
    assert dry["planned_visits_created"] >= 8  # every Wednesday since, and two weeks ahead
    assert client.get("/v1/journey-plans", headers=world.headers("admin")).json()["total"] == 0


def test_who_may_import_and_what_the_body_must_be(client, world, db):
    for who in ("manager_a", "rep_a"):
        assert post(client, world, who, csv_body(db)).status_code == 403
    wrong = post(client, world, "admin", "a;b", "text/plain")
    assert wrong.status_code == 422
    assert "text/csv or application/json" in wrong.json()["error"]["message"]
    bad_header = post(client, world, "admin", "colour\nred\n")
    assert bad_header.status_code == 422
    assert "columns" in bad_header.json()["error"]["message"]


def test_the_cli_imports_with_progress(db, world, tmp_path, monkeypatch):
    """`sfa import-plans FILE` runs the same import in the test's transaction."""

    @contextlib.contextmanager
    def scope():
        yield db
        db.commit()

    monkeypatch.setattr("sfa.db.session_scope", scope)
    path = tmp_path / "plans.csv"
    path.write_text(csv_body(db))
    result = CliRunner().invoke(cli, ["import-plans", str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "2 rows: 0 journey plans and 1 planned visits would be created" in result.output
    assert "line 3: customer 'B001'" in result.output
    assert imported_days(db, world) == []
    result = CliRunner().invoke(cli, ["import-plans", str(path)])
    assert result.exit_code == 0, result.output
    assert len(imported_days(db, world)) == 1
    refused = CliRunner().invoke(cli, ["import-plans", str(path), "--admin", "rep.a"])
    assert refused.exit_code == 1 and "not an active administrator" in refused.output
