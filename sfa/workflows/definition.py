"""The workflow definition format: pydantic models of the JSON an admin writes.

Shared with the runtime (sfa/workflows/runtime*.py), which reads published definitions
through `Definition.model_validate`. This module checks the structure (types, required
keys, bounds); sfa/workflows/validation.py checks the meaning (events, variables, step
references, reachability, cycles) and names the bad path. docs/workflows.md.

Python names: `if` and `else` are keywords, so a condition's fields are `if_` and
`else_` (JSON `"if"` / `"else"`; `model_dump(by_alias=True)` writes them back).
A wait's `on_timeout` is taken when an event wait times out; without it the run goes on
to `next`.

Wherever the runtime evaluates a value (sfa/workflows/actions/), a definition may give
JsonLogic instead of a literal: durations (`escalate_after_hours`, `due_in_hours`,
`hours`, `timeout_hours`, e.g. `{"var": "settings.discount_escalation_hours"}`), a
task's `title`, a notice's `payload` values, `update_record` values, `set_variable`
values, a wait's `until`. validation.py checks each against the context's shape.
"""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from sfa.limits import INT64_MAX

# A JsonLogic expression (sfa/workflows/logic.py validates and evaluates it).
JsonLogic = Any
# A JsonLogic operation where a literal of a fixed type is the alternative (a duration).
Expression = Annotated[dict[str, Any], Field(min_length=1, max_length=1)]
StepId = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00]*$")]
Path = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.]+$")]
EventName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z_]+\.[a-z_]+$")]
Hours = Annotated[float, Field(gt=0, le=24 * 366, allow_inf_nan=False)] | Expression
UserId = Annotated[int, Field(ge=1, le=INT64_MAX)]

MAX_STEPS = 200


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class OnError(_Model):
    retries: int = Field(0, ge=0, le=10)
    backoff_s: int = Field(60, ge=0, le=86_400)
    then: Literal["fail", "continue"] = "fail"


class UserRef(_Model):
    user: UserId


class RoleRef(_Model):
    role: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]


class ManagerOf(_Model):
    manager_of: Literal["rep"]


class RoundRobin(_Model):
    round_robin_team: Path


class ContextRef(_Model):
    """The user whose id is at `context` (a customer for customer./distributor. paths)."""

    context: Path


class RepsInTeams(_Model):
    """Every active rep of the teams the JsonLogic gives (null: every active rep)."""

    reps_in_teams: JsonLogic


def _by_key(*keys: str):
    """A discriminator picking the union member by which key the object has (the tags
    are in angle brackets so that error paths can drop them: validation._path)."""

    def pick(value: Any) -> str | None:
        if isinstance(value, str):
            return "<name>"
        if isinstance(value, dict):
            return next((f"<{k}>" for k in keys if k in value), None)
        return next((f"<{k}>" for k in keys if getattr(value, k, None) is not None), None)

    return Discriminator(pick)


Approver = Annotated[
    Annotated[UserRef, Tag("<user>")]
    | Annotated[RoleRef, Tag("<role>")]
    | Annotated[ManagerOf, Tag("<manager_of>")],
    _by_key("user", "role", "manager_of"),
]
# Who a notice goes to (sfa/workflows/actions/notify.py): the run's rep, the rep's team
# manager, the customer or its distributor, a user, everyone active holding a role, the
# user or customer at a context path, or the reps of some teams.
NamedRecipient = Literal["rep", "manager", "customer", "distributor"]
Recipient = Annotated[
    Annotated[NamedRecipient, Tag("<name>")]
    | Annotated[UserRef, Tag("<user>")]
    | Annotated[RoleRef, Tag("<role>")]
    | Annotated[ContextRef, Tag("<context>")]
    | Annotated[RepsInTeams, Tag("<reps_in_teams>")],
    _by_key("user", "role", "context", "reps_in_teams"),
]
# A notification rule (sfa/notifications/rule_settings.py), checked by validation.py.
RuleName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z_]+$")]
TemplateName = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_]+$")]
VariableName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Assignee = Annotated[
    Annotated[UserRef, Tag("<user>")]
    | Annotated[RoleRef, Tag("<role>")]
    | Annotated[RoundRobin, Tag("<round_robin_team>")]
    | Annotated[ContextRef, Tag("<context>")],
    _by_key("user", "role", "round_robin_team", "context"),
]


class _Step(_Model):
    on_error: OnError | None = None


class ConditionStep(_Step):
    type: Literal["condition"]
    if_: JsonLogic = Field(alias="if")
    then: StepId
    else_: StepId = Field(alias="else")


class BranchPath(_Model):
    when: JsonLogic
    next: StepId


class BranchStep(_Step):
    type: Literal["branch"]
    paths: list[BranchPath] = Field(min_length=1, max_length=20)
    else_: StepId = Field(alias="else")


