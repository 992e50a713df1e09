"""The "Contract renewal" built-in's runs seen from the contracts: start one for a
contract as its date trigger would (the demo, contracts already inside the alert window),
and the run's steps for the renewal audit (analytics/renewals.py), which are finer than
the contract's statuses: the reminder sent, the wait for the next one, the owner's task.
"""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.contracts.models import OPEN_STATUSES, Contract
from sfa.workflows import date_sources, date_triggers, repository, timers, triggers
from sfa.workflows.runtime_models import WorkflowRun, WorkflowRunStep

KEY = "contract-renewal"
# Steps that only route a run (no effect, no time): left out of the audit's steps.
_ROUTING_TYPES = ("branch", "condition", "set_variable", "end")


def _published(session: Session) -> triggers.Published | None:
    workflow = repository.by_key(session, KEY)
    if workflow is None:
        return None
    found = next(
        (
            item
            for item in triggers.published_with(session, date_triggers.KIND)
            if item.workflow.workflow_id == workflow.id
        ),
        None,
    )
    return date_triggers.resolved(session, found) if found is not None else None


def start_run(session: Session, contract: Contract, *, now: datetime) -> WorkflowRun | None:
    """Start the renewal run of `contract` now, keyed as its date trigger keys it (so the
    job never starts a second); None when the workflow is off or the run exists."""
    item = _published(session)
    if item is None or "date_field" not in item.trigger:
        return None
    row = (contract.id, getattr(contract, item.trigger["date_field"].split(".", 1)[1]))
    related = tuple(
        getattr(contract, c) for c in date_sources.DATE_SOURCES["contract"].related.values()
    )
    tz = company_service.get_company_settings(session).tz
    trigger = date_triggers.trigger_for(item, (*row, *related), tz)
    return triggers.start_once(session, item.workflow, trigger, now)


def adopt_inside_window(session: Session, *, now: datetime | None = None) -> int:
    """Start the renewal run of every open contract already inside the alert window
    without one — contracts that were there before the workflow was published (or came
    in with an end date already that close), whose fire day the date trigger's catch-up
    no longer reaches. Run at every migrate; how many started."""
    item = _published(session)
    if item is None or "date_field" not in item.trigger:
        return 0
    now = now or datetime.now(UTC)
    tz = company_service.get_company_settings(session).tz
    today = now.astimezone(tz).date()
    # Fire days from (today + offset) to today: the dates from today to today - offset.
    first_day = today + timedelta(days=int(item.trigger.get("offset_days", 0)))
    started = 0
    while True:
        statement = date_triggers.candidates_statement(item, first_day=first_day, today=today)
        if statement is None:
            return started
        rows = session.execute(statement.where(Contract.status.in_(OPEN_STATUSES))).all()
        for row in rows:
            trigger = date_triggers.trigger_for(item, row, tz)
            started += triggers.start_once(session, item.workflow, trigger, now) is not None
        if len(rows) < date_triggers.BATCH:
            return started


def run_steps(session: Session, contract_ids: list[int]) -> dict[int, tuple[WorkflowRun, list]]:
    """Each contract's latest renewal run and its step rows (routing steps left out)."""
    workflow = repository.by_key(session, KEY)
    if workflow is None or not contract_ids:
        return {}
    # Subjects are contracts here (subject_id is never null for them); the latest run wins.
    runs: dict[int, WorkflowRun] = {
        int(run.subject_id or 0): run
        for run in session.scalars(
            select(WorkflowRun)
            .where(
                WorkflowRun.workflow_id == workflow.id,
                WorkflowRun.subject_kind == "contract",
                WorkflowRun.subject_id.in_(contract_ids),
            )
            .order_by(WorkflowRun.started_at, WorkflowRun.id)
        )
    }
    found: dict[int, tuple[WorkflowRun, list]] = {cid: (run, []) for cid, run in runs.items()}
    by_run = {run.id: cid for cid, run in runs.items()}
    rows = session.scalars(
        select(WorkflowRunStep)
        .where(
            WorkflowRunStep.run_id.in_(by_run),
            WorkflowRunStep.step_type.not_in(_ROUTING_TYPES),
        )
        .order_by(WorkflowRunStep.started_at, WorkflowRunStep.id)
    )
    for row in rows:
        found[by_run[row.run_id]][1].append(row)
    return found


def wake(session: Session, *, now: datetime) -> int:
    """Fire the renewal runs' timers due by `now` (and only theirs); how many."""
    workflow = repository.by_key(session, KEY)
    if workflow is None:
        return 0
    fired = 0
    while found := timers.wake_due(session, now=now, workflow_id=workflow.id):
        fired += found
    return fired
