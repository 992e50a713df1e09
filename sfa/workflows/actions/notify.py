"""`notify`: a message through the notification outbox (sfa/notifications/outbox.py).

`to`: "rep", "manager" (the rep's team manager), "customer", "distributor", `{"user":
id}`, `{"role": name}` (every active user holding it), `{"context": path}` (the user, or
the customer when the path starts with customer/distributor, whose id is at `path`, e.g.
"customer.id"), or `{"reps_in_teams": rule}` (every active rep of the teams the JsonLogic
`rule` gives, e.g. {"var": "event.payload.team_ids"}; null: every active rep).
`channel`: email, sms, in_app, push (to the user's push topic). `template`: one of the
notification templates, filled from `payload` (values or JsonLogic over the context) and
the fields of the run's records (notify_fields.py). `rule` (optional): the notification
rule the rows belong to (sfa/notifications/rule_settings.py: admins filter by it, and a
rule switched off cancels them at send time); "workflow" when not given. A recipient
without the address the channel needs is skipped and named in the output.

Crash handling: the outbox rows are inserted in the transaction that records the
run-step, and the sender delivers only committed rows: a crash leaves no row, and the
retry enqueues once. The dedupe key `wf:<idempotency key>:<recipient>:<channel>` makes a
second enqueue of the same attempt a no-op even so; a redelivered event starts no second
run (sfa/workflows/engine.py), so it sends nothing twice either.
"""

from sqlalchemy import select

from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.notifications import outbox, templates
from sfa.notifications.channels import push_topic
from sfa.notifications.models import Channel
from sfa.notifications.rule_settings import DEFAULTS as RULES
from sfa.users.models import Role, User
from sfa.workflows.actions import notify_fields
from sfa.workflows.actions.base import Outcome, StepCall, StepError, lookup

RULE = "workflow"
_CUSTOMER_PATHS = ("customer", "distributor")


def _users(call: StepCall, to: dict) -> list[User]:
    stmt = select(User).where(User.is_active.is_(True)).order_by(User.id)
    if "role" in to:
        return list(call.session.scalars(stmt.where(User.role == Role(to["role"]))))
    teams = call.value(to["reps_in_teams"])
    stmt = stmt.where(User.role == Role.rep)
    if teams is not None:
        if not isinstance(teams, list):
            raise StepError(f"notify reps_in_teams gave {teams!r}, not a list of team ids")
        stmt = stmt.where(User.team_id.in_([int(t) for t in teams]))
    return list(call.session.scalars(stmt))


def _one(call: StepCall, path: str, customer: bool) -> User | Customer | None:
    ident = lookup(call.data, path)
    if not ident:
        return None
    if customer:
        return call.session.get(Customer, int(ident))
    return call.session.get(User, int(ident))


def _recipients(call: StepCall, to) -> list[User | Customer]:
    found: list[User | Customer | None]
    if isinstance(to, dict) and "user" in to:
        found = [call.session.get(User, int(to["user"]))]
    elif isinstance(to, dict) and ("role" in to or "reps_in_teams" in to):
        found = list(_users(call, to))
    elif isinstance(to, dict) and "context" in to:
        path = str(to["context"])
        found = [_one(call, path, path.split(".")[0] in _CUSTOMER_PATHS)]
    elif to in {"rep", "manager"}:
        found = [_one(call, "rep.id" if to == "rep" else "rep.team.manager_id", False)]
    elif to in {"customer", "distributor"}:
        found = [_one(call, "customer.id" if to == "customer" else "customer.distributor.id", True)]
    else:
        raise StepError(f"notify 'to' {to!r} is not a recipient this step knows")
    return [who for who in found if who is not None]


def _address(who: User | Customer, channel: Channel) -> tuple[bool, str | None]:
    """(reachable, address) on the channel."""
    if channel is Channel.email:
        return bool(who.email), who.email
    if channel is Channel.sms:
        return bool(who.phone), who.phone
    if not isinstance(who, User):
        return False, None  # in-app and push reach users only
    return True, push_topic(who.id) if channel is Channel.push else None


def _rule(call: StepCall) -> str:
    rule = call.step.get("rule") or RULE
    if rule != RULE and rule not in RULES:
        raise StepError(f"notify rule {rule!r} is not a notification rule ({', '.join(RULES)})")
    return rule


def notify(call: StepCall) -> Outcome:
    try:
        channel = Channel(call.require("channel"))
    except ValueError:
        raise StepError(f"unknown channel {call.step['channel']!r}") from None
    template, rule = call.require("template"), _rule(call)
    settings = company_service.get_company_settings(call.session)
    extra = {key: call.value(value) for key, value in (call.step.get("payload") or {}).items()}
    payload = notify_fields.fields(call.session, settings, call.data) | extra
    templates.render(template, settings.language, payload)  # unknown template or key: fails
    sent, skipped = [], []
    for who in _recipients(call, call.require("to")):
        kind = "user" if isinstance(who, User) else "customer"
        reachable, address = _address(who, channel)
        if not reachable:
            skipped.append(f"{kind}:{who.id}")
            continue
        row = outbox.enqueue(
            call.session,
            settings=settings,
            rule=rule,
            channel=channel,
            template=template,
            dedupe_key=f"wf:{call.key}:{kind}:{who.id}:{channel}",
            language=templates.pick_language(who.language, settings.language),
            payload=payload,
            due_at=call.now,
            recipient_user_id=who.id if kind == "user" else None,
            recipient_customer_id=who.id if kind == "customer" else None,
            address=address,
            entity=call.run.subject_kind,
            entity_id=call.run.subject_id,
        )
        if row is not None:
            sent.append(row.id)
    return Outcome({"notification_ids": sent, "skipped": skipped}, next=call.step.get("next"))
