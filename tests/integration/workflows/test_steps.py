"""Each step type of the runtime, against a real PostGIS: what it does and records."""

from datetime import timedelta

from sqlalchemy import select

from factories import make_user
from sfa.audit.models import AuditEntry
from sfa.notifications.models import Notification
from sfa.users.models import Role
from sfa.workflows import engine, timers
from sfa.workflows.runtime_models import RunStatus, Task, TaskStatus, WorkflowTimer

from .conftest import T0, definition, path, start, step_rows

END = {"type": "end"}


def test_set_variable_condition_and_branch(db, world, make_order):
    order = make_order("10")
    defn = definition(
        "big",
        big={
            "type": "set_variable",
            "name": "big",
            "value": {">": [{"var": "order.net_amount"}, 50000]},
            "next": "check",
        },
        check={"type": "condition", "if": {"var": "vars.big"}, "then": "route", "else": "small"},
        route={
            "type": "branch",
            "paths": [
                {"when": {"==": [{"var": "customer.class"}, "distributor"]}, "next": "small"},
                {"when": {"in": [{"var": "rep.team.name"}, ["Team A"]]}, "next": "team_a"},
            ],
            "else": "small",
        },
        team_a=END,
        small=END,
    )
    run = start(db, defn, subject=("order", order.id))
    assert run.status is RunStatus.completed
    assert run.variables == {"big": True}
    assert path(db, run) == [
        ("big", "done"),
        ("check", "done"),
        ("route", "done"),
        ("team_a", "done"),
    ]
    rows = step_rows(db, run)
    assert rows[2].output == {"path": 1}
    assert [r.idempotency_key for r in rows] == [
        f"{run.id}:big:1",
        f"{run.id}:check:1",
        f"{run.id}:route:1",
        f"{run.id}:team_a:1",
    ]
    assert run.team_id == world.team_a.id


def test_the_context_is_plain_data_of_the_records(db, world, make_order):
    order = make_order("5")
    run = start(db, definition("e", e=END), subject=("order", order.id))
    ctx = run.context
    assert ctx["order"]["risk_pct"] == 5.0 and ctx["order"]["totals"]["line_count"] == 1
    assert ctx["order"]["lines"][0]["discount_pct"] == 5.0
    assert ctx["customer"]["code"] == "A001" and ctx["customer"]["overdue_invoices"] == 0
    assert ctx["rep"]["team"]["manager_id"] == world.manager_a.id
    assert ctx["rep"]["manager"]["username"] == "manager.a"
    assert ctx["settings"]["discount_escalation_hours"] == 24


def test_update_record_changes_whitelisted_fields_only(db, world, make_order):
    order = make_order("0")
    ok = definition("u", u={"type": "update_record", "record": "order", "set": {"note": "checked"}})
    run = start(db, ok, subject=("order", order.id))
    assert run.status is RunStatus.completed and order.note == "checked"
    audit = db.scalar(select(AuditEntry).where(AuditEntry.actor == f"workflow_run:{run.id}"))
    assert audit.action == "workflow_update" and audit.new["set"] == {"note": "checked"}

    bad = definition("u", u={"type": "update_record", "record": "order", "set": {"net_amount": 1}})
    run = start(db, bad, subject=("order", order.id))
    assert run.status is RunStatus.failed
    assert "net_amount are not whitelisted" in run.error
    assert path(db, run) == [("u", "failed")]


def test_assign_task_to_user_role_and_round_robin(db, world, make_order):
    order = make_order("0")
    finance = make_user(db, "fin", Role.finance)
    defn = definition(
        "to_user",
        to_user={
            "type": "assign_task",
            "to": {"user": world.manager_a.id},
            "title": "Call",
            "due_in_hours": 4,
            "next": "to_role",
        },
        to_role={
            "type": "assign_task",
            "to": {"role": "finance"},
            "title": "Check credit",
            "next": "rr1",
        },
        rr1={
            "type": "assign_task",
            "to": {"round_robin_team": "rep.team.id"},
            "title": "Visit",
            "next": "rr2",
        },
        rr2={
            "type": "assign_task",
            "to": {"round_robin_team": "rep.team.id"},
            "title": "Visit",
            "next": "rr3",
        },
        rr3={"type": "assign_task", "to": {"round_robin_team": "rep.team.id"}, "title": "Visit"},
    )
    run = start(db, defn, subject=("order", order.id))
    assert run.status is RunStatus.completed
    tasks = list(db.scalars(select(Task).where(Task.run_id == run.id).order_by(Task.id)))
    assert [t.assignee_user_id for t in tasks] == [
        world.manager_a.id,
        finance.id,
        world.rep_a.id,
        world.rep_a2.id,
        world.rep_a.id,
    ]
    assert tasks[0].due_at == T0 + timedelta(hours=4)
    assert {t.team_id for t in tasks[2:]} == {world.team_a.id}
    assert all(t.status is TaskStatus.open for t in tasks)


