"""`update_record`: change a whitelisted field of the run's order or customer.

Only the fields below can be set, each with the values it accepts; anything else fails
the step (and its error policy applies). Setting an order's `state` is a decision with
its effects (sfa/orders/decisions.py): `approved` hands the order to the ERP outbox and
emits `order.approved` (the distributor and the rep are told by the workflow it starts),
`rejected` emits `order.rejected`, in this transaction; every change is audited with the
run as the actor.

Crash handling: the change, its outbox row and notices, its audit entry and the run-step
record are one transaction: a crash undoes all of them and the retry does it once.
"""

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from sfa.audit import service as audit_service
from sfa.customers.models import Customer
from sfa.events.service import SYSTEM, Actor
from sfa.orders import decisions as order_decisions
from sfa.orders.models import ApprovalTier, Order, OrderState
from sfa.workflows.actions.base import Outcome, StepCall, StepError
from sfa.workflows.runtime_models import ApprovalDecision, WorkflowApproval

# An order leaves these states only through the ERP or a person, never a workflow.
_DECIDABLE = frozenset({OrderState.draft, OrderState.submitted})


def _order_state(call: StepCall, order: Order, value: Any) -> None:
    try:
        state = OrderState(value)
    except ValueError:
        raise StepError(f"order state {value!r} is not submitted, approved or rejected") from None
    if state not in {OrderState.submitted, OrderState.approved, OrderState.rejected}:
        raise StepError(f"a workflow cannot set an order {state}")
    if order.state not in _DECIDABLE:
        raise StepError(f"order {order.id} is {order.state}: its approval is decided already")
    decided = _last_decision(call)
    order_decisions.apply(
        call.session,
        order=order,
        state=state,
        now=call.now,
        actor=Actor("user", str(decided.decided_by)) if decided and decided.decided_by else SYSTEM,
        level=decided.level if decided else None,
        note=decided.note if decided else None,
    )


def _last_decision(call: StepCall) -> WorkflowApproval | None:
    """The run's latest approval decided by a person (what an order.approved or
    order.rejected event names as its level and note); None for a decision without one."""
    return call.session.scalar(
        select(WorkflowApproval)
        .where(
            WorkflowApproval.run_id == call.run.id,
            WorkflowApproval.state.in_([ApprovalDecision.approved, ApprovalDecision.rejected]),
        )
        .order_by(WorkflowApproval.decided_at.desc(), WorkflowApproval.id.desc())
        .limit(1)
    )


def _order_tier(call: StepCall, order: Order, value: Any) -> None:
    try:
        order.approval_tier = ApprovalTier(value)
    except ValueError:
        raise StepError(f"approval_tier {value!r} is not auto, single or double") from None


def _order_note(call: StepCall, order: Order, value: Any) -> None:
    order.note = None if value is None else str(value)[:1000]


def _customer_class(call: StepCall, customer: Customer, value: Any) -> None:
    if not isinstance(value, str) or not 0 < len(value) <= 40:
        raise StepError(f"customer class {value!r} must be text of 1 to 40 characters")
    customer.customer_class = value


WHITELIST: dict[str, tuple[type, dict[str, Callable[[StepCall, Any, Any], None]]]] = {
    # Order fields in the order they are applied: the tier before the state.
    "order": (Order, {"approval_tier": _order_tier, "note": _order_note, "state": _order_state}),
    "customer": (Customer, {"class": _customer_class}),
}


def update_record(call: StepCall) -> Outcome:
    kind = call.require("record")
    if kind not in WHITELIST:
        raise StepError(f"update_record cannot change a {kind!r}; it changes: order, customer")
    model, setters = WHITELIST[kind]
    changes = call.require("set")
    unknown = sorted(set(changes) - set(setters))
    if unknown:
        raise StepError(
            f"{kind} fields {', '.join(unknown)} are not whitelisted; allowed: "
            + ", ".join(setters)
        )
    record_id = (call.data.get(kind) or {}).get("id")
    record = call.session.get(model, record_id, with_for_update=True) if record_id else None
    if record is None:
        raise StepError(f"the run has no {kind} to update")
    values = {field: call.value(changes[field]) for field in setters if field in changes}
    for field, value in values.items():
        setters[field](call, record, value)
    call.session.flush()
    audit_service.record(
        call.session,
        actor=f"workflow_run:{call.run.id}",
        entity=kind,
        entity_id=record.id,
        action="workflow_update",
        new={"step": call.step_id, "set": values, "idempotency_key": call.key},
    )
    # The context follows, so the steps after this one read the new values.
    call.data[kind] = {**call.data[kind], **values}
    return Outcome({"record": kind, "id": record.id, "set": values}, next=call.step.get("next"))
