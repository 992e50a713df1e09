"""A workflow's weekly numbers (GET /v1/workflows/{id}/stats), computed in SQL.

Weeks are ISO weeks of the company's timezone. Each event counts in the week it happened:
a run in the week it started; a completion or failure in the week the run finished
(`finished_at`), with its time to complete (finished - started) for completed runs; an
approval decision (approved or rejected; escalated and cancelled levels were not decided)
in the week it was decided, with its wait (decided - opened) per approval step.
Medians and p90s are PostgreSQL's percentile_cont (linear between neighbours); a week
without a completed run has none (null). Managers count their teams' runs only
(sfa/workflows/runs_service.py says how a run belongs to a team).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import BigInteger

from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.errors import InvalidInput, NotFound
from sfa.weeks import monday
from sfa.workflows import repository
from sfa.workflows.runs_service import require_reader

MAX_WEEKS = 104

# :teams NULL means every team (an administrator).
_TEAMS = "(CAST(:teams AS bigint[]) IS NULL OR r.team_id = ANY(CAST(:teams AS bigint[])))"
_WEEK = "date_trunc('week', {col} AT TIME ZONE :tz)::date"

_STARTED = text(f"""
SELECT {_WEEK.format(col="r.started_at")} AS week, count(*) AS started
FROM workflow_runs r
WHERE r.workflow_id = :workflow_id AND {_TEAMS}
  AND r.started_at >= :from_ts AND r.started_at < :to_ts
GROUP BY 1
""")

_FINISHED = text(f"""
SELECT {_WEEK.format(col="r.finished_at")} AS week,
       count(*) FILTER (WHERE r.status = 'completed') AS completed,
       count(*) FILTER (WHERE r.status = 'failed') AS failed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at))
           FILTER (WHERE r.status = 'completed') AS median_s,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - r.started_at))
           FILTER (WHERE r.status = 'completed') AS p90_s
FROM workflow_runs r
WHERE r.workflow_id = :workflow_id AND {_TEAMS}
  AND r.finished_at >= :from_ts AND r.finished_at < :to_ts
GROUP BY 1
""")

_APPROVALS = text(f"""
SELECT {_WEEK.format(col="a.decided_at")} AS week, a.step_id,
       count(*) AS decided,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM a.decided_at - a.opened_at))
           AS median_s
FROM workflow_approvals a
JOIN workflow_runs r ON r.id = a.run_id
WHERE r.workflow_id = :workflow_id AND {_TEAMS}
  AND a.state IN ('approved', 'rejected')
  AND a.decided_at >= :from_ts AND a.decided_at < :to_ts
GROUP BY 1, 2
ORDER BY 1, 2
""")


@dataclass
class ApprovalWait:
    step_id: str
    decided: int
    median_wait_s: float


@dataclass
class WeekStats:
    week_start: date
    started: int = 0
    completed: int = 0
    failed: int = 0
    median_time_to_complete_s: float | None = None
    p90_time_to_complete_s: float | None = None
    approval_waits: list[ApprovalWait] = field(default_factory=list)


@dataclass(frozen=True)
class WorkflowStats:
    workflow_id: int
    timezone: str
    weeks: list[WeekStats]


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz)


def _params(workflow_id: int, principal: Principal, tz: ZoneInfo, first: date, last: date):
    teams = None if principal.team_ids is None else sorted(principal.team_ids)
    return {
        "workflow_id": workflow_id,
        "teams": teams,
        "tz": tz.key,
        "from_ts": _midnight(first, tz),
        "to_ts": _midnight(last + timedelta(days=7), tz),
    }


def _float(value) -> float | None:
    return None if value is None else float(value)


def workflow_stats(
    session: Session,
    *,
    principal: Principal,
    workflow_id: int,
    weeks: int,
    last_week: date | None = None,
) -> WorkflowStats:
    """`weeks` ISO weeks up to the one of `last_week` (default: this week), oldest first."""
    require_reader(principal)
    if not 1 <= weeks <= MAX_WEEKS:
        raise InvalidInput(f"weeks must be between 1 and {MAX_WEEKS}, got {weeks}")
    if repository.get(session, workflow_id) is None:
        raise NotFound(f"workflow {workflow_id} does not exist")
    settings = company_service.get_company_settings(session)
    tz = settings.tz
    last = monday(last_week or datetime.now(tz).date())
    first = last - timedelta(weeks=weeks - 1)
    by_week = {
        first + timedelta(weeks=i): WeekStats(first + timedelta(weeks=i)) for i in range(weeks)
    }
    params = _params(workflow_id, principal, tz, first, last)
    teams = bindparam("teams", type_=ARRAY(BigInteger))
    for row in session.execute(_STARTED.bindparams(teams), params):
        by_week[row.week].started = row.started
    for row in session.execute(_FINISHED.bindparams(teams), params):
        week = by_week[row.week]
        week.completed, week.failed = row.completed, row.failed
        week.median_time_to_complete_s = _float(row.median_s)
        week.p90_time_to_complete_s = _float(row.p90_s)
    for row in session.execute(_APPROVALS.bindparams(teams), params):
        by_week[row.week].approval_waits.append(
            ApprovalWait(row.step_id, row.decided, float(row.median_s))
        )
    return WorkflowStats(workflow_id, settings.timezone, list(by_week.values()))
