"""`notify`: a message through the notification outbox (sfa/notifications/outbox.py).

`to`: "rep", "manager" (the rep's team manager), "customer", "distributor", `{"user":
id}` or `{"role": name}` (every active user holding it). `channel`: email, sms, in_app,
push. `template`: one of the notification templates, filled from `payload` (values or
JsonLogic over the context) and a few defaults (order_ref, customer_name, rep_name…). A
recipient without the address the channel needs is skipped and named in the output.

Crash handling: the outbox rows are inserted in the transaction that records the
run-step, and the sender delivers only committed rows: a crash leaves no row, and the
retry enqueues once. The dedupe key `wf:<idempotency key>:<recipient>:<channel>` makes a
second enqueue of the same attempt a no-op even so.
"""

from sqlalchemy import select

from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.notifications import outbox, templates
from sfa.notifications.models import Channel
from sfa.users.models import Role, User
from sfa.workflows.actions.base import Outcome, StepCall, StepError, lookup

RULE = "workflow"


def _recipients(call: StepCall, to) -> list[User | Customer]:
    session, data = call.session, call.data
    found: list[User | Customer | None]
    if isinstance(to, dict) and "user" in to:
        found = [session.get(User, int(to["user"]))]
    elif isinstance(to, dict) and "role" in to:
        found = list(
            session.scalars(
                select(User)
                .where(User.role == Role(to["role"]), User.is_active.is_(True))
                .order_by(User.id)
            )
        )
    elif to in {"rep", "manager"}:
        path = "rep.id" if to == "rep" else "rep.team.manager_id"
        found = [session.get(User, ident) if (ident := lookup(data, path)) else None]
    elif to in {"customer", "distributor"}:
        path = "customer.id" if to == "customer" else "customer.distributor.id"
        found = [session.get(Customer, ident) if (ident := lookup(data, path)) else None]
    else:
        raise StepError(f"notify 'to' {to!r} is not a recipient this step knows")
    return [who for who in found if who is not None]


def _defaults(data: dict) -> dict:
    order, customer, rep = data.get("order") or {}, data.get("customer") or {}, data.get("rep")
    return {
        "order_ref": f"#{order['id']}" if order.get("id") else "",
        "customer_name": customer.get("name", ""),
        "distributor_name": (customer.get("distributor") or {}).get("name", ""),
        "rep_name": (rep or {}).get("full_name", ""),
        "currency": order.get("currency", ""),
        "net_amount": f"{order['net_amount']:,.2f}" if order.get("net_amount") else "",
    }


def _address(who: User | Customer, channel: Channel) -> tuple[bool, str | None]:
    """(reachable, address) on the channel."""
    if channel is Channel.email:
        return bool(who.email), who.email
    if channel is Channel.sms:
        return bool(who.phone), who.phone
    return isinstance(who, User), None  # in-app and push reach users only


def notify(call: StepCall) -> Outcome:
    try:
        channel = Channel(call.require("channel"))
    except ValueError:
        raise StepError(f"unknown channel {call.step['channel']!r}") from None
    template = call.require("template")
    extra = {key: call.value(rule) for key, rule in (call.step.get("payload") or {}).items()}
    payload = _defaults(call.data) | extra
    settings = company_service.get_company_settings(call.session)
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
            rule=RULE,
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
