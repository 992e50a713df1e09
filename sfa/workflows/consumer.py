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
from sfa.workflows import batch as run_batch
from sfa.workflows import engine, logic, order_approvals, runtime_context, runtime_logic
from sfa.workflows.models import Workflow, WorkflowVersion
from sfa.workflows.runtime_models import WorkflowRun, WorkflowWait

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


def _handle(
    session: Session, event: Event, workflows: list[engine.ActiveWorkflow], *, resume: bool = True
) -> None:
    # The run starts when the event happened, not when the drain read it: a message it
    # sends is dated then (quiet hours), and its waits count from then. Never later than
    # now (a device clock ahead of ours).
    now = min(event.occurred_at, datetime.now(UTC))
    if event.type == types.ORDER_CANCELLED and (order_id := _number(event.subject_id)):
        order_approvals.cancel_waiting_runs(session, order_id, now=now)
    engine.handle_event(session, trigger_of(event), workflows, now=now, resume=resume)


def handle(session: Session, event: Event) -> None:
    _handle(session, event, active_for(session, event.type))


def _all_active(session: Session) -> list[engine.ActiveWorkflow]:
    rows = session.execute(
        select(Workflow.id, WorkflowVersion.id, WorkflowVersion.definition)
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.active_version_id)
        .where(Workflow.enabled.is_(True))
        .order_by(Workflow.id)
    )
    return [engine.ActiveWorkflow(w, v, definition) for w, v, definition in rows]


def _waited_types(session: Session, workflows: list[engine.ActiveWorkflow]) -> set[str]:
    """The event types a run waits for now, or may wait for once started by this batch:
    those of `workflow_waits` (runs of any version) and of the active versions' waits."""
    waited = set(session.scalars(select(WorkflowWait.event_type).distinct()))
    for workflow in workflows:
        for step in (workflow.definition.get("steps") or {}).values():
            if step.get("type") == "wait" and step.get("event"):
                waited.add(step["event"])
    return waited


class _Batch:
    """One batch's lookups: the active workflows by trigger event, and a trigger filter
    evaluated over the record-free part of the context when it reads nothing else."""

    def __init__(self, session: Session):
        self.session = session
        active = _all_active(session)
        self.waited = _waited_types(session, active)
        self.by_type: dict[str, list[engine.ActiveWorkflow]] = {}
        for workflow in active:
            if event_type := (workflow.definition.get("trigger") or {}).get("event"):
                self.by_type.setdefault(event_type, []).append(workflow)
        # Per workflow: its filter when it reads only the record-free context, else None.
        self.early = {w.workflow_id: _early_filter(w) for w in active}
        self._settings: dict | None = None

    def may_start(self, workflow: engine.ActiveWorkflow, data: dict) -> bool:
        """False only when the filter surely refuses the event; a filter that reads a
        record, or fails here, is left to the handler (the full context, its log line)."""
        rule = self.early[workflow.workflow_id]
        if rule is None:
            return True
        try:
            return runtime_logic.truthy(rule, data)
        except logic.LogicError:
            return True

    def wanted(self, event: Event) -> bool:
        if event.type in self.waited or event.type == types.ORDER_CANCELLED:
            return True  # a run may wait for it; a cancelled order's runs are cancelled
        listening = self.by_type.get(event.type, ())
        if not listening or any(self.early[w.workflow_id] is None for w in listening):
            return bool(listening)
        if self._settings is None:
            self._settings = runtime_context.all_settings(self.session)
        data = engine.event_data(trigger_of(event))
        context = runtime_context.base(self._settings, event=data, payload=event.payload)
        context["vars"] = {}
        return any(self.may_start(w, context) for w in listening)

    def handle(self, session: Session, event: Event) -> None:
        _handle(session, event, self.by_type.get(event.type, []))

    def handle_all(self, session: Session, events: list[Event]) -> None:
        """The batch's wanted events as one batch of runs (sfa/workflows/batch.py): the
        runs they started before found in one query, the settings read once, the new
        runs and their routing steps inserted in one flush."""
        with run_batch.working(session) as batch:
            batch.settings = self._settings
            listening = {w.workflow_id for e in events for w in self.by_type.get(e.type, ())}
            batch.runs = _started_runs(session, listening, [str(e.event_id) for e in events])
            for event in events:
                workflows = self.by_type.get(event.type, [])
                _handle(session, event, workflows, resume=event.type in self.waited)
            session.flush()


def _started_runs(
    session: Session, workflow_ids: set[int], event_ids: list[str]
) -> dict[tuple[int, str], int]:
    """The runs these events started of these workflows (by the unique index on both)."""
    if not workflow_ids:
        return {}
    rows = session.execute(
        select(WorkflowRun.workflow_id, WorkflowRun.trigger_event_id, WorkflowRun.id).where(
            WorkflowRun.workflow_id.in_(workflow_ids),
            WorkflowRun.trigger_event_id.in_(event_ids),
        )
    )
    return {(w, event_id): run_id for w, event_id, run_id in rows if event_id is not None}


def _early_filter(workflow: engine.ActiveWorkflow):
    """The trigger filter, when it reads nothing but the record-free context (so the
    batch can evaluate it before loading any record); None otherwise."""
    rule = (workflow.definition.get("trigger") or {}).get("filter")
    roots = logic.var_roots(rule) if rule is not None else None
    if rule is None or roots is None or not roots <= runtime_context.BASE_KEYS:
        return None
    return rule


def prepare(session: Session, events: list[Event]) -> consumers.Plan:
    """The events of the batch that may resume or start a run; the rest (no workflow
    listens, or every listener's filter refuses it on the event alone) take no effect."""
    batch = _Batch(session)
    wanted = {e.event_id for e in events if batch.wanted(e)}
    return consumers.Plan(wanted, batch.handle, batch.handle_all)


# At emit: order.submitted (the discount approval decides in the submit's transaction: an
# order within discount_auto_max_pct comes back approved). Every other type on the drain
# (a cancelled order's approval leaves the queues at once: they list submitted orders).
consumers.register(CONSUMER, handle, at_emit=[types.ORDER_SUBMITTED], prepare=prepare)
