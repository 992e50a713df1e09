"""The console's workflow pages in-process: workflows (versions, diff, weekly numbers),
runs and tasks, on the workflow services' own visibility; what the administrator's
buttons and a task's completion did, read back through the JSON API.

Runs are started by the engine directly (as the events consumer does), about a rep: the
run belongs to the rep's team (tests/workflow_samples.py)."""

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from workflow_samples import finance_task, make_workflow, run_about, task_then_approval

from console_client import csrf_of, log_in
from factories import make_user
from sfa.auth import service as auth_service
from sfa.users.models import Role
from sfa.workflows import service as workflow_service
from sfa.workflows.runtime_models import Task

SIMPLE = {
    "name": "simple",
    "trigger": {"event": "order.submitted"},
    "start": "set",
    "steps": {
        "set": {"type": "set_variable", "name": "tier", "value": "auto", "next": "done"},
        "done": {"type": "end"},
    },
}


@pytest.fixture
def flows(db, world):
    """An authored workflow (version 1 published, draft 2 renamed) with team A's runs:
    waiting with manager A's own task, waiting with rep A's task, failed (nobody holds the
    finance role); a simple workflow's completed run of team A; team B's waiting run."""
    admin = auth_service.principal_for_user(db, world.admin)
    authored = workflow_service.create_workflow(
        db, principal=admin, key="console-test", definition=SIMPLE, enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=authored.id, number=1)
    workflow_service.update_workflow(
        db,
        principal=admin,
        workflow_id=authored.id,
        definition=SIMPLE | {"name": "Simple, renamed"},
        enabled=None,
    )
    other = make_workflow(db, "other")
    own_task = task_then_approval(world.manager_a.id)
    runs = {
        "manager_task": run_about(db, authored, own_task, world.rep_a),
        "rep_task": run_about(db, authored, task_then_approval(world.rep_a.id), world.rep_a),
        "failed": run_about(db, authored, finance_task(), world.rep_a),
        "done": run_about(db, other, SIMPLE, world.rep_a),
        "foreign": run_about(db, authored, task_then_approval(world.rep_b.id), world.rep_b),
    }
    db.commit()
    return {"wf": authored, "other": other, **runs}


def client_of(browser, username: str) -> TestClient:
    other = TestClient(browser.app, base_url="https://testserver", raise_server_exceptions=False)
    assert log_in(other, username).status_code == 303
    return other


def ids_of(html: str, attribute: str) -> set[int]:
    return {int(i) for i in re.findall(rf'{attribute}="(\d+)"', html)}


def task_of(db, run) -> Task:
    return db.scalar(select(Task).where(Task.run_id == run.id))


def api(client, world, who: str, url: str, **params):
    response = client.get(url, params=params, headers=world.headers(who))
    assert response.status_code == 200, response.text
    return response.json()


