"""What a workflow can react to and read: the event types, each with the context it gives.

A context is plain JSON data (dicts, lists, strings, numbers, booleans, null): the event
(`event`, `payload`), the records it names, loaded in full (`order` with its lines and
totals, `customer` with its class, distributor and payment record, `rep` with team and
manager, `visit` with its flags, `contract`, `opportunity`), `trigger` (what fired the
run), `vars` (what `set_variable` steps set) and, in an event wait's `match`, `incoming`
(the candidate event). docs/workflows.md documents every field.

Shapes: a field is a kind ("int", "number", "string", "bool", "date", "datetime",
"any"), an object (a dict of fields) or a list (a one-item list: the shape of each item).
Dates and times are ISO-8601 strings ("2026-11-16", "2026-11-16T02:00:00+00:00"), money
and percentages JSON numbers (sfa/workflows/context.py says how they stay exact).

The event types are listed here because sfa/events is built alongside (issue 14): at
merge the lead wires EVENT_TYPES to sfa.events.registry (one list of types, whose
payload JSON schemas become the `payload` shapes below).
"""

from dataclasses import dataclass, field

from sfa.users.models import Role
from sfa.workflows.date_sources import DATE_SOURCES

Shape = str | dict | list

LINE: dict = {
    "line_no": "int",
    "product_id": "int",
    "product_code": "string",
    "product_name": "string",
    "quantity": "number",
    "unit_price": "number",
    "discount_pct": "number",
    "net_price": "number",
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
        "discount_pct": "number",
        "approval_tier": "string",
        "note": "string",
        "erp_number": "string",
        "delivery_date": "date",
        "created_at": "datetime",
        "submitted_at": "datetime",
        "rep_id": "int",
        "customer_id": "int",
        "visit_id": "int",
        "line_count": "int",
        "lines": [LINE],
    },
    "customer": {
        "id": "int",
        "code": "string",
        "name": "string",
        "customer_class": "string",
        "is_distributor": "bool",
        "team_id": "int",
        "language": "string",
        "location_status": "string",
        "distributor": {
            "id": "int",
            "code": "string",
            "name": "string",
            "customer_class": "string",
        },
        "payment": {
            "open_invoices": "int",
            "open_amount": "number",
            "overdue_invoices": "int",
            "overdue_amount": "number",
            "oldest_overdue_days": "int",
        },
    },
    "rep": {
        "id": "int",
        "username": "string",
        "full_name": "string",
        "role": "string",
        "language": "string",
        "team": {"id": "int", "name": "string"},
        "manager": {"id": "int", "full_name": "string"},
    },
    "visit": {
        "id": "int",
        "rep_id": "int",
        "customer_id": "int",
        "check_in_at": "datetime",
        "check_out_at": "datetime",
        "local_day": "date",
        "dwell_seconds": "int",
        "verification_status": "string",
        "distance_to_customer_m": "number",
        "trust_score": "int",
        "planned_visit_id": "int",
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
        "stakeholders": "int",
        "renewal_owner_id": "int",
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
        "contract_id": "int",
    },
}

# The records a record names, loaded with it (an order's customer and rep, ...).
RELATED: dict[str, tuple[str, ...]] = {
    "order": ("customer", "rep"),
    "visit": ("customer", "rep"),
    "contract": ("customer",),
    "opportunity": ("customer", "rep"),
    "customer": (),
    "rep": (),
    # Not a catalog record (its fields are "any"): a date field's record only.
    "invoice": ("customer", "order"),
}

EVENT: dict = {
    "id": "int",
    "type": "string",
    "occurred_at": "datetime",
    "actor": "string",
    "subject": {"kind": "string", "id": "int"},
}
TRIGGER: dict = {"kind": "string", "fired_at": "datetime"}


@dataclass(frozen=True)
class EventType:
    subject: str  # the kind of record the event is about
    payload: dict
    # Records the context holds besides the subject's relations (e.g. an invoice's customer).
    records: tuple[str, ...] = field(default=())

    def all_records(self) -> tuple[str, ...]:
        names = [self.subject] if self.subject in RECORDS else []
        for name in (*names, *self.records):
            names += [name, *RELATED.get(name, ())]
        return tuple(dict.fromkeys(names))


_VISIT = {"visit_id": "int", "rep_id": "int", "customer_id": "int"}
_ORDER = {"order_id": "int", "rep_id": "int", "customer_id": "int"}

