"""`webhook`: a delivery to the webhook subscription named `endpoint` (sfa/webhooks), sent
by the same dispatcher as the event stream's deliveries: signed, retried, in order per
subject, in the subscription's delivery log. The body's type is `workflow.webhook`;
its data names the workflow run and step, the run's subject, and `payload` (the step's
fields, a literal or JsonLogic each over the run's context).

Crash handling: the delivery row is inserted in the transaction that records the
run-step, and the dispatcher sends only committed rows. Its webhook-id comes from the
run-step's idempotency key (`<run>:<step>:<attempt>`), so the same attempt enqueues once
and the receiver sees one id for it, however often it is sent.

A subscription that does not exist (or is disabled) fails the step: its error policy
applies, and the run says which name was not found.
"""

from sfa.errors import Conflict, NotFound
from sfa.webhooks import service as webhook_service
from sfa.workflows.actions.base import Outcome, StepCall, StepError


def webhook(call: StepCall) -> Outcome:
    name = call.require("endpoint")
    payload = {key: call.value(value) for key, value in (call.step.get("payload") or {}).items()}
    run = call.run
    data = {
        "workflow_run_id": run.id,
        "workflow_id": run.workflow_id,
        "step": call.step_id,
        "attempt": call.attempt,
        "subject": {"kind": run.subject_kind, "id": run.subject_id},
        "payload": payload,
    }
    subject = f"{run.subject_kind}:{run.subject_id}" if run.subject_kind else f"run:{run.id}"
    try:
        endpoint, delivery_id = webhook_service.enqueue_workflow_call(
            call.session, endpoint_name=name, key=call.key, subject=subject, data=data, now=call.now
        )
    except (NotFound, Conflict) as exc:
        raise StepError(f"step {call.step_id!r}: {exc}") from None
    return Outcome(
        {"endpoint": name, "webhook_id": endpoint.id, "delivery_id": delivery_id},
        next=call.step.get("next"),
    )
