"""What a workflow can react to and read: the event types, each with the context it gives.

The context is what sfa/workflows/runtime_context.py builds for a run — the one builder,
for the engine and the dry run alike — and nothing else: tests/integration/workflows/
test_context.py checks that every key it builds is listed here. Plain JSON data: the
event (`event`, with its `payload`), the records it names (`order` with its lines and
totals, `customer`, `rep` with team and manager, `visit`, `contract`, `opportunity`),
the company's approval `settings`, and `vars` (what `set_variable` steps set). In an
event wait's `match`, `event` is the candidate event. docs/workflows.md lists every field.

Shapes: a field is a kind ("int", "number", "string", "bool", "date", "datetime",
"any"), an object (a dict of fields) or a list (a one-item list: the shape of each item).
Dates and times are ISO-8601 strings, amounts and percentages JSON numbers; in an
event's payload amounts are decimal strings, as the stream carries them (sfa/events).

The event types and their payloads come from the events registry (sfa/events/types.py):
one list of types, whose payload models give the `event.payload` shapes below.
"""

import types
import typing
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache

from sfa.events import service as event_service
from sfa.notifications.rule_settings import DEFAULTS as NOTIFICATION_RULES
from sfa.users.models import Role
from sfa.workflows.date_sources import DATE_SOURCES

Shape = str | dict | list

LINE: dict = {
    "line_no": "int",
    "product_id": "int",
    "quantity": "number",
    "unit_price": "number",
    "discount_pct": "number",
    "net_amount": "number",
}

RECORDS: dict[str, dict] = {
    "order": {
        "id": "int",
        "state": "string",
        "currency": "string",
        "gross_amount": "number",
        "discount_amount": "number",
        "net_amount": "number",
        "discount_pct": "number",  # as shown (rounded); tiers compare risk_pct
        "risk_pct": "number",  # the exact discount share of the gross amount
        "approval_tier": "string",
        "note": "string",
        "delivery_date": "date",
        "submitted_at": "datetime",
        "lines": [LINE],
        "totals": {
            "line_count": "int",
            "quantity": "number",
            "gross": "number",
            "discount": "number",
            "net": "number",
        },
    },
    "customer": {
        "id": "int",
        "code": "string",
        "name": "string",
        "class": "string",
        "is_distributor": "bool",
        "team_id": "int",
        "overdue_invoices": "int",
        "distributor": {"id": "int", "code": "string", "name": "string"},
    },
    "rep": {
        "id": "int",
        "username": "string",
        "full_name": "string",
        "role": "string",
        "team": {"id": "int", "name": "string", "manager_id": "int"},
        "manager": {"id": "int", "username": "string", "full_name": "string"},
    },
    "visit": {
        "id": "int",
        "rep_id": "int",
        "customer_id": "int",
        "verification_status": "string",
        "dwell_seconds": "int",
        "trust_score": "int",
        "local_day": "date",
        "flags": ["string"],
    },
    "contract": {
        "id": "int",
        "customer_id": "int",
        "title": "string",
        "acv": "number",
        "currency": "string",
        "start_date": "date",
        "end_date": "date",
        "auto_renew": "bool",
        "notice_days": "int",
        "status": "string",
        "upsell_score": "int",
        "enterprise": "bool",
    },
    "invoice": {
        "id": "int",
        "number": "string",
        "order_id": "int",
        "customer_id": "int",
        "state": "string",
        "currency": "string",
        "invoice_date": "date",
        "due_date": "date",
        "total_amount": "number",
        "amount_to_pay": "number",
        "paid": "bool",
    },
    "opportunity": {
        "id": "int",
        "kind": "string",
        "title": "string",
        "amount": "number",
        "currency": "string",
        "expected_close": "date",
        "probability": "number",
        "score": "int",
        "source": "string",
        "pipeline_id": "int",
        "stage": {"id": "int", "name": "string", "outcome": "string"},
        "owner_id": "int",
        "team_id": "int",
        "customer_id": "int",
    },
}

# The records a record brings with it (an order's customer and rep, ...).
RELATED: dict[str, tuple[str, ...]] = {
    "order": ("customer", "rep"),
    "visit": ("customer", "rep"),
    "contract": ("customer",),
    "invoice": ("customer", "order"),
    "opportunity": ("customer", "rep"),
    "customer": (),
    "rep": (),
}
# The payload key naming each record (runtime_context finds the records by these).
ID_KEYS: dict[str, str] = {record: f"{record}_id" for record in RECORDS}

