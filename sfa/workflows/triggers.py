"""What the schedule and date-field triggers share (sfa/workflows/schedules.py,
date_triggers.py): the published workflows with a kind of trigger, and starting a run
once per deterministic trigger key.

A run is unique per workflow and `trigger_event_id` (a unique index, the same that keeps
a redelivered event from starting a workflow twice); these triggers have no stored event,
so they use a key made from what fired: `schedule:<fire time, UTC>`,
`date:<record>.<field>:<record id>:<date>`. Two schedulers evaluating the same trigger
at once are kept apart by a per-workflow advisory lock taken without waiting (the one
that does not get it leaves the workflow to the other), and the key catches any run that
slips through anyway (its savepoint is rolled back).
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sfa.db import advisory_key
from sfa.workflows import engine
from sfa.workflows.models import Workflow, WorkflowVersion
from sfa.workflows.runtime_models import WorkflowRun

log = logging.getLogger("sfa.workflows.triggers")


@dataclass(frozen=True)
class Published:
    workflow: engine.ActiveWorkflow
    published_at: datetime  # no fire time before it: a new version does not fire the past

    @property
    def trigger(self) -> dict:
        return self.workflow.definition["trigger"]


def published_with(session: Session, kind: str) -> list[Published]:
    """The enabled workflows whose active version has a `kind` trigger ("schedule",
    "date_field"); a few rows, read from the small workflows table."""
    rows = session.execute(
        select(
            Workflow.id,
            WorkflowVersion.id,
            WorkflowVersion.definition,
            WorkflowVersion.published_at,
        )
        .join(WorkflowVersion, WorkflowVersion.id == Workflow.active_version_id)
        .where(Workflow.enabled.is_(True), WorkflowVersion.definition["trigger"].has_key(kind))
        .order_by(Workflow.id)
    )
    return [
        Published(engine.ActiveWorkflow(w, v, definition), published_at)
        for w, v, definition, published_at in rows
    ]


def claim(session: Session, workflow_id: int, kind: str) -> bool:
    """This transaction evaluates the workflow's trigger (False: another one does now)."""
    key = advisory_key(f"workflow-{kind}:{workflow_id}")
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}))


def started_keys(session: Session, workflow_id: int, keys: Iterable[str]) -> set[str]:
    """The keys among `keys` this workflow has a run for."""
    wanted = list(keys)
    if not wanted:
        return set()
    return set(
        session.scalars(
            select(WorkflowRun.trigger_event_id).where(
                WorkflowRun.workflow_id == workflow_id, WorkflowRun.trigger_event_id.in_(wanted)
            )
        )
    )


def start_once(
    session: Session, workflow: engine.ActiveWorkflow, trigger: engine.Trigger, now: datetime
) -> WorkflowRun | None:
    """Start a run for `trigger` (whose `event_id` is its key) in a savepoint; None when
    the key has a run already (committed by another transaction meanwhile)."""
    try:
        with session.begin_nested():
            return engine.start_run(
                session,
                workflow_id=workflow.workflow_id,
                version_id=workflow.version_id,
                definition=workflow.definition,
                trigger=trigger,
                now=now,
            )
    except IntegrityError:
        log.info("workflow %s: %s started elsewhere", workflow.workflow_id, trigger.event_id)
        return None
