"""The workflow engine as a consumer of the domain event stream (docs/events.md).

Each event resumes the runs waiting for it and starts a run of every enabled workflow
whose active (published) version is triggered by its type. An `order.cancelled` first
cancels the runs about the order that wait on an approval (nothing is left to decide).
Delivery is at least once: the stream records each (consumer, event) it handled, and a
run is unique per workflow and trigger event, so a redelivered event starts nothing twice.

The stream carries subject and actor ids as text (some subjects have keys that are not
numbers); the engine's records are numbered, so a non-numeric id is passed as none.
"""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.events import consumers, types
from sfa.events.repository import Event
from sfa.workflows import engine, order_approvals
from sfa.workflows.models import Workflow, WorkflowVersion

CONSUMER = "workflows"


def _number(value: str | None) -> int | None:
    return int(value) if value is not None and value.isdigit() else None


def trigger_of(event: Event) -> engine.Trigger:
    return engine.Trigger(
        type=event.type,
        subject_kind=event.subject_kind,
        subject_id=_number(event.subject_id),
        payload=event.payload,
        event_id=event.event_id,
        occurred_at=event.occurred_at,
        actor_kind=event.actor_kind,
        actor_id=_number(event.actor_id),
    )


def active_for(session: Session, event_type: str) -> list[engine.ActiveWorkflow]:
    """The enabled workflows whose active version listens to `event_type`."""
    rows = session.execute(
        select(Workflow.id, WorkflowVersion.id, WorkflowVersion.definition)
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.active_version_id)
        .where(
            Workflow.enabled.is_(True),
            WorkflowVersion.definition["trigger"]["event"].astext == event_type,
        )
    )
    return [engine.ActiveWorkflow(w, v, definition) for w, v, definition in rows]


def handle(session: Session, event: Event) -> None:
    # The run starts when the event happened, not when the drain read it: a message it
    # sends is dated then (quiet hours), and its waits count from then. Never later than
    # now (a device clock ahead of ours).
    now = min(event.occurred_at, datetime.now(UTC))
    if event.type == types.ORDER_CANCELLED and (order_id := _number(event.subject_id)):
        order_approvals.cancel_waiting_runs(session, order_id, now=now)
    engine.handle_event(session, trigger_of(event), active_for(session, event.type), now=now)


# At emit: order.submitted (the discount approval decides in the submit's transaction: an
# order within discount_auto_max_pct comes back approved). Every other type on the drain
# (a cancelled order's approval leaves the queues at once: they list submitted orders).
consumers.register(CONSUMER, handle, at_emit=[types.ORDER_SUBMITTED])