# The company settings every context carries (sfa/company/settings.py).
SETTINGS: dict = {
    "discount_auto_max_pct": "number",
    "discount_single_max_pct": "number",
    "discount_escalation_hours": "number",
    # The renewal workflow's (docs/contracts.md): its trigger's offset, its reminders.
    "renewal_alert_days": "int",
    "renewal_reminder_days": ["int"],
    "renewal_reminder_channels": ["string"],
}
# The notification rules' switches and parameters, flat (runtime_context.notification_settings):
# `<rule>_enabled`, `<rule>_<parameter>` such as invoice_overdue_every_days.
NOTIFICATION_SETTINGS: dict = {
    key: kind
    for rule, params in NOTIFICATION_RULES.items()
    for key, kind in [(f"{rule}_enabled", "bool")] + [(f"{rule}_{p}", "int") for p in params]
}

# What started a run: "event", "schedule" or "date_field", and when.
TRIGGER: dict = {"kind": "string", "fired_at": "datetime"}

EVENT_BASE: dict = {
    "id": "string",
    "type": "string",
    "occurred_at": "datetime",
    "subject_kind": "string",
    "subject_id": "int",
    "actor_kind": "string",
    "actor_id": "int",
}


@dataclass(frozen=True)
class EventType:
    subject: str  # the kind of record the event is about (sfa/events)
    payload: dict
    description: str = ""

    def all_records(self) -> tuple[str, ...]:
        """The records a run of this event has: the subject, those the payload names,
        and what they bring (runtime_context.build's rule)."""
        subject = "rep" if self.subject == "user" else self.subject
        names = [subject] if subject in RECORDS else []
        names += [name for name, key in ID_KEYS.items() if key in self.payload]
        for name in list(names):
            names += RELATED.get(name, ())
        return tuple(dict.fromkeys(names))


def _kind(annotation) -> Shape:
    """The shape of a payload field's type (amounts: decimal strings in the stream)."""
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return _kind(args[0]) if len(args) == 1 else "any"
    if origin is list:
        return [_kind(args[0])] if args else ["any"]
    simple: list[tuple[type, str]] = [
        (bool, "bool"),
        (int, "int"),
        (float, "number"),
        (Decimal, "string"),
        (datetime, "datetime"),
        (date, "date"),
        (str, "string"),
    ]
    return next((kind for python, kind in simple if annotation is python), "any")


@cache
def event_types() -> dict[str, EventType]:
    """Every event type of the registry, with its payload's shape."""
    return {
        spec.name: EventType(
            spec.subject_kind,
            {name: _kind(f.annotation) for name, f in spec.payload.model_fields.items()},
            spec.description,
        )
        for spec in event_service.event_types()
    }


EVENT_TYPES: dict[str, EventType] = event_types()

# Date fields a `date_field` trigger can count from ("contract.end_date", offset_days -30):
# the runtime's whitelist (sfa/workflows/date_sources.py), the one list of them.
DATE_FIELDS: dict[str, tuple[str, ...]] = {
    record: source.columns for record, source in DATE_SOURCES.items()
}

# Roles an approver or assignee can name: the users' roles (finance among them).
ROLES = frozenset(role.value for role in Role)


def records_of_date_field(record: str) -> tuple[str, ...]:
    return (record, *RELATED.get(record, ()))


def _records(names: tuple[str, ...]) -> dict:
    # A record the catalog does not describe (an invoice, for its date fields) is "any".
    return {name: RECORDS.get(name, "any") for name in names}


def event_shape(event_type: str) -> dict:
    """`event` in the context: the event row and its payload."""
    return EVENT_BASE | {"payload": EVENT_TYPES[event_type].payload}


def event_context(event_type: str) -> dict:
    """The shape of the context of a run started by `event_type`."""
    return {"event": event_shape(event_type)} | _records(EVENT_TYPES[event_type].all_records())


def trigger_context(trigger) -> dict:
    """The shape of a run's context for a trigger (sfa.workflows.definition)."""
    base: dict = {
        "settings": SETTINGS | NOTIFICATION_SETTINGS,
        "vars": "any",
        "trigger": TRIGGER,
        "payload": "any",
    }
    if getattr(trigger, "event", None) in EVENT_TYPES:
        # `payload` repeats the event's payload at the top (a trigger filter's "payload.x").
        context = event_context(trigger.event)
        return base | context | {"payload": context["event"]["payload"]}
    if date_field := getattr(trigger, "date_field", None):
        record = date_field.split(".", 1)[0]
        if record in DATE_FIELDS:
            return base | _records(records_of_date_field(record))
    return base
