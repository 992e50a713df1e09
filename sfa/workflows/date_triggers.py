"""Date-field triggers (`{"date_field": "contract.end_date", "offset_days": -30}`: 30
days before a contract ends): the `workflow-date-triggers` job starts one run per
workflow, record and date value, on the record's fire day (date + offset) in the
company's timezone.

Without scanning tables: for each workflow the job reads only the rows whose date column
lies in the range of fire days it still owes — today back to CATCH_UP_DAYS ago (days the
job did not run), never before the version was published — through the column's index
(sfa/workflows/date_sources.py), minus the rows that already have their run (an anti-join
on the runs' unique (workflow_id, trigger_event_id) index). The run's key names the date
(`date:contract.end_date:42:2026-12-31`): a record whose date moves fires again for the
new date, and never twice for one date.
"""

import logging
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from zoneinfo import ZoneInfo

from sqlalchemy import Select, String, cast, exists, func, literal, select
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.workflows import date_sources, engine, runtime_context, triggers
from sfa.workflows.runtime_logic import evaluate
from sfa.workflows.runtime_models import WorkflowRun

log = logging.getLogger("sfa.workflows.date_triggers")

KIND = "date_field"
# Fire days the job still fires when it did not run on them (a scheduler down).
CATCH_UP_DAYS = 3
# Runs started per transaction; the job stops starting new batches after JOB_BUDGET_S.
BATCH = 200
JOB_BUDGET_S = 240.0


def resolved(session: Session, item: triggers.Published) -> triggers.Published:
    """The workflow with its `offset_days` a number: JsonLogic over the company settings
    (the renewal's `renewal_alert_days`) is read now, so a changed setting moves the fire
    days from the next job on. Raises ValueError for an offset that is not whole days."""
    spec = item.trigger
    value = spec.get("offset_days", 0)
    if not isinstance(value, dict):
        return item
    days = evaluate(value, {"settings": runtime_context.all_settings(session)})
    if not isinstance(days, int | float) or isinstance(days, bool) or days != int(days):
        raise ValueError(f"offset_days gave {days!r}, not a whole number of days")
    if not -3650 <= days <= 3650:
        raise ValueError(f"offset_days gave {days}, beyond ten years")
    definition = {**item.workflow.definition, "trigger": {**spec, "offset_days": int(days)}}
    return replace(item, workflow=replace(item.workflow, definition=definition))


def trigger_key(date_field: str, record_id: int, value: date) -> str:
    return f"date:{date_field}:{record_id}:{value.isoformat()}"


def candidates_statement(
    item: triggers.Published, *, first_day: date, today: date, limit: int | None = None
) -> Select | None:
    """The rows of the workflow's date field whose fire day is in [first_day, today] and
    that have no run for their date yet: (id, date, related ids...); None when the field
    is not a date source (a definition the validation would refuse now)."""
    spec = item.trigger
    date_field, offset = spec["date_field"], int(spec.get("offset_days", 0))
    found = date_sources.column(date_field)
    if found is None:
        return None
    model, column = found
    related = date_sources.DATE_SOURCES[date_field.split(".", 1)[0]].related
    key = (
        literal(f"date:{date_field}:")
        + cast(model.id, String)
        + literal(":")
        + func.to_char(column, "YYYY-MM-DD")
    )
    started = exists().where(
        WorkflowRun.workflow_id == item.workflow.workflow_id, WorkflowRun.trigger_event_id == key
    )
    # Fire day = date + offset: the dates whose fire day is in the window, a range.
    low, high = first_day - timedelta(days=offset), today - timedelta(days=offset)
    return (
        select(model.id, column, *(getattr(model, col) for col in related.values()))
        .where(column.between(low, high), ~started)
        .order_by(column, model.id)
        .limit(limit or BATCH)
    )


def trigger_for(item: triggers.Published, row, tz: ZoneInfo) -> engine.Trigger:
    """The trigger of a candidate row (id, date, related ids...) of the workflow's field."""
    spec = item.trigger
    date_field, offset = spec["date_field"], int(spec.get("offset_days", 0))
    record = date_field.split(".", 1)[0]
    record_id, value, *linked = row
    fire_day = value + timedelta(days=offset)
    related = date_sources.DATE_SOURCES[record].related
    payload = {f"{record}_id": record_id, "date_field": date_field, "date": value.isoformat()}
    payload |= {key: v for key, v in zip(related, linked, strict=True) if v is not None}
    return engine.Trigger(
        type=KIND,
        subject_kind=record,
        subject_id=record_id,
        payload=payload | {"offset_days": offset, "fire_day": fire_day.isoformat()},
        event_id=trigger_key(date_field, record_id, value),
        occurred_at=datetime.combine(fire_day, clock(), tz).astimezone(UTC),
    )


def fire_workflow(
    session: Session, item: triggers.Published, tz: ZoneInfo, now: datetime, deadline: float
) -> int:
    """Start the workflow's owed runs, a batch per transaction; how many."""
    today = now.astimezone(tz).date()
    first_day = max(today - timedelta(days=CATCH_UP_DAYS), item.published_at.astimezone(tz).date())
    workflow_id, started = item.workflow.workflow_id, 0
    while time.monotonic() < deadline:
        if not triggers.claim(session, workflow_id, KIND):
            return started
        statement = candidates_statement(item, first_day=first_day, today=today)
        rows = session.execute(statement).all() if statement is not None else []
        for row in rows:
            run = triggers.start_once(session, item.workflow, trigger_for(item, row, tz), now)
            started += run is not None
        session.commit()
        if len(rows) < BATCH:
            break
    return started


def run_date_triggers(session: Session, *, now: datetime | None = None) -> dict:
    """The scheduler job: every date-field workflow, committing per batch."""
    now = now or datetime.now(UTC)
    tz = company_service.get_company_settings(session).tz
    deadline = time.monotonic() + JOB_BUDGET_S
    started = 0
    for item in triggers.published_with(session, KIND):
        try:
            started += fire_workflow(session, resolved(session, item), tz, now, deadline)
        except Exception:  # one broken workflow must not stop the others
            session.rollback()
            log.exception("workflow %s: date field not evaluated", item.workflow.workflow_id)
    return {"started": started}
