"""The demo shows every capability of issue 15: all tiers due within 90 days and routed
by the renewal workflow (reminders, tasks, opportunities), the fallback, leads assigned
by the lead workflow, opportunities in every stage with complete history, three survey
periods."""

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, text

from analytics.pipeline import PipelineQuery, pipeline_report
from sfa.audit.models import AuditEntry
from sfa.auth import service as auth_service
from sfa.contracts.models import Contract, ContractStatus, RenewalDecision
from sfa.demo.crm import seed_crm
from sfa.demo.seed import seed_demo
from sfa.notifications.models import Notification
from sfa.pipeline.models import Opportunity, Pipeline, Stage
from sfa.plans.service import company_today
from sfa.surveys import results
from sfa.surveys.models import Response
from sfa.users.models import User
from sfa.workflows import repository as workflow_repository
from sfa.workflows.runtime_models import Task, WorkflowRun


def test_demo_crm_data_shows_every_capability(db):
    seed_demo(db)
    crm = seed_crm(db)
    assert crm.created and crm.contracts == 40
    today = company_today(db)
    due = list(db.scalars(select(Contract).where(Contract.end_date <= today + timedelta(days=90))))
    decisions = list(db.scalars(select(RenewalDecision)))
    tiers = Counter(d.tier for d in decisions)
    assert set(tiers) == {"low", "mid", "enterprise"}
    assert (
        len(decisions)
        == crm.routed
        == sum(1 for c in due if c.status is ContractStatus.renewal_due)
    )
    codes = Counter(r["code"] for d in decisions for r in d.reasons)
    assert {"upsell", "fallback", "balanced", "many_stakeholders", "below_low_tier"} <= set(codes)
    assert db.scalar(select(func.count()).where(Contract.renewal_of_id.is_not(None))) == 4

    # The routing is the "Contract renewal" workflow's: one run per routed contract, with
    # the reminders sent on their days, the owners' tasks and the enterprise opportunities.
    renewal = workflow_repository.by_key(db, "contract-renewal")
    runs = list(db.scalars(select(WorkflowRun).where(WorkflowRun.workflow_id == renewal.id)))
    assert len(runs) == crm.routed and not [r.error for r in runs if r.error]
    assert {d.actor for d in decisions} == {f"workflow_run:{r.id}" for r in runs}
    reminders = db.scalars(
        select(Notification).where(Notification.template == "contract_renewal_reminder")
    ).all()
    assert "sms" in {str(n.channel) for n in reminders}  # demo shops have phones, no email
    assert db.scalar(select(func.count()).where(Task.run_id.in_([r.id for r in runs]))) > 0
    assert db.scalar(select(func.count()).where(Opportunity.contract_id.is_not(None))) > 0
    # Leads scored and assigned by the "Lead assignment" workflow.
    leads = list(db.scalars(select(Opportunity).where(Opportunity.kind == "lead")))
    assert len(leads) == 3 and all(lead.score is not None for lead in leads)
    assigned = db.scalars(
        select(AuditEntry).where(AuditEntry.entity == "opportunity", AuditEntry.action == "assign")
    ).all()
    assert len(assigned) == 2 and all(a.new["code"] == "nearest_customer" for a in assigned)

    outlet = db.scalar(select(Pipeline).where(Pipeline.name == "Outlet sales"))
    in_stage = Counter(
        db.scalars(select(Opportunity.stage_id).where(Opportunity.pipeline_id == outlet.id))
    )
    stages = db.scalars(select(Stage.id).where(Stage.pipeline_id == outlet.id)).all()
    assert all(in_stage[s] > 0 for s in stages)
    # Every opportunity's stays tile its life: each left_at is the next entered_at.
    gaps = db.execute(
        text("""
            SELECT count(*) FROM (
                SELECT left_at, lead(entered_at) OVER w AS next_entered,
                       row_number() OVER w AS n,
                       count(*) OVER (PARTITION BY opportunity_id) AS total
                FROM opportunity_stage_history
                WINDOW w AS (PARTITION BY opportunity_id ORDER BY entered_at, id)
            ) s
            WHERE (n < total AND left_at IS DISTINCT FROM next_entered)
               OR (n = total AND left_at IS NOT NULL)""")
    ).scalar()
    assert gaps == 0

    periods = db.execute(select(Response.period).distinct()).scalars().all()
    assert len(periods) == 3
    admin = auth_service.principal_for_user(
        db, db.scalar(select(User).where(User.username == "admin"))
    )
    rows = results.enps_report(db, principal=admin)
    assert len(rows) == 12 and sum(r["hidden"] for r in rows) == 1
    (report,) = pipeline_report(db, principal=admin, query=PipelineQuery(pipeline_id=outlet.id))
    assert report["summary"]["won"] > 0 and report["summary"]["lost"] > 0
    assert report["summary"]["velocity_per_day"] is not None
    assert not seed_crm(db).created