class RequireApprovalStep(_Step):
    type: Literal["require_approval"]
    levels: list[Approver] = Field(min_length=1, max_length=5)
    escalate_after_hours: Hours | None = None
    on_approved: StepId
    on_rejected: StepId


class AssignTaskStep(_Step):
    type: Literal["assign_task"]
    to: Assignee
    title: Name | Expression
    due_in_hours: Hours | None = None
    next: StepId


class NotifyStep(_Step):
    type: Literal["notify"]
    channel: Literal["email", "sms", "push", "in_app"]
    template: TemplateName
    to: Recipient
    # The notification rule its rows belong to (admins filter by it; a rule switched off
    # cancels them at send time); "workflow" when none.
    rule: RuleName | None = None
    # Template fields: a literal or JsonLogic each, over the defaults (order_ref, ...).
    payload: dict[Annotated[str, Field(max_length=60, pattern=r"^[a-z_]+$")], JsonLogic] | None = (
        Field(None, max_length=20)
    )
    next: StepId


class UpdateRecordStep(_Step):
    type: Literal["update_record"]
    record: Literal["order", "customer"]  # sfa/workflows/updatable.py
    # field -> a literal value or a JsonLogic expression
    set: dict[Annotated[str, Field(max_length=60, pattern=r"^[a-z_]+$")], Any] = Field(
        min_length=1, max_length=20
    )
    next: StepId


class WithdrawStep(_Step):
    """Take back the notices of `rule` about the run's subject not yet sent; `into` gets
    the templates of those that may have arrived (sfa/workflows/actions/withdraw.py)."""

    type: Literal["withdraw"]
    rule: RuleName
    templates: list[TemplateName] | None = Field(None, min_length=1, max_length=20)
    into: VariableName | None = None
    next: StepId


class SetVariableStep(_Step):
    type: Literal["set_variable"]
    name: VariableName
    value: JsonLogic
    next: StepId


class WaitStep(_Step):
    """Exactly one of `hours`, `until` (JsonLogic giving an ISO date or time) or `event`
    (with an optional `match`, and `timeout_hours` / `on_timeout`)."""

    type: Literal["wait"]
    hours: Hours | None = None
    until: JsonLogic = None
    event: EventName | None = None
    match: JsonLogic = None
    timeout_hours: Hours | None = None
    on_timeout: StepId | None = None
    next: StepId


class WebhookStep(_Step):
    """A signed POST to the webhook subscription named `endpoint` (sfa/webhooks), through
    the same delivery path as the event stream's; `payload`: fields sent under
    data.payload, a literal or JsonLogic each."""

    type: Literal["webhook"]
    endpoint: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^\x00\s]+$")]
    payload: dict[Annotated[str, Field(max_length=60, pattern=r"^[a-z_]+$")], JsonLogic] | None = (
        Field(None, max_length=20)
    )
    next: StepId


class EndStep(_Step):
    type: Literal["end"]


# --- domain steps (the contracts and pipeline domains; sfa/workflows/actions/crm.py) ---

# CURE's numbers a route_renewal step may set instead of the company settings.
PolicyName = Literal[
    "low_tier_max",
    "enterprise_tier_min",
    "enterprise_min_stakeholders",
    "upsell_min_score",
    "upsell_roles",
    "fallback_order",
    "reminder_days",
]


class RouteRenewalStep(_Step):
    """CURE on the run's contract (sfa/contracts/renewal_runs.py): the decision is stored
    with its reasons, an active contract becomes renewal_due, and `vars.<into>` gets the
    decision and the reminder dates still ahead. `policy`: CURE's numbers for this
    workflow (literals), over the company's renewal_* settings."""

    type: Literal["route_renewal"]
    into: VariableName = "renewal"
    policy: dict[PolicyName, Any] | None = None
    next: StepId


class RenewContractStep(_Step):
    """The run's contract renewed through the contracts service (its successor; a second
    renewal answers the same successor)."""

    type: Literal["renew_contract"]
    next: StepId


class CreateOpportunityStep(_Step):
    """An opportunity in the pipeline for the run's customer (and contract), through the
    pipeline service, idempotent by a client id derived from the run."""

    type: Literal["create_opportunity"]
    title: Name | Expression
    owner: ContextRef | None = None
    amount: JsonLogic = None
    expected_close: JsonLogic = None
    pipeline_id: UserId | None = None
    next: StepId


class AmountBand(_Model):
    min: Annotated[float, Field(ge=0, allow_inf_nan=False)]
    points: Annotated[int, Field(ge=-100, le=100)]


Points = dict[
    Annotated[str, Field(min_length=1, max_length=40)], Annotated[int, Field(ge=-100, le=100)]
]