def test_the_workflow_list_and_a_workflows_versions_diff_and_numbers(browser, client, world, flows):
    wf = flows["wf"]
    manager_a = client_of(browser, "manager.a")
    listed = manager_a.get("/console/workflows")
    assert listed.status_code == 200, listed.text
    # The built-in workflows are there too: the list is the API's.
    every = api(client, world, "manager_a", "/v1/workflows", limit=1000)["items"]
    assert ids_of(listed.text, "data-workflow-id") == {w["id"] for w in every}
    assert {wf.id, flows["other"].id} <= {w["id"] for w in every}
    assert f"{len(every)} " in listed.text
    row = listed.text[listed.text.index(f'data-workflow-id="{wf.id}"') :].split("</tr>")[0]
    assert "Simple, renamed" in row and "console-test" in row
    assert "Admin (admin)" in row  # who published version 1, by name
    only = manager_a.get("/console/workflows?q=console")
    assert ids_of(only.text, "data-workflow-id") == {wf.id}
    assert manager_a.get("/console/workflows?enabled=maybe").status_code == 422

    page = manager_a.get(f"/console/workflows/{wf.id}")
    assert page.status_code == 200, page.text
    assert re.findall(r'data-version="(\d+)" data-state="(\w+)"', page.text) == [
        ("2", "draft"),
        ("1", "published"),
    ]
    # The diff is the API's: the latest version against the one before.
    diff = api(client, world, "manager_a", f"/v1/workflows/{wf.id}/diff")
    assert 'data-from="1" data-to="2"' in page.text
    paths = re.findall(r'<tr data-path="([^"]+)" data-change="(\w+)"', page.text)
    assert paths == [(c["path"], c["change"]) for c in diff["changes"]] == [("name", "changed")]
    back = manager_a.get(f"/console/workflows/{wf.id}?from=2&to=1")
    assert 'data-from="2" data-to="1"' in back.text
    assert manager_a.get(f"/console/workflows/{wf.id}?from=9&to=1").status_code == 404
    # The weekly numbers: a manager counts their teams' runs only, like the API.
    manager_b = client_of(browser, "manager.b")
    for who, browser_of, started in (("manager_a", manager_a, 3), ("manager_b", manager_b, 1)):
        html = browser_of.get(f"/console/workflows/{wf.id}?weeks=4").text
        shown = [int(n) for n in re.findall(r'data-metric="started">(\d+)<', html)]
        weeks = api(client, world, who, f"/v1/workflows/{wf.id}/stats", weeks=4)["weeks"]
        assert len(shown) == len(weeks) == 4
        assert sum(shown) == sum(w["started"] for w in weeks) == started, who
        failed = sum(int(n) for n in re.findall(r'data-metric="failed">(\d+)<', html))
        assert failed == (1 if who == "manager_a" else 0)
    assert manager_a.get(f"/console/workflows/{wf.id}?weeks=5").status_code == 422
    assert manager_a.get("/console/workflows/999999").status_code == 404
    # A workflow without any version yet: no versions, nothing to compare.
    bare = manager_a.get(f"/console/workflows/{flows['other'].id}")
    assert bare.status_code == 200, bare.text
    assert 'id="diff"' not in bare.text and "data-version=" not in bare.text


def test_only_an_admin_switches_and_publishes(browser, client, world, flows):
    wf = flows["wf"]
    manager_a = client_of(browser, "manager.a")
    page = manager_a.get(f"/console/workflows/{wf.id}")
    assert f"/console/workflows/{wf.id}/disable" not in page.text
    assert f"/console/workflows/{wf.id}/publish" not in page.text
    token = {"X-CSRF-Token": csrf_of(page.text)}
    assert manager_a.post(f"/console/workflows/{wf.id}/disable", headers=token).status_code == 403
    published = manager_a.post(
        f"/console/workflows/{wf.id}/publish", data={"version": "2"}, headers=token
    )
    assert published.status_code == 403
    assert api(client, world, "admin", f"/v1/workflows/{wf.id}")["enabled"] is True

    admin = client_of(browser, "admin")
    page = admin.get(f"/console/workflows/{wf.id}")
    token = {"X-CSRF-Token": csrf_of(page.text)}
    # Without the token: refused, still on.
    assert admin.post(f"/console/workflows/{wf.id}/disable").status_code == 403
    assert api(client, world, "admin", f"/v1/workflows/{wf.id}")["enabled"] is True
    off = admin.post(f"/console/workflows/{wf.id}/disable", headers=token)
    assert off.status_code == 200, off.text
    assert 'id="workflow-admin" data-enabled="false"' in off.text
    assert api(client, world, "admin", f"/v1/workflows/{wf.id}")["enabled"] is False
    on = admin.post(f"/console/workflows/{wf.id}/enable", headers=token)
    assert 'data-enabled="true"' in on.text
    assert api(client, world, "admin", f"/v1/workflows/{wf.id}")["enabled"] is True
    # Publish the draft, then roll back to 1: a new version 3, a copy of 1.
    two = admin.post(f"/console/workflows/{wf.id}/publish", data={"version": "2"}, headers=token)
    assert two.status_code == 200, two.text
    assert 'data-active-version="2"' in two.text
    assert api(client, world, "admin", f"/v1/workflows/{wf.id}")["active"]["number"] == 2
    back = admin.post(f"/console/workflows/{wf.id}/publish", data={"version": "1"}, headers=token)
    assert 'data-active-version="3"' in back.text
    versions = api(client, world, "manager_a", f"/v1/workflows/{wf.id}/versions")["items"]
    assert [(v["number"], v["state"], v["copied_from"]) for v in versions] == [
        (3, "published", 1),
        (2, "archived", None),
        (1, "archived", None),
    ]
    bad = admin.post(f"/console/workflows/{wf.id}/publish", data={"version": "x"}, headers=token)
    assert bad.status_code == 422


