"""A workflow's webhook step goes out through the same dispatcher: signed, logged, once
per run-step however often the step's effect is enqueued."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from sfa.webhooks import service as webhook_service
from sfa.webhooks.models import DeliveryState, WebhookDelivery
from sfa.workflows import engine
from sfa.workflows.runtime_models import RunStatus


def test_a_webhook_step_is_delivered_signed(db, receiver, subscribe, dispatcher):
    endpoint = subscribe(receiver, name="renewals", event_types=["contract.created"])
    definition = {
        "name": "hook",
        "trigger": {"event": "contract.created"},
        "start": "hook",
        "steps": {
            "hook": {"type": "webhook", "endpoint": "renewals", "payload": {"why": "renewal"}},
        },
    }
    run = engine.start_run(
        db,
        workflow_id=1,
        version_id=1,
        definition=definition,
        trigger=engine.Trigger(type="test", subject_kind="contract", subject_id=7, payload={}),
        now=datetime.now(UTC),
    )
    db.commit()
    assert run.status is RunStatus.completed
    assert dispatcher.run_once().delivered == 1
    [request] = receiver.verified
    body = request.json
    assert body["type"] == webhook_service.WORKFLOW_EVENT_TYPE
    assert body["data"]["workflow_run_id"] == run.id and body["data"]["step"] == "hook"
    assert body["data"]["subject"] == {"kind": "contract", "id": 7}
    assert body["data"]["payload"] == {"why": "renewal"}
    assert request.headers["webhook-id"] == webhook_service.message_id(
        f"wf:{run.id}:hook:1", endpoint.id
    )
    # The same run-step enqueued again (a step whose transaction is retried): no new row.
    webhook_service.enqueue_workflow_call(
        db,
        endpoint_name="renewals",
        key=f"{run.id}:hook:1",
        subject="contract:7",
        data={},
        now=datetime.now(UTC),
    )
    count = db.scalar(select(func.count()).where(WebhookDelivery.endpoint_id == endpoint.id))
    assert count == 1
    row = db.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id))
    assert row.state is DeliveryState.delivered