def test_notify_goes_through_the_outbox(db, world, make_order):
    order = make_order("0")
    defn = definition(
        "n",
        n={
            "type": "notify",
            "channel": "in_app",
            "template": "order_placed_rep",
            "to": "rep",
            "next": "m",
        },
        m={"type": "notify", "channel": "sms", "template": "order_placed_rep", "to": "manager"},
    )
    run = start(db, defn, subject=("order", order.id))
    assert run.status is RunStatus.completed
    rows = list(db.scalars(select(Notification).where(Notification.rule == "workflow")))
    assert [(r.recipient_user_id, str(r.channel)) for r in rows] == [(world.rep_a.id, "in_app")]
    assert rows[0].dedupe_key == f"wf:{run.id}:n:1:user:{world.rep_a.id}:in_app"
    assert rows[0].payload["order_ref"] == f"#{order.id}"
    # The manager has no phone: skipped, and said so.
    assert step_rows(db, run)[1].output == {
        "notification_ids": [],
        "skipped": [f"user:{world.manager_a.id}"],
    }


def test_webhook_enqueues_a_delivery_to_the_named_subscription(db, world, make_order):
    """The same delivery path as the event stream's (sent and signed by the dispatcher:
    tests/integration/webhooks/test_workflow_action.py); the webhook-id comes from the
    run-step's idempotency key."""
    from sfa.auth import service as auth_service
    from sfa.webhooks import service as webhook_service
    from sfa.webhooks.models import WebhookDelivery

    admin = auth_service.principal_for_user(db, world.admin)
    endpoint, _ = webhook_service.create_endpoint(
        db,
        principal=admin,
        name="crm",
        url="https://93.184.216.34/hook",  # checked, never called: nothing dispatches here
        event_types=["order.approved"],
    )
    order = make_order("10")
    step = {"type": "webhook", "endpoint": "crm", "payload": {"ref": {"var": "order.id"}}}
    run = start(db, definition("w", w=step), subject=("order", order.id))
    assert run.status is RunStatus.completed
    output = step_rows(db, run)[0].output
    delivery = db.get(WebhookDelivery, output["delivery_id"])
    assert output == {"endpoint": "crm", "webhook_id": endpoint.id, "delivery_id": delivery.id}
    assert delivery.message_id == webhook_service.message_id(f"wf:{run.id}:w:1", endpoint.id)
    assert delivery.subject_key == f"order:{order.id}"
    assert f'"payload":{{"ref":{order.id}}}' in delivery.body


def test_webhook_to_an_unknown_subscription_fails_the_step(db, world):
    run = start(
        db, definition("w", w={"type": "webhook", "endpoint": "nope"}), subject=(None, None)
    )
    assert run.status is RunStatus.failed
    assert "no webhook is named 'nope'" in run.error


def test_wait_for_a_duration_and_until_a_date(db, world):
    defn = definition(
        "w1",
        w1={"type": "wait", "hours": 2, "next": "w2"},
        w2={"type": "wait", "until": "2026-11-17T09:00:00+07:00", "next": "done"},
        done=END,
    )
    run = start(db, defn, subject=(None, None))
    assert (run.status, run.current_step) == (RunStatus.waiting, "w1")
    assert timers.wake_due(db, now=T0 + timedelta(hours=1)) == 0
    assert timers.wake_due(db, now=T0 + timedelta(hours=2)) == 1
    assert (run.status, run.current_step) == (RunStatus.waiting, "w2")
    due = db.scalar(select(WorkflowTimer.due_at).where(WorkflowTimer.run_id == run.id))
    assert due == T0.replace(day=17, hour=2)
    assert timers.wake_due(db, now=due) == 1
    assert run.status is RunStatus.completed
    assert path(db, run) == [("w1", "done"), ("w2", "done"), ("done", "done")]


