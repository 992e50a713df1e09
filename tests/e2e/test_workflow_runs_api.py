"""Workflow runs, tasks and approvals over HTTP: who sees what, retry, cancel, decisions.

Runs are started by the engine directly (as the events consumer does), about a rep: the
run belongs to the rep's team.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from workflow_samples import finance_task, make_workflow, run_about, task_then_approval

from factories import make_user
from sfa.users.models import Role
from sfa.workflows.runtime_models import (
    ApprovalDecision,
    RunStatus,
    Task,
    TaskStatus,
    WorkflowApproval,
    WorkflowTimer,
)

T0 = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)
SIMPLE = {
    "name": "simple",
    "trigger": {"event": "order.submitted"},
    "start": "set",
    "steps": {
        "set": {"type": "set_variable", "name": "tier", "value": "auto", "next": "done"},
        "done": {"type": "end"},
    },
}


def get(client, world, url, who="admin", **params):
    response = client.get(url, params=params, headers=world.headers(who))
    return response


def ids(response) -> list[int]:
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


def post(client, world, url, who="admin", **body):
    return client.post(url, json=body or None, headers=world.headers(who))


@pytest.fixture
def runs(db, world):
    """wf1: a completed run about rep A; wf2: a waiting one about rep A and one about rep B."""
    wf1, wf2 = make_workflow(db, "simple"), make_workflow(db, "approval")
    done = run_about(db, wf1, SIMPLE, world.rep_a, now=T0)
    waiting = run_about(
        db, wf2, task_then_approval(world.rep_a.id), world.rep_a, now=T0 + timedelta(hours=1)
    )
    foreign = run_about(
        db, wf2, task_then_approval(world.rep_b.id), world.rep_b, now=T0 + timedelta(hours=2)
    )
    db.commit()
    return {"wf1": wf1, "wf2": wf2, "done": done, "waiting": waiting, "foreign": foreign}


def test_runs_list_filters_and_visibility(client, world, runs):
    done, waiting, foreign = runs["done"], runs["waiting"], runs["foreign"]
    url = "/v1/workflow-runs"
    # Newest first.
    assert ids(get(client, world, url)) == [foreign.id, waiting.id, done.id]
    assert ids(get(client, world, url, workflow_id=runs["wf1"].id)) == [done.id]
    assert ids(get(client, world, url, status="waiting")) == [foreign.id, waiting.id]
    by_subject = get(client, world, url, subject_kind="user", subject_id=world.rep_b.id)
    assert ids(by_subject) == [foreign.id]
    assert ids(get(client, world, url, subject_kind="order")) == []
    page = get(client, world, url, limit=2, offset=1).json()
    assert ([i["id"] for i in page["items"]], page["total"]) == ([waiting.id, done.id], 3)
    # A manager sees the runs about their teams' reps; a rep none at all.
    assert ids(get(client, world, url, "manager_a")) == [waiting.id, done.id]
    assert ids(get(client, world, url, "manager_b")) == [foreign.id]
    assert get(client, world, url, "rep_a").status_code == 403
    assert get(client, world, f"{url}/{foreign.id}", "manager_a").status_code == 404
    assert get(client, world, f"{url}/{waiting.id}", "rep_a").status_code == 403
    summary = get(client, world, url, workflow_id=runs["wf1"].id).json()["items"][0]
    assert (summary["status"], summary["team_id"], summary["subject_id"]) == (
        "completed",
        world.team_a.id,
        world.rep_a.id,
    )


def test_run_detail_has_every_step(client, world, runs):
    response = get(client, world, f"/v1/workflow-runs/{runs['waiting'].id}", "manager_a")
    assert response.status_code == 200, response.text
    run = response.json()
    assert (run["status"], run["current_step"], run["context"]["rep"]["id"]) == (
        "waiting",
        "check",
        world.rep_a.id,
    )
    task, check = run["steps"]
    assert (task["step_id"], task["step_type"], task["attempt"], task["status"]) == (
        "task",
        "assign_task",
        1,
        "done",
    )
    assert task["input"]["step"]["title"] == "Call the customer"
    assert task["output"]["assignee_user_id"] == world.rep_a.id
    assert task["started_at"] == task["finished_at"] and task["duration_s"] == 0
    assert (check["status"], check["finished_at"], check["duration_s"]) == ("waiting", None, None)
    assert check["output"]["approver_user_id"] == world.manager_a.id


def test_retry_of_a_failed_run_resumes_at_its_failed_step(client, db, world):
    wf = make_workflow(db, "finance")
    run = run_about(db, wf, finance_task(), world.rep_a, now=T0)
    db.commit()
    url = f"/v1/workflow-runs/{run.id}"
    failed = get(client, world, url).json()
    assert (failed["status"], failed["current_step"]) == ("failed", "task")
    assert "nobody active holds the role 'finance'" in failed["error"]
    assert failed["steps"][-1]["error"] == failed["error"].split(": ", 1)[1]
    assert post(client, world, f"{url}/retry", "manager_a").status_code == 403
    # Still nobody in finance: the retry is a new attempt, failed again.
    again = post(client, world, f"{url}/retry").json()
    assert again["status"] == "failed"
    finance = make_user(db, "finance.1", Role.finance)
    db.commit()
    response = post(client, world, f"{url}/retry")
    assert response.status_code == 200, response.text
    retried = response.json()
    assert (retried["status"], retried["error"]) == ("completed", None)
    assert [(s["step_id"], s["attempt"], s["status"]) for s in retried["steps"]] == [
        ("note", 1, "done"),
        ("task", 1, "failed"),
        ("task", 2, "failed"),
        ("task", 3, "done"),
        ("done", 1, "done"),
    ]
    db.expire_all()
    assert db.scalar(select(Task.assignee_user_id).where(Task.run_id == run.id)) == finance.id
    assert post(client, world, f"{url}/retry").status_code == 409


def test_cancel_stops_timers_approvals_and_tasks(client, db, world, runs):
    run = runs["waiting"]
    url = f"/v1/workflow-runs/{run.id}/cancel"
    assert post(client, world, url, "manager_a").status_code == 403
    assert post(client, world, url, "rep_a").status_code == 403
    response = post(client, world, url)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    db.expire_all()
    assert db.scalars(select(WorkflowTimer).where(WorkflowTimer.run_id == run.id)).all() == []
    approvals = db.scalars(select(WorkflowApproval).where(WorkflowApproval.run_id == run.id))
    assert [a.state for a in approvals] == [ApprovalDecision.cancelled]
    tasks = db.scalars(select(Task).where(Task.run_id == run.id))
    assert [t.status for t in tasks] == [TaskStatus.cancelled]
    assert post(client, world, url).status_code == 409
    assert post(client, world, f"/v1/workflow-runs/{runs['done'].id}/cancel").status_code == 409
    assert post(client, world, "/v1/workflow-runs/999999999/cancel").status_code == 404


@pytest.fixture
def tasks(db, world, runs):
    """Open tasks of rep A, rep A2 (team A) and rep B (team B), by due date."""
    wf = runs["wf2"]
    rep_a = db.scalar(select(Task).where(Task.run_id == runs["waiting"].id))
    rep_b = db.scalar(select(Task).where(Task.run_id == runs["foreign"].id))
    defn = task_then_approval(world.rep_a2.id)
    other = run_about(db, wf, defn, world.rep_a2, now=T0 + timedelta(hours=3))
    rep_a2 = db.scalar(select(Task).where(Task.run_id == other.id))
    db.commit()
    return {"rep_a": rep_a, "rep_a2": rep_a2, "rep_b": rep_b}


def test_tasks_visibility_per_role(client, world, tasks):
    a, a2, b = tasks["rep_a"].id, tasks["rep_a2"].id, tasks["rep_b"].id
    assert ids(get(client, world, "/v1/tasks")) == [a, b, a2]  # due T0+25h, +26h, +27h
    assert ids(get(client, world, "/v1/tasks", "rep_a")) == [a]
    assert ids(get(client, world, "/v1/tasks", "rep_b")) == [b]
    assert ids(get(client, world, "/v1/tasks", "manager_a")) == [a, a2]
    assert ids(get(client, world, "/v1/tasks", "manager_b")) == [b]
    assignee = get(client, world, "/v1/tasks", "manager_a", assignee_user_id=world.rep_a2.id)
    assert ids(assignee) == [a2]
    due = (T0 + timedelta(hours=26)).isoformat()
    assert ids(get(client, world, "/v1/tasks", due_before=due)) == [a]
    assert ids(get(client, world, "/v1/tasks", status="done")) == []
    item = get(client, world, "/v1/tasks", "rep_a").json()["items"][0]
    assert (item["title"], item["team_id"], item["status"]) == (
        "Call the customer",
        world.team_a.id,
        "open",
    )


def test_complete_a_task(client, db, world, tasks):
    a, a2 = tasks["rep_a"].id, tasks["rep_a2"].id
    # Rep A2 does not see rep A's task; manager A sees it but it is not theirs.
    assert post(client, world, f"/v1/tasks/{a}/complete", "rep_a2").status_code == 404
    assert post(client, world, f"/v1/tasks/{a}/complete", "manager_a").status_code == 403
    response = post(client, world, f"/v1/tasks/{a}/complete", "rep_a")
    assert response.status_code == 200, response.text
    done = response.json()
    assert (done["status"], done["closed_by"]) == ("done", world.rep_a.id)
    # A retried request answers the same; someone else completing it again: 409.
    assert post(client, world, f"/v1/tasks/{a}/complete", "rep_a").json() == done
    assert post(client, world, f"/v1/tasks/{a}/complete").status_code == 409
    admin = post(client, world, f"/v1/tasks/{a2}/complete").json()
    assert (admin["status"], admin["closed_by"]) == ("done", world.admin.id)
    assert ids(get(client, world, "/v1/tasks", "manager_a", status="done")) == [a, a2]


def test_approve_moves_the_run_on_and_twice_is_a_conflict(client, db, world, runs):
    run = runs["waiting"]
    listed = get(client, world, "/v1/workflow-approvals", "manager_a").json()["items"]
    assert [(i["run_id"], i["step_id"], i["state"]) for i in listed] == [
        (run.id, "check", "pending")
    ]
    assert listed[0]["subject_id"] == world.rep_a.id
    approval_id = listed[0]["id"]
    assert ids(get(client, world, "/v1/workflow-approvals", "manager_b")) == [
        a.id
        for a in db.scalars(
            select(WorkflowApproval).where(WorkflowApproval.run_id == runs["foreign"].id)
        )
    ]
    url = f"/v1/workflow-approvals/{approval_id}"
    # Manager B may not see team A's run: as if it did not exist. Rep A neither.
    assert post(client, world, f"{url}/approve", "manager_b").status_code == 404
    assert post(client, world, f"{url}/approve", "rep_a").status_code == 404
    response = post(client, world, f"{url}/approve", "manager_a", note="fine")
    assert response.status_code == 200, response.text
    decided = response.json()
    assert (decided["state"], decided["note"], decided["decided_by"]) == (
        "approved",
        "fine",
        world.manager_a.id,
    )
    detail = get(client, world, f"/v1/workflow-runs/{run.id}").json()
    assert (detail["status"], [s["step_id"] for s in detail["steps"]]) == (
        "completed",
        ["task", "check", "done"],
    )
    assert detail["steps"][1]["output"]["decision"] == "approved"
    assert post(client, world, f"{url}/approve", "manager_a").status_code == 409
    assert post(client, world, f"{url}/reject", "manager_a").status_code == 409
    assert ids(get(client, world, "/v1/workflow-approvals", "manager_a")) == []
    every = get(client, world, "/v1/workflow-approvals", "manager_a", every_state=True)
    assert ids(every) == [approval_id]


def test_reject_takes_the_rejected_path(client, world, runs):
    approval_id = get(client, world, "/v1/workflow-approvals", "manager_a").json()["items"][0]["id"]
    response = post(client, world, f"/v1/workflow-approvals/{approval_id}/reject", "manager_a")
    assert response.status_code == 200, response.text
    assert (response.json()["state"], response.json()["note"]) == ("rejected", None)
    detail = get(client, world, f"/v1/workflow-runs/{runs['waiting'].id}").json()
    assert (detail["status"], detail["variables"]) == ("completed", {"refused": True})
    rejected = get(client, world, "/v1/workflow-approvals", "manager_a", state="rejected")
    assert ids(rejected) == [approval_id]


def test_deciding_someone_elses_approval_on_a_visible_run_is_forbidden(client, db, world):
    """Manager A sees rep A's run, but its approval is manager B's: 403, and nothing moves."""
    defn = task_then_approval(world.rep_a.id)
    defn["steps"]["check"]["levels"] = [{"user": world.manager_b.id}]
    run = run_about(db, make_workflow(db, "other"), defn, world.rep_a, now=T0)
    db.commit()
    approval = db.scalar(select(WorkflowApproval).where(WorkflowApproval.run_id == run.id))
    url = f"/v1/workflow-approvals/{approval.id}"
    response = post(client, world, f"{url}/approve", "manager_a")
    assert response.status_code == 403, response.text
    assert response.json()["error"]["code"] == "forbidden"
    assert post(client, world, f"{url}/reject", "manager_a").status_code == 403
    db.expire_all()
    assert db.get_one(WorkflowApproval, approval.id).state is ApprovalDecision.pending
    assert db.get_one(type(run), run.id).status is RunStatus.waiting
    # Its approver decides it; an admin could too.
    assert post(client, world, f"{url}/reject", "manager_b").status_code == 200


def test_api_keys_have_no_runs_tasks_or_approvals(client, db, world, runs):
    from sfa.auth import service as auth_service

    admin = auth_service.principal_for_user(db, world.admin)
    _, key = auth_service.create_api_key(db, actor=admin, name="k", scopes=["customers:read"])
    db.commit()
    for url in ("/v1/workflow-runs", "/v1/tasks", "/v1/workflow-approvals"):
        assert client.get(url, headers={"X-API-Key": key}).status_code == 403, url
