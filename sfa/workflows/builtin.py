"""The built-in workflows (sfa/workflows/defaults/*.json) installed into a company's
database: each file becomes the workflow keyed by its name ("discount_approval.json" →
"discount-approval"), published as version 1 by "system".

Installed by `sfa.migrate.upgrade` to head, so every migrated database — a new company,
the demo, the test suite — has them. A workflow whose key exists is left alone: a company
that edited, re-published or disabled a built-in keeps its own. A new built-in shipped
with a release appears at the next migrate.
"""

from datetime import UTC, datetime

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from sfa.audit.models import AuditEntry
from sfa.events import registry, types
from sfa.orders.events import order_fields
from sfa.orders.models import Order, OrderState
from sfa.workflows import approvals, engine, repository, runtime_defaults, versions
from sfa.workflows.models import Workflow, WorkflowVersion
from sfa.workflows.runtime_models import ApprovalDecision, WorkflowApproval, WorkflowRun

ACTOR = "system"
DISCOUNT_APPROVAL = "discount-approval"
CARRIED_OVER = "approval_carried_over"  # written by migration 0022


def builtin_keys() -> list[str]:
    """The keys of the built-in workflows, in file-name order."""
    return [
        path.stem.replace("_", "-") for path in sorted(runtime_defaults.DEFAULTS.glob("*.json"))
    ]


def install(session: Session) -> list[str]:
    """Creates and publishes every built-in whose key is missing; returns their keys."""
    made = []
    for key in builtin_keys():
        if repository.by_key(session, key) is not None:
            continue
        definition = runtime_defaults.definition(key.replace("-", "_"))
        workflow = Workflow(key=key, name=definition["name"], enabled=True, created_by=ACTOR)
        session.add(workflow)
        session.flush()
        draft = versions.save_draft(session, workflow=workflow, definition=definition, actor=ACTOR)
        # The files are checked by tests/unit (every default passes validation); a
        # migration must not need the users or settings a full check would read.
        versions.publish(
            session, workflow=workflow, number=draft.number, actor=ACTOR, check=lambda raw: None
        )
        made.append(key)
    return made


def adopt_waiting_orders(session: Session, *, now: datetime | None = None) -> int:
    """Start a "Discount approval" run for every submitted order without one (orders
    that waited under the approval code before migration 0022); the levels that code had
    approved (its audit entry `approval_carried_over`) are recorded approved again, by
    whom and with the note they had. Nothing when the workflow is off. How many."""
    now = now or datetime.now(UTC)
    workflow = repository.by_key(session, DISCOUNT_APPROVAL)
    if workflow is None or not workflow.enabled or workflow.active_version_id is None:
        return 0
    version = session.get_one(WorkflowVersion, workflow.active_version_id)
    orphans = session.scalars(
        select(Order)
        .outerjoin(
            WorkflowRun,
            and_(
                WorkflowRun.workflow_id == workflow.id,
                WorkflowRun.subject_kind == "order",
                WorkflowRun.subject_id == Order.id,
            ),
        )
        .where(Order.state == OrderState.submitted, WorkflowRun.id.is_(None))
        .order_by(Order.id)
    ).all()
    for order in orphans:
        trigger = engine.Trigger(
            type=types.ORDER_SUBMITTED,
            subject_kind="order",
            subject_id=order.id,
            # As the stream would carry it (amounts as decimal strings).
            payload=registry.get(types.ORDER_SUBMITTED).validate(order_fields(order)),
            occurred_at=now,
        )
        run = engine.start_run(
            session,
            workflow_id=workflow.id,
            version_id=version.id,
            definition=version.definition,
            trigger=trigger,
            now=now,
        )
        _carry_over(session, run, order.id, now)
    return len(orphans)


def _carry_over(session: Session, run: WorkflowRun, order_id: int, now: datetime) -> None:
    entry = session.scalar(
        select(AuditEntry)
        .where(
            AuditEntry.entity == "order",
            AuditEntry.entity_id == str(order_id),
            AuditEntry.action == CARRIED_OVER,
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    for decided in (entry.new or {}).get("approved", []) if entry else []:
        pending = session.scalar(
            select(WorkflowApproval).where(
                WorkflowApproval.run_id == run.id,
                WorkflowApproval.state == ApprovalDecision.pending,
                WorkflowApproval.level == decided["level"],
            )
        )
        if pending is None:
            return  # the company's workflow asks otherwise: its levels stand
        approvals.record_decision(
            session,
            run,
            pending,
            approve=True,
            user_id=decided.get("decided_by"),
            actor=ACTOR,
            note=decided.get("note"),
            now=now,
        )