def test_runs_a_manager_sees_are_their_teams(browser, world, flows):
    team_a = {flows[k].id for k in ("manager_task", "rep_task", "failed", "done")}
    manager_a = client_of(browser, "manager.a")
    page = manager_a.get("/console/workflow-runs")
    assert page.status_code == 200, page.text
    assert ids_of(page.text, "data-run-id") == team_a
    assert f"{len(team_a)} " in page.text and "Team A" in page.text and "Team B" not in page.text
    manager_b = client_of(browser, "manager.b")
    assert ids_of(manager_b.get("/console/workflow-runs").text, "data-run-id") == {
        flows["foreign"].id
    }
    admin = client_of(browser, "admin")
    assert ids_of(admin.get("/console/workflow-runs").text, "data-run-id") == team_a | {
        flows["foreign"].id
    }
    # Filters: workflow, status, subject.
    by_wf = manager_a.get(f"/console/workflow-runs?workflow_id={flows['other'].id}")
    assert ids_of(by_wf.text, "data-run-id") == {flows["done"].id}
    failed = manager_a.get("/console/workflow-runs?status=failed")
    assert ids_of(failed.text, "data-run-id") == {flows["failed"].id}
    subject = f"/console/workflow-runs?subject_kind=user&subject_id={world.rep_b.id}"
    assert ids_of(manager_a.get(subject).text, "data-run-id") == set()
    assert ids_of(admin.get(subject).text, "data-run-id") == {flows["foreign"].id}
    assert manager_a.get("/console/workflow-runs?status=lost").status_code == 422
    # A run's page: every step, with its error; another team's run is not there.
    run = manager_a.get(f"/console/workflow-runs/{flows['failed'].id}")
    assert run.status_code == 200, run.text
    steps = re.findall(r'data-step-id="(\w+)" data-attempt="(\d)" data-status="(\w+)"', run.text)
    assert steps == [("note", "1", "done"), ("task", "1", "failed")]
    assert "finance" in run.text and "/retry" not in run.text  # a manager has no buttons
    assert manager_a.get(f"/console/workflow-runs/{flows['foreign'].id}").status_code == 404


def test_an_admin_retries_and_cancels_runs(browser, client, db, world, flows):
    failed, waiting = flows["failed"], flows["rep_task"]
    manager_a = client_of(browser, "manager.a")
    token = {"X-CSRF-Token": csrf_of(manager_a.get("/console/workflow-runs").text)}
    for action, run in (("retry", failed), ("cancel", waiting)):
        refused = manager_a.post(f"/console/workflow-runs/{run.id}/{action}", headers=token)
        assert refused.status_code == 403, action
    admin = client_of(browser, "admin")
    page = admin.get(f"/console/workflow-runs/{failed.id}")
    assert f"/console/workflow-runs/{failed.id}/retry" in page.text
    token = {"X-CSRF-Token": csrf_of(page.text)}
    assert admin.post(f"/console/workflow-runs/{failed.id}/retry").status_code == 403
    url = f"/v1/workflow-runs/{failed.id}"
    assert api(client, world, "admin", url)["status"] == "failed"
    make_user(db, "finance.1", Role.finance)
    db.commit()
    retried = admin.post(f"/console/workflow-runs/{failed.id}/retry", headers=token)
    assert retried.status_code == 200, retried.text
    assert 'data-status="completed"' in retried.text and 'role="status"' in retried.text
    run = api(client, world, "admin", url)
    assert (run["status"], [s["attempt"] for s in run["steps"] if s["step_id"] == "task"]) == (
        "completed",
        [1, 2],
    )
    again = admin.post(f"/console/workflow-runs/{failed.id}/retry", headers=token)
    assert again.status_code == 409
    # Cancel the waiting run: its open task is cancelled too.
    assert (
        f"/console/workflow-runs/{waiting.id}/cancel"
        in admin.get(f"/console/workflow-runs/{waiting.id}").text
    )
    cancelled = admin.post(f"/console/workflow-runs/{waiting.id}/cancel", headers=token)
    assert cancelled.status_code == 200, cancelled.text
    assert "/cancel" not in cancelled.text  # nothing left to cancel
    assert api(client, world, "admin", f"/v1/workflow-runs/{waiting.id}")["status"] == "cancelled"
    task = task_of(db, waiting)
    listed = api(client, world, "admin", "/v1/tasks", status="cancelled")["items"]
    assert [t["id"] for t in listed] == [task.id]