EVENT_TYPES: dict[str, EventType] = {
    "visit.checked_in": EventType(
        "visit", _VISIT | {"verification_status": "string", "distance_to_customer_m": "number"}
    ),
    "visit.checked_out": EventType("visit", _VISIT | {"dwell_seconds": "int"}),
    "visit.flagged": EventType("visit", _VISIT | {"flags": ["string"]}),
    "customer.created": EventType("customer", {"customer_id": "int", "team_id": "int"}),
    "customer.location_changed": EventType(
        "customer", {"customer_id": "int", "proposal_id": "int", "moved_m": "number"}
    ),
    "order.submitted": EventType(
        "order", _ORDER | {"net_amount": "number", "discount_pct": "number"}
    ),
    "order.approved": EventType("order", _ORDER | {"level": "int", "approver_id": "int"}),
    "order.rejected": EventType(
        "order", _ORDER | {"level": "int", "approver_id": "int", "note": "string"}
    ),
    "order.cancelled": EventType("order", _ORDER),
    "order.corrected": EventType("order", _ORDER),
    "order.sent_to_erp": EventType("order", _ORDER | {"erp_number": "string"}),
    "order.invoiced": EventType("order", _ORDER | {"invoice_id": "int"}),
    "order.paid": EventType("order", _ORDER | {"invoice_id": "int", "amount": "number"}),
    "invoice.overdue": EventType(
        "invoice",
        {
            "invoice_id": "int",
            "order_id": "int",
            "customer_id": "int",
            "number": "string",
            "due_date": "date",
            "amount_to_pay": "number",
            "days_overdue": "int",
        },
        records=("customer",),
    ),
    "delivery.confirmed": EventType("order", _ORDER | {"delivery_date": "date"}),
    "anomaly.detected": EventType(
        "rep", {"rep_id": "int", "week": "string", "code": "string", "value": "number"}
    ),
    "planned_visit.missed": EventType(
        "planned_visit",
        {"planned_visit_id": "int", "rep_id": "int", "customer_id": "int", "day": "date"},
        records=("customer", "rep"),
    ),
    "announcement.due": EventType(
        "announcement",
        {"announcement_id": "int", "kind": "string", "title": "string", "team_ids": ["int"]},
    ),
    "target.progress": EventType(
        "rep",
        {
            "target_id": "int",
            "rep_id": "int",
            "period_start": "date",
            "period_end": "date",
            "visits_pct": "number",
            "sales_pct": "number",
        },
    ),
    "opportunity.stage_changed": EventType(
        "opportunity",
        {
            "opportunity_id": "int",
            "from_stage_id": "int",
            "to_stage_id": "int",
            "outcome": "string",
        },
    ),
    "contract.created": EventType(
        "contract", {"contract_id": "int", "customer_id": "int", "acv": "number"}
    ),
}

# Date fields a `date_field` trigger can count from ("contract.end_date", offset_days -30):
# the runtime's whitelist (sfa/workflows/date_sources.py), the one list of them.
DATE_FIELDS: dict[str, tuple[str, ...]] = {
    record: source.columns for record, source in DATE_SOURCES.items()
}

# Roles an approver or assignee can name: the users' roles, and `finance` (the second
# approval level of large discounts, issue 14), which the runtime resolves.
ROLES = frozenset(role.value for role in Role) | {"finance"}


def records_of_date_field(record: str) -> tuple[str, ...]:
    return (record, *RELATED.get(record, ()))


def _records(names: tuple[str, ...]) -> dict:
    # A record the catalog does not describe (an invoice, for its date fields) is "any".
    return {name: RECORDS.get(name, "any") for name in names}


def event_context(event_type: str) -> dict:
    """The shape of the context of a run started by (or waiting on) `event_type`."""
    spec = EVENT_TYPES[event_type]
    return {"event": EVENT, "payload": spec.payload} | _records(spec.all_records())


def trigger_context(trigger) -> dict:
    """The shape of a run's context for a trigger (sfa.workflows.definition)."""
    base: dict = {"trigger": TRIGGER, "vars": "any"}
    if getattr(trigger, "event", None) in EVENT_TYPES:
        return base | event_context(trigger.event)
    if date_field := getattr(trigger, "date_field", None):
        record = date_field.split(".", 1)[0]
        if record in DATE_FIELDS:
            return base | _records(records_of_date_field(record))
    return base


def incoming_context(event_type: str) -> dict:
    """`incoming` in an event wait's `match`: the candidate event and its payload."""
    spec = EVENT_TYPES[event_type]
    return {"event": EVENT, "payload": spec.payload}
