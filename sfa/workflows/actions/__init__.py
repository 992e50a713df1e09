"""The step types the runtime executes, by the `type` of a step."""

from collections.abc import Callable

from sfa.workflows.actions import crm, flow
from sfa.workflows.actions.approval import require_approval
from sfa.workflows.actions.base import Outcome, StepCall
from sfa.workflows.actions.notify import notify
from sfa.workflows.actions.records import update_record
from sfa.workflows.actions.task import assign_task
from sfa.workflows.actions.webhook import webhook
from sfa.workflows.actions.withdraw import withdraw

ACTIONS: dict[str, Callable[[StepCall], Outcome]] = {
    "condition": flow.condition,
    "branch": flow.branch,
    "end": flow.end,
    "set_variable": flow.set_variable,
    "wait": flow.wait,
    "webhook": webhook,
    "require_approval": require_approval,
    "assign_task": assign_task,
    "notify": notify,
    "update_record": update_record,
    "withdraw": withdraw,
    "route_renewal": crm.route_renewal,
    "renew_contract": crm.renew_contract,
    "create_opportunity": crm.create_opportunity,
    "score_lead": crm.score_lead,
    "assign_lead": crm.assign_lead,
}
