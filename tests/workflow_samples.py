"""Workflow definitions the tests share: the discount tiers of DESIGN §3 as a workflow."""

import copy


def discount_approval() -> dict:
    """≤ 5 % passes at once, ≤ 15 % the rep's manager, above: the manager then finance;
    a customer with overdue invoices always goes to finance."""
    return copy.deepcopy(
        {
            "name": "Discount approval",
            "description": "tiers by discount, overdue customers to finance",
            "trigger": {"event": "order.submitted"},
            "start": "overdue",
            "steps": {
                "overdue": {
                    "type": "condition",
                    "if": {">": [{"var": "customer.overdue_invoices"}, 0]},
                    "then": "finance",
                    "else": "tier",
                },
                "tier": {
                    "type": "branch",
                    "paths": [
                        {"when": {"<=": [{"var": "order.discount_pct"}, 5]}, "next": "auto"},
                        {"when": {"<=": [{"var": "order.discount_pct"}, 15]}, "next": "manager"},
                    ],
                    "else": "two_levels",
                },
                "auto": {
                    "type": "set_variable",
                    "name": "tier",
                    "value": "auto",
                    "next": "done",
                },
                "manager": {
                    "type": "require_approval",
                    "levels": [{"manager_of": "rep"}],
                    "escalate_after_hours": 24,
                    "on_approved": "done",
                    "on_rejected": "tell_rep",
                },
                "two_levels": {
                    "type": "require_approval",
                    "levels": [{"manager_of": "rep"}, {"role": "finance"}],
                    "escalate_after_hours": 24,
                    "on_approved": "done",
                    "on_rejected": "tell_rep",
                },
                "finance": {
                    "type": "require_approval",
                    "levels": [{"role": "finance"}],
                    "on_approved": "done",
                    "on_rejected": "tell_rep",
                },
                "tell_rep": {
                    "type": "notify",
                    "channel": "in_app",
                    "template": "order_cancelled_rep",
                    "to": "rep",
                    "next": "done",
                },
                "done": {"type": "end"},
            },
        }
    )


def reminder() -> dict:
    """A contract renewal reminder 30 days before its end: a variable, a task, a wait."""
    return copy.deepcopy(
        {
            "name": "Renewal reminder",
            "trigger": {"date_field": "contract.end_date", "offset_days": -30},
            "start": "note",
            "steps": {
                "note": {
                    "type": "set_variable",
                    "name": "note",
                    "value": {"cat": ["ends ", {"var": "contract.end_date"}]},
                    "next": "task",
                },
                "task": {
                    "type": "assign_task",
                    "to": {"role": "manager"},
                    "title": {"cat": ["Call about the renewal: ", {"var": "vars.note"}]},
                    "due_in_hours": 48,
                    "next": "pause",
                },
                "pause": {"type": "wait", "hours": 72, "next": "hook"},
                "hook": {"type": "webhook", "endpoint": "renewals", "next": "done"},
                "done": {"type": "end"},
            },
        }
    )


def make_workflow(db, key: str):
    """A workflow row for runs to name (its versions do not matter to the runtime)."""
    from sfa.workflows.models import Workflow

    workflow = Workflow(key=key, name=key.title(), created_by="tests")
    db.add(workflow)
    db.flush()
    return workflow


def run_about(db, workflow, defn: dict, rep, *, now=None):
    """A run of `defn` about a rep (its team is the run's team), started by the engine."""
    from sfa.workflows import engine

    return engine.start_run(
        db,
        workflow_id=workflow.id,
        version_id=1,
        definition=defn,
        trigger=engine.Trigger(type="test", subject_kind="user", subject_id=rep.id),
        now=now,
    )


def task_then_approval(assignee_id: int) -> dict:
    """A task for a user, then the rep's manager approves (24 h to escalation)."""
    return {
        "name": "task then approval",
        "trigger": {"event": "order.submitted"},
        "start": "task",
        "steps": {
            "task": {
                "type": "assign_task",
                "to": {"user": assignee_id},
                "title": "Call the customer",
                "due_in_hours": 24,
                "next": "check",
            },
            "check": {
                "type": "require_approval",
                "levels": [{"manager_of": "rep"}],
                "escalate_after_hours": 24,
                "on_approved": "done",
                "on_rejected": "refused",
            },
            "refused": {"type": "set_variable", "name": "refused", "value": True, "next": "done"},
            "done": {"type": "end"},
        },
    }


def finance_task() -> dict:
    """Fails while nobody active holds the finance role (a retry after one exists passes)."""
    return {
        "name": "finance task",
        "trigger": {"event": "order.submitted"},
        "start": "note",
        "steps": {
            "note": {"type": "set_variable", "name": "noted", "value": 1, "next": "task"},
            "task": {
                "type": "assign_task",
                "to": {"role": "finance"},
                "title": "Check the invoice",
                "next": "done",
            },
            "done": {"type": "end"},
        },
    }
