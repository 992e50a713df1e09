"""`withdraw`: take back the notices of a notification `rule` about the run's subject
that have not gone out yet (e.g. an order's "placed" email once the order is cancelled),
and say which may have arrived, so that the next steps can send a follow-up to those
recipients only.

`templates` (optional) narrows the notices to those templates; `into` (optional) names
a run variable that gets the templates of the notices that may have arrived (sending,
sent, or uncertain), e.g. ["order_placed_distributor"], for a `condition` to read as
{"in": ["order_placed_distributor", {"var": "vars.arrived"}]}.

Crash handling: the notices are changed in the transaction that records the run-step;
a crash undoes both and the retry withdraws once. Withdrawing what is already withdrawn
changes nothing.
"""

from sqlalchemy import select

from sfa.notifications.models import Notification, NotificationState
from sfa.notifications.rule_settings import DEFAULTS as RULES
from sfa.workflows.actions.base import Outcome, StepCall, StepError

MAY_HAVE_ARRIVED = (
    NotificationState.sending,
    NotificationState.sent,
    NotificationState.uncertain,
)


def withdraw(call: StepCall) -> Outcome:
    rule = call.require("rule")
    if rule not in RULES:
        raise StepError(f"withdraw rule {rule!r} is not a notification rule ({', '.join(RULES)})")
    run = call.run
    if run.subject_kind is None or run.subject_id is None:
        raise StepError(f"step {call.step_id!r}: withdraw needs a run about a record")
    stmt = (
        select(Notification)
        .where(
            Notification.rule == rule,
            Notification.entity == run.subject_kind,
            Notification.entity_id == run.subject_id,
        )
        .order_by(Notification.id)
        .with_for_update()
    )
    if call.step.get("templates"):
        stmt = stmt.where(Notification.template.in_(list(call.step["templates"])))
    withdrawn, arrived = [], set()
    for notice in call.session.scalars(stmt):
        if notice.state is NotificationState.pending:
            notice.state = NotificationState.cancelled
            notice.last_error = f"withdrawn by workflow step {call.step_id!r}"
            withdrawn.append(notice.id)
        elif notice.state in MAY_HAVE_ARRIVED:
            arrived.add(notice.template)
    call.session.flush()
    if name := call.step.get("into"):
        run.variables = {**run.variables, name: sorted(arrived)}
    return Outcome({"withdrawn": withdrawn, "arrived": sorted(arrived)}, next=call.step.get("next"))
