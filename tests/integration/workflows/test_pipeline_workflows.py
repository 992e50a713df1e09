"""Pipeline events drive workflows: every recorded stage move emits
`opportunity.stage_changed` in the move's transaction (late moves too, put where they
belong), and the built-in "Lead assignment" scores each new lead, gives a high score to
the least loaded rep of the team whose customers are nearest to it (PostGIS), with the
reason stored, and nurtures a low score with reminders to its owner."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text

from crm_factories import make_opportunity, make_pipeline, principal
from event_drain import drain_events
from sfa.audit.models import AuditEntry
from sfa.events import repository as event_repository
from sfa.events import types
from sfa.notifications.models import Notification
from sfa.pipeline import leads, moves
from sfa.pipeline.models import Opportunity
from sfa.workflows import repository, timers
from sfa.workflows import service as workflow_service
from sfa.workflows.runtime_models import RunStatus, WorkflowRun

ON_MOVE = {
    "name": "On every move",
    "trigger": {"event": "opportunity.stage_changed"},
    "start": "seen",
    "steps": {
        "seen": {
            "type": "set_variable",
            "name": "to",
            "value": {"var": "event.payload.to_stage_id"},
            "next": "done",
        },
        "done": {"type": "end"},
    },
}


@pytest.fixture
def pipeline(db, world):
    return make_pipeline(db, world.admin)


def _runs(db, workflow_id: int) -> list[WorkflowRun]:
    db.expire_all()
    return list(
        db.scalars(
            select(WorkflowRun)
            .where(WorkflowRun.workflow_id == workflow_id)
            .order_by(WorkflowRun.id)
        )
    )


def test_every_move_emits_stage_changed_and_late_moves_trigger_too(db, world, pipeline):
    _, stages = pipeline
    admin = principal(db, world.admin)
    workflow = workflow_service.create_workflow(
        db, principal=admin, key="on-move", definition=ON_MOVE, enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    opened = datetime.now(UTC) - timedelta(days=1)
    rep = principal(db, world.rep_a)
    deal = make_opportunity(db, world.rep_a, opened_at=opened)

    def move(stage: str, hours: int, client_id=None):
        return moves.move_opportunity(
            db,
            principal=rep,
            opportunity_id=deal.id,
            stage_id=stages[stage].id,
            at=opened + timedelta(hours=hours),
            client_id=client_id,
        )

    retry = uuid.uuid4()
    move("Proposal", 5, retry)
    move("Qualified", 2)  # arrives late: before Proposal
    move("Proposal", 5, retry)  # a retry: no second event
    move("Qualified", 3)  # already Qualified then: nothing recorded, no event

    batch = event_repository.read_batch(
        db, after=(0, 0), types=[types.OPPORTUNITY_STAGE_CHANGED], limit=1000
    )
    mine = [e for e in batch.events if e.subject_id == str(deal.id)]
    assert [
        (e.payload["from_stage_id"], e.payload["to_stage_id"], e.payload["current"]) for e in mine
    ] == [
        (stages["Prospect"].id, stages["Proposal"].id, True),
        (stages["Prospect"].id, stages["Qualified"].id, False),
    ]
    history = moves.history(db, principal=rep, opportunity_id=deal.id)
    assert [(s.stage_id, s.entered_at, s.left_at) for s in history] == [
        (stages["Prospect"].id, opened, opened + timedelta(hours=2)),
        (stages["Qualified"].id, opened + timedelta(hours=2), opened + timedelta(hours=5)),
        (stages["Proposal"].id, opened + timedelta(hours=5), None),
    ]

    drain_events(db)
    runs = _runs(db, workflow.id)
    assert [r.variables["to"] for r in runs] == [stages["Proposal"].id, stages["Qualified"].id]
    assert all(r.status is RunStatus.completed for r in runs)
    assert {r.context["opportunity"]["id"] for r in runs} == {deal.id}


def _lead(db, who, **data):
    return make_opportunity(db, who, kind="lead", title="Lead", **data)


def _lead_run(db, deal) -> WorkflowRun:
    workflow = repository.by_key(db, "lead-assignment")
    return db.scalar(
        select(WorkflowRun).where(
            WorkflowRun.workflow_id == workflow.id, WorkflowRun.subject_id == deal.id
        )
    )


def test_a_high_score_goes_to_the_nearest_teams_least_loaded_rep(db, world, pipeline):
    # Rep A has an open deal; rep A2 (same team) has none.
    make_opportunity(db, world.rep_a, customer_id=world.customer_a.id)
    near_a = _lead(
        db,
        world.admin,
        source="referral",
        amount=Decimal(30_000_000),
        location={"lat": -6.2010, "lon": 106.8010},  # ~150 m from customer A
    )
    near_b = _lead(db, world.admin, source="referral", location={"lat": -6.3010, "lon": 106.9010})
    drain_events(db)
    db.expire_all()

    a, b = db.get(Opportunity, near_a.id), db.get(Opportunity, near_b.id)
    assert (a.score, a.owner_id, a.team_id) == (65, world.rep_a2.id, world.team_a.id)
    assert (b.score, b.owner_id, b.team_id) == (50, world.rep_b.id, world.team_b.id)

    run = _lead_run(db, a)
    assert run.status is RunStatus.completed
    reason = run.variables["assignment"]
    assert reason["code"] == "nearest_customer" and reason["customer_id"] == world.customer_a.id
    assert "fewest of 2" in reason["en"] and "paling sedikit dari 2" in reason["id"]
    audit = db.scalar(
        select(AuditEntry).where(
            AuditEntry.entity == "opportunity",
            AuditEntry.entity_id == str(a.id),
            AuditEntry.action == "assign",
        )
    )
    assert audit.new["owner_id"] == world.rep_a2.id and audit.new["en"] == reason["en"]
    [told] = db.scalars(
        select(Notification).where(
            Notification.template == "lead_assigned", Notification.entity_id == a.id
        )
    ).all()
    assert told.recipient_user_id == world.rep_a2.id


def test_a_low_score_is_nurtured_with_reminders_to_its_owner(db, world, pipeline):
    deal = _lead(db, world.rep_a, source="cold_call")
    drain_events(db)
    run = _lead_run(db, deal)
    assert run.status is RunStatus.waiting and run.current_step == "pause"
    assert db.get(Opportunity, deal.id).score == 15
    assert db.get(Opportunity, deal.id).owner_id == world.rep_a.id  # kept

    started = run.started_at
    timers.wake_due(db, now=started + timedelta(hours=71))
    assert not _nurtures(db, deal)
    timers.wake_due(db, now=started + timedelta(hours=72, minutes=1))
    [reminder] = _nurtures(db, deal)
    assert reminder.recipient_user_id == world.rep_a.id
    db.expire_all()
    assert db.get(WorkflowRun, run.id).current_step == "pause"  # the next one waits


def _nurtures(db, deal) -> list[Notification]:
    return list(
        db.scalars(
            select(Notification).where(
                Notification.template == "lead_nurture", Notification.entity_id == deal.id
            )
        )
    )


def test_a_lead_without_a_location_goes_to_its_customers_team(db, world, pipeline):
    deal = _lead(db, world.admin, source="referral", customer_id=world.customer_b.id)
    drain_events(db)
    db.expire_all()
    assert db.get(Opportunity, deal.id).owner_id == world.rep_b.id
    assert _lead_run(db, deal).variables["assignment"]["code"] == "customer_team"


def test_a_lead_nobody_covers_stays_unassigned_with_the_reason(db, world, pipeline):
    far = _lead(db, world.admin, source="referral", location={"lat": 3.59, "lon": 98.67})
    drain_events(db)
    db.expire_all()
    assert db.get(Opportunity, far.id).owner_id is None
    run = _lead_run(db, far)
    assert run.status is RunStatus.completed
    assert run.variables["assignment"]["code"] == "no_territory"


def test_the_nearest_team_is_found_through_the_customers_spatial_index(db, world, pipeline):
    deal = _lead(db, world.rep_a, location={"lat": -6.2, "lon": 106.8})
    statement = leads.nearest_statement(deal.id, 50)
    compiled = statement.compile(dialect=db.bind.dialect, compile_kwargs={"literal_binds": True})
    db.execute(text("SET LOCAL enable_seqscan = off"))  # a test table is tiny: ask for the index
    plan = "\n".join(db.scalars(text(f"EXPLAIN {compiled}")))
    # The index both bounds the search (ST_DWithin) and yields customers nearest first.
    assert "Index Scan using ix_customers_location" in plan, plan
    assert "Order By: (location <->" in plan, plan