def _event(type_, kind, ident, **payload):
    return engine.Trigger(
        type=type_,
        subject_kind=kind,
        subject_id=ident,
        payload=payload,
        event_id="e-" + type_ + str(ident),
    )


def test_wait_for_an_event_and_its_timeout(db, world, make_order):
    order, other = make_order("0"), make_order("1")
    defn = definition(
        "w",
        w={
            "type": "wait",
            "event": "order.paid",
            "match": {">=": [{"var": "event.payload.amount"}, 10]},
            "timeout_hours": 48,
            "on_timeout": "late",
            "next": "paid",
        },
        paid=END,
        late=END,
    )
    waiting = start(db, defn, subject=("order", order.id))
    timing_out = start(db, defn, subject=("order", other.id))
    assert waiting.status is RunStatus.waiting
    # Another order's event, then one that does not match: nothing.
    assert engine.on_event(db, _event("order.paid", "order", 999999, amount=50), now=T0) == 0
    assert engine.on_event(db, _event("order.paid", "order", order.id, amount=5), now=T0) == 0
    assert engine.on_event(db, _event("order.paid", "order", order.id, amount=50), now=T0) == 1
    assert waiting.status is RunStatus.completed
    assert path(db, waiting) == [("w", "done"), ("paid", "done")]
    # Delivered again: the run does not wait any more, nothing happens.
    assert engine.on_event(db, _event("order.paid", "order", order.id, amount=50), now=T0) == 0
    # The first run's timeout timer went with its wait.
    assert db.scalar(select(WorkflowTimer).where(WorkflowTimer.run_id == waiting.id)) is None
    assert timers.wake_due(db, now=T0 + timedelta(hours=48)) == 1
    assert timing_out.status is RunStatus.completed
    assert path(db, timing_out) == [("w", "done"), ("late", "done")]


def test_event_trigger_with_filter_starts_once_per_event(db, world, make_order):
    order = make_order("10")
    wanted = engine.ActiveWorkflow(
        1,
        11,
        definition("e", e=END)
        | {
            "trigger": {"event": "order.submitted", "filter": {">": [{"var": "order.risk_pct"}, 5]}}
        },
    )
    not_wanted = engine.ActiveWorkflow(
        2,
        21,
        definition("e", e=END)
        | {
            "trigger": {"event": "order.submitted", "filter": {"<": [{"var": "order.risk_pct"}, 5]}}
        },
    )
    other_type = engine.ActiveWorkflow(
        3, 31, definition("e", e=END) | {"trigger": {"event": "visit.flagged"}}
    )
    event = _event("order.submitted", "order", order.id)
    runs = engine.dispatch(db, event, [wanted, not_wanted, other_type], now=T0)
    assert [(r.workflow_id, r.version_id, r.status) for r in runs] == [(1, 11, RunStatus.completed)]
    again = engine.dispatch(db, event, [wanted], now=T0)
    assert [r.id for r in again] == [runs[0].id]


def test_a_trigger_filter_that_cannot_be_evaluated_skips_only_its_workflow(
    db, world, make_order, caplog
):
    order = make_order("10")
    broken = engine.ActiveWorkflow(
        1,
        11,
        definition("e", e=END)
        | {
            "trigger": {"event": "order.submitted", "filter": {"/": [{"var": "order.risk_pct"}, 0]}}
        },
    )
    fine = engine.ActiveWorkflow(
        2, 21, definition("e", e=END) | {"trigger": {"event": "order.submitted"}}
    )
    event = _event("order.submitted", "order", order.id)
    with caplog.at_level("WARNING", logger="sfa.workflows.engine"):
        runs = engine.dispatch(db, event, [broken, fine], now=T0)
    assert [(r.workflow_id, r.status) for r in runs] == [(2, RunStatus.completed)]
    assert "trigger filter failed" in caplog.text and "division by zero" in caplog.text