def test_tasks_mine_and_my_teams_and_completing_one(browser, client, db, world, flows):
    own, reps = task_of(db, flows["manager_task"]), task_of(db, flows["rep_task"])
    foreign = task_of(db, flows["foreign"])
    manager_a = client_of(browser, "manager.a")
    page = manager_a.get("/console/tasks")
    assert page.status_code == 200, page.text
    assert ids_of(page.text, "data-task-id") == {own.id, reps.id}
    assert 'data-mine-open="1"' in page.text
    mine = manager_a.get("/console/tasks?whose=mine")
    assert ids_of(mine.text, "data-task-id") == {own.id}
    # The button only on the manager's own task (the service's rule).
    assert f"/console/tasks/{own.id}/complete" in page.text
    assert f"/console/tasks/{reps.id}/complete" not in page.text
    manager_b = client_of(browser, "manager.b")
    other = manager_b.get("/console/tasks")
    assert ids_of(other.text, "data-task-id") == {foreign.id}
    assert 'data-mine-open="0"' in other.text
    token_b = {"X-CSRF-Token": csrf_of(other.text)}
    assert manager_b.post(f"/console/tasks/{own.id}/complete", headers=token_b).status_code == 404
    token = {"X-CSRF-Token": csrf_of(page.text)}
    assert manager_a.post(f"/console/tasks/{reps.id}/complete", headers=token).status_code == 403
    assert manager_a.post(f"/console/tasks/{own.id}/complete").status_code == 403  # no token
    assert api(client, world, "manager_a", "/v1/tasks", status="done")["items"] == []
    done = manager_a.post(f"/console/tasks/{own.id}/complete", headers=token)
    assert done.status_code == 200, done.text
    assert f'id="task-{own.id}" data-task-id="{own.id}" data-status="done"' in done.text
    (item,) = api(client, world, "manager_a", "/v1/tasks", status="done")["items"]
    assert (item["id"], item["closed_by"]) == (own.id, world.manager_a.id)
    assert ids_of(manager_a.get("/console/tasks").text, "data-task-id") == {reps.id}
    every = manager_a.get("/console/tasks?status=")
    assert ids_of(every.text, "data-task-id") == {own.id, reps.id}
    assert manager_a.get("/console/tasks?whose=theirs").status_code == 422


def test_a_rep_is_refused_every_workflow_page(browser, db, world, flows):
    assert log_in(browser, "rep.a").status_code == 403
    paths = [
        "/console/workflows",
        f"/console/workflows/{flows['wf'].id}",
        "/console/workflow-runs",
        f"/console/workflow-runs/{flows['rep_task'].id}",
        "/console/tasks",
    ]
    for path in paths:
        response = browser.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/console/login")
    # A manager made a rep while logged in: the next request is refused, nothing shown.
    manager = client_of(browser, "manager.a")
    assert 'data-run-id="' in manager.get(paths[2]).text
    world.manager_a.role = Role.rep
    db.commit()
    for path in paths:
        response = manager.get(path, follow_redirects=False)
        assert response.status_code == 403, path
        assert "reps use the mobile app" in response.text, path
        assert "data-run-id" not in response.text and "data-task-id" not in response.text