class LeadCriteria(_Model):
    """Points per source, per customer class, and for the first amount band reached
    (bands from the highest `min`); the score is their sum, within 0-100."""

    source: Points = Field(default_factory=dict, max_length=50)
    customer_class: Points = Field(default_factory=dict, max_length=50)
    amount: list[AmountBand] = Field(default_factory=list, max_length=20)
    base: Annotated[int, Field(ge=0, le=100)] = 0


class ScoreLeadStep(_Step):
    """The run's lead scored from `criteria`, stored on it; `vars.<into>`: score, points."""

    type: Literal["score_lead"]
    criteria: LeadCriteria
    into: VariableName = "lead"
    next: StepId


class AssignLeadStep(_Step):
    """The run's lead (without an owner) given to a rep of the team whose customers are
    nearest to its location, within `max_km`; the reason is stored (audit) and in
    `vars.<into>`."""

    type: Literal["assign_lead"]
    max_km: Annotated[float, Field(gt=0, le=2000, allow_inf_nan=False)] = 50
    into: VariableName = "assignment"
    next: StepId


STEP_TYPES: dict[str, type[_Step]] = {
    "condition": ConditionStep,
    "branch": BranchStep,
    "require_approval": RequireApprovalStep,
    "assign_task": AssignTaskStep,
    "notify": NotifyStep,
    "update_record": UpdateRecordStep,
    "withdraw": WithdrawStep,
    "set_variable": SetVariableStep,
    "wait": WaitStep,
    "webhook": WebhookStep,
    "end": EndStep,
    "route_renewal": RouteRenewalStep,
    "renew_contract": RenewContractStep,
    "create_opportunity": CreateOpportunityStep,
    "score_lead": ScoreLeadStep,
    "assign_lead": AssignLeadStep,
}
# Steps that pause a run (a timer, an event, a person): a cycle must pass through one.
WAITING_TYPES = frozenset({"wait", "require_approval"})


def _step_type(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return f"<{kind}>" if kind in STEP_TYPES else None


Step = Annotated[
    Annotated[ConditionStep, Tag("<condition>")]
    | Annotated[BranchStep, Tag("<branch>")]
    | Annotated[RequireApprovalStep, Tag("<require_approval>")]
    | Annotated[AssignTaskStep, Tag("<assign_task>")]
    | Annotated[NotifyStep, Tag("<notify>")]
    | Annotated[UpdateRecordStep, Tag("<update_record>")]
    | Annotated[WithdrawStep, Tag("<withdraw>")]
    | Annotated[SetVariableStep, Tag("<set_variable>")]
    | Annotated[WaitStep, Tag("<wait>")]
    | Annotated[WebhookStep, Tag("<webhook>")]
    | Annotated[EndStep, Tag("<end>")]
    | Annotated[RouteRenewalStep, Tag("<route_renewal>")]
    | Annotated[RenewContractStep, Tag("<renew_contract>")]
    | Annotated[CreateOpportunityStep, Tag("<create_opportunity>")]
    | Annotated[ScoreLeadStep, Tag("<score_lead>")]
    | Annotated[AssignLeadStep, Tag("<assign_lead>")],
    Discriminator(_step_type),
]


class EventTrigger(_Model):
    event: EventName
    filter: JsonLogic = None


class ScheduleTrigger(_Model):
    schedule: Annotated[str, Field(min_length=9, max_length=100, pattern=r"^[0-9A-Za-z*/,\- ]+$")]


class DateFieldTrigger(_Model):
    """`offset_days`: a number, or JsonLogic over `settings` giving one (the renewal's
    {"*": [-1, {"var": "settings.renewal_alert_days"}]}), read when the job runs."""

    date_field: Annotated[str, Field(max_length=80, pattern=r"^[a-z_]+\.[a-z_]+$")]
    offset_days: Annotated[int, Field(ge=-3650, le=3650)] | Expression


Trigger = Annotated[
    Annotated[EventTrigger, Tag("<event>")]
    | Annotated[ScheduleTrigger, Tag("<schedule>")]
    | Annotated[DateFieldTrigger, Tag("<date_field>")],
    _by_key("event", "schedule", "date_field"),
]


class Definition(_Model):
    name: Name
    description: Annotated[str, Field(max_length=2000, pattern=r"^[^\x00]*$")] | None = None
    trigger: Trigger
    start: StepId
    steps: dict[StepId, Step] = Field(min_length=1, max_length=MAX_STEPS)

    def dump(self) -> dict:
        """The definition as JSON data, as written (aliases, no unset defaults)."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def successors(step: _Step) -> list[tuple[str, str]]:
    """(field path within the step, step id) of every step a step can lead to."""
    found: list[tuple[str, str]] = []
    for name in ("then", "else_", "next", "on_approved", "on_rejected", "on_timeout"):
        target = getattr(step, name, None)
        if target is not None:
            found.append((name.rstrip("_"), target))
    for index, path in enumerate(getattr(step, "paths", None) or ()):
        found.append((f"paths.{index}.next", path.next))
    return found
