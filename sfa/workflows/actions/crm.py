"""The CRM steps, thin adapters over their domains: `route_renewal` and `renew_contract`
(sfa/contracts/renewal_runs.py), `create_opportunity` (sfa/pipeline/service.py),
`score_lead` and `assign_lead` (sfa/pipeline/leads.py). The decisions are the domains'
(CURE is `sfa.contracts.routing.route`, as for POST /v1/contracts/{id}/route); a step
only finds the run's record, calls, and puts the result in `vars.<into>`.

Crash handling: each writes its rows (a decision, a status, a successor contract, an
opportunity, a score, an owner, their audit entries and events) in the transaction that
records the run-step: a crash leaves none, and the retry does it once. A renewal and an
opportunity are idempotent on their own too (one successor per contract; the
opportunity's client id is derived from the run).
"""

import json
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation

from sfa.contracts import renewal_runs
from sfa.contracts.models import OPEN_STATUSES, Contract
from sfa.pipeline import leads
from sfa.pipeline import service as opportunity_service
from sfa.pipeline.models import Opportunity
from sfa.users.models import User
from sfa.workflows.actions.base import Outcome, StepCall, StepError, lookup

# The namespace of the client ids of opportunities that runs open (uuid5 of "<run>:<step>").
RUN_NAMESPACE = uuid.UUID("2b8f6a3c-5d1e-4f7a-9c0b-8e4d2a6f1b3c")


def _actor(call: StepCall) -> str:
    return f"workflow_run:{call.run.id}"


def _record(call: StepCall, model: type, kind: str):
    ident = lookup(call.data, f"{kind}.id")
    found = call.session.get(model, ident, with_for_update=True) if ident else None
    if found is None:
        raise StepError(f"the run has no {kind}")
    return found


def _into(call: StepCall, default: str, value) -> None:
    """`vars.<into>` as plain JSON (enums, decimals and dates as the stream writes them):
    JsonLogic reads plain data only."""
    name = call.step.get("into") or default
    value = json.loads(json.dumps(value, default=str))
    call.run.variables = {**call.run.variables, name: value}
    call.data["vars"] = {**call.data["vars"], name: value}


def route_renewal(call: StepCall) -> Outcome:
    contract = _record(call, Contract, "contract")
    if contract.status not in OPEN_STATUSES:
        raise StepError(f"contract {contract.id} is {contract.status}: nothing to renew")
    plan = renewal_runs.start(
        call.session, contract, actor=_actor(call), now=call.now, policy=call.step.get("policy")
    )
    _into(call, "renewal", plan)
    call.data["contract"] = {**call.data["contract"], "status": str(contract.status)}
    keys = ("decision_id", "tier", "mode", "owner_id", "owner_role", "summary_en")
    return Outcome({k: plan[k] for k in keys}, next=call.step.get("next"))


def renew_contract(call: StepCall) -> Outcome:
    contract = _record(call, Contract, "contract")
    successor, created = renewal_runs.renew_at_end(call.session, contract, actor=_actor(call))
    return Outcome({"successor_id": successor.id, "created": created}, next=call.step.get("next"))


def _amount(value) -> Decimal:
    try:
        return Decimal(str(value if value is not None else 0))
    except InvalidOperation:
        raise StepError(f"amount {value!r} is not a number") from None


def create_opportunity(call: StepCall) -> Outcome:
    customer_id = lookup(call.data, "customer.id")
    if customer_id is None:
        raise StepError("the run has no customer to open an opportunity for")
    owner = None
    if (to := call.step.get("owner")) is not None:
        ident = lookup(call.data, str(to["context"]))
        owner = call.session.get(User, int(ident)) if isinstance(ident, int) else None
    close = call.value(call.step.get("expected_close"))
    data = {
        "client_id": uuid.uuid5(RUN_NAMESPACE, f"{call.run.id}:{call.step_id}"),
        "title": str(call.value(call.require("title")))[:200],
        "customer_id": customer_id,
        "contract_id": lookup(call.data, "contract.id"),
        "pipeline_id": call.step.get("pipeline_id"),
        "amount": _amount(call.value(call.step.get("amount"))),
        "expected_close": date.fromisoformat(close) if isinstance(close, str) else None,
        "source": "workflow",
    }
    deal, created = opportunity_service.open_for_workflow(
        call.session, data=data, owner=owner, actor=_actor(call)
    )
    output = {"opportunity_id": deal.id, "owner_id": deal.owner_id, "created": created}
    return Outcome(output, next=call.step.get("next"))


def score_lead(call: StepCall) -> Outcome:
    deal = _record(call, Opportunity, "opportunity")
    scored = leads.score_lead(call.session, deal, call.require("criteria"), actor=_actor(call))
    result = {"score": scored.score, "points": scored.points}
    _into(call, "lead", result)
    call.data["opportunity"] = {**call.data["opportunity"], "score": scored.score}
    return Outcome(result, next=call.step.get("next"))


def assign_lead(call: StepCall) -> Outcome:
    deal = _record(call, Opportunity, "opportunity")
    max_km = float(call.step.get("max_km") or 50)
    reason = leads.assign_lead(call.session, deal, max_km=max_km, actor=_actor(call))
    _into(call, "assignment", reason)
    call.data["opportunity"] = {
        **call.data["opportunity"],
        "owner_id": deal.owner_id,
        "team_id": deal.team_id,
    }
    return Outcome(reason, next=call.step.get("next"))
