"""GET /v1/workflows/{id}/stats against runs with known timestamps.

Each run waits an hour, then asks the rep's manager; the decision comes `decide_after`
later. So a completed run took 1 h + decide_after, and its approval waited decide_after.
The company's timezone is Asia/Jakarta (UTC+7): a run started on Sunday 20:00 UTC is in
the next ISO week.
"""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from workflow_samples import finance_task, make_workflow, run_about

from sfa.auth import service as auth_service
from sfa.workflows import approvals, timers
from sfa.workflows.runtime_models import WorkflowApproval

MONDAY_W47 = datetime(2026, 11, 16, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
WAIT_THEN_APPROVE = {
    "name": "wait then approve",
    "trigger": {"event": "order.submitted"},
    "start": "pause",
    "steps": {
        "pause": {"type": "wait", "hours": 1, "next": "check"},
        "check": {
            "type": "require_approval",
            "levels": [{"manager_of": "rep"}],
            "on_approved": "done",
            "on_rejected": "done",
        },
        "done": {"type": "end"},
    },
}


def percentile(values: list[float], fraction: float) -> float:
    """percentile_cont's definition: linear between the two values around the rank."""
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (rank - low) * (ordered[high] - ordered[low])


def approved_run(db, world, workflow, rep, manager, started, decide_after, approve=True):
    run = run_about(db, workflow, WAIT_THEN_APPROVE, rep, now=started)
    woken = started + timedelta(hours=1)
    assert timers.wake_due(db, now=woken) == 1
    if decide_after is not None:
        approval = db.scalars(
            select(WorkflowApproval).where(WorkflowApproval.run_id == run.id)
        ).one()
        approvals.decide(
            db,
            principal=auth_service.principal_for_user(db, manager),
            approval_id=approval.id,
            approve=approve,
            now=woken + decide_after,
        )
    return run


H = timedelta(hours=1)
# (days after Monday W47, decision after the wait): all approved but Wednesday's.
TEAM_A = [(0, 2 * H), (1, 4 * H), (2, 10 * H)]
TEAM_B = [(4, 1 * H)]


@pytest.fixture
def workflow(db, world):
    workflow, other = make_workflow(db, "measured"), make_workflow(db, "other")
    for days, decide_after in TEAM_A:
        started = MONDAY_W47 + timedelta(days=days)
        approved_run(
            db, world, workflow, world.rep_a, world.manager_a, started, decide_after, days != 2
        )
    for days, decide_after in TEAM_B:
        started = MONDAY_W47 + timedelta(days=days)
        approved_run(db, world, workflow, world.rep_b, world.manager_b, started, decide_after)
    # Thursday: a run that fails at once (nobody holds the finance role).
    run_about(db, workflow, finance_task(), world.rep_a, now=MONDAY_W47 + timedelta(days=3))
    # Sunday 20:00 UTC is Monday 03:00 in Jakarta: week 48. Never decided.
    sunday = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)
    approved_run(db, world, workflow, world.rep_a, world.manager_a, sunday, None)
    # Another workflow's run does not count.
    approved_run(db, world, other, world.rep_a, world.manager_a, MONDAY_W47, 3 * H)
    db.commit()
    return workflow


def stats(client, world, workflow, who="admin", **params):
    params = {"weeks": 3, "until": "2026-W48"} | params
    return client.get(
        f"/v1/workflows/{workflow.id}/stats", params=params, headers=world.headers(who)
    )


def rounded(node):
    """Seconds to the millisecond: percentile_cont and Python may differ in the last bit."""
    if isinstance(node, dict):
        return {k: rounded(v) for k, v in node.items()}
    if isinstance(node, list):
        return [rounded(v) for v in node]
    return round(node, 3) if isinstance(node, float) else node


def expected_w47(rows):
    """The numbers of week 47 from the runs' definitions (TEAM_A / TEAM_B above)."""
    waits = [after.total_seconds() for _, after in rows]
    took = [(H + after).total_seconds() for _, after in rows]
    return {
        "completed": len(rows),
        "median_time_to_complete_s": percentile(took, 0.5),
        "p90_time_to_complete_s": percentile(took, 0.9),
        "approval_waits": [
            {"step_id": "check", "decided": len(rows), "median_wait_s": percentile(waits, 0.5)}
        ],
    }


def test_weekly_numbers_for_an_admin(client, world, workflow):
    response = stats(client, world, workflow)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["workflow_id"], body["timezone"]) == (workflow.id, "Asia/Jakarta")
    w46, w47, w48 = body["weeks"]
    assert [w["week"] for w in body["weeks"]] == ["2026-W46", "2026-W47", "2026-W48"]
    assert (w46["week_start"], w48["week_start"]) == ("2026-11-09", "2026-11-23")
    assert (w46["started"], w46["completed"], w46["failed"], w46["approval_waits"]) == (
        0,
        0,
        0,
        [],
    )
    assert w46["median_time_to_complete_s"] is None
    # Three runs of team A, one of team B, the failed one.
    assert (w47["started"], w47["failed"]) == (5, 1)
    got = {k: w47[k] for k in expected_w47(TEAM_A + TEAM_B)}
    assert rounded(got) == rounded(expected_w47(TEAM_A + TEAM_B))
    assert (w48["started"], w48["completed"], w48["approval_waits"]) == (1, 0, [])


def test_a_manager_counts_their_teams_runs(client, world, workflow):
    w47 = stats(client, world, workflow, "manager_a").json()["weeks"][1]
    assert (w47["started"], w47["failed"]) == (4, 1)
    got = {k: w47[k] for k in expected_w47(TEAM_A)}
    assert rounded(got) == rounded(expected_w47(TEAM_A))
    w47_b = stats(client, world, workflow, "manager_b").json()["weeks"][1]
    assert (w47_b["started"], w47_b["completed"], w47_b["failed"]) == (1, 1, 0)


def test_weeks_and_who(client, world, workflow):
    assert len(stats(client, world, workflow, weeks=1).json()["weeks"]) == 1
    default = client.get(f"/v1/workflows/{workflow.id}/stats", headers=world.headers("admin"))
    assert len(default.json()["weeks"]) == 8
    assert stats(client, world, workflow, "rep_a").status_code == 403
    assert stats(client, world, workflow, weeks=0).status_code == 422
    assert stats(client, world, workflow, weeks=105).status_code == 422
    assert stats(client, world, workflow, until="2026-W99").status_code == 422
    missing = client.get("/v1/workflows/999999999/stats", headers=world.headers("admin"))
    assert missing.status_code == 404
