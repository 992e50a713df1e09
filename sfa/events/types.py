"""The catalogue of event types and their payloads (docs/events.md lists them too).

A payload carries the ids a consumer needs to find the records and the fields it most
often decides on, so that a simple consumer needs no query. Amounts are decimal strings
in the document's currency; times carry their UTC offset; days are the company's days.
"""

from datetime import date, datetime
from decimal import Decimal

from sfa.events.registry import Payload, define

# --- visits ---------------------------------------------------------------------------


class VisitPayload(Payload):
    visit_id: int
    rep_id: int
    customer_id: int
    at: datetime
    flags: list[str]
    trust_score: int | None = None


class CheckedIn(VisitPayload):
    verification_status: str
    distance_to_customer_m: float | None
    planned_visit_id: int | None


class CheckedOut(VisitPayload):
    dwell_seconds: int | None


class Flagged(VisitPayload):
    added: list[str]


VISIT_CHECKED_IN = define(
    "visit.checked_in",
    subject_kind="visit",
    payload=CheckedIn,
    description="A rep checked in at a customer (once per visit, whatever the retries).",
)
VISIT_CHECKED_OUT = define(
    "visit.checked_out",
    subject_kind="visit",
    payload=CheckedOut,
    description="A rep checked out of a visit; with its dwell time, flags and trust score.",
)
VISIT_FLAGGED = define(
    "visit.flagged",
    subject_kind="visit",
    payload=Flagged,
    description="A visit got one or more new suspicious-visit flags (`added`); `flags` is "
    "the visit's whole set now. Once per visit and set of flags.",
)

# --- customers ------------------------------------------------------------------------


class CustomerCreated(Payload):
    customer_id: int
    code: str
    name: str
    team_id: int | None
    distributor_id: int | None
    source: str  # "app" (a user or API key) or "erp" (pulled or pushed from the ERP)


class LocationChanged(Payload):
    """The new point (None: cleared) and the old one (None: it had none)."""

    customer_id: int
    lat: float | None
    lon: float | None
    old_lat: float | None
    old_lon: float | None
    moved_m: float | None = None  # metres from the old point (None: one of them is none)
    proposal_id: int | None = None  # the approved proposal that moved it
    visit_id: int | None = None  # the check-in whose position it got (it had none)


CUSTOMER_CREATED = define(
    "customer.created",
    subject_kind="customer",
    payload=CustomerCreated,
    description="A customer was created, in the app or from the ERP.",
)
CUSTOMER_LOCATION_CHANGED = define(
    "customer.location_changed",
    subject_kind="customer",
    payload=LocationChanged,
    description="A customer's map location really changed: edited, a proposal approved, "
    "or captured from the first accurate check-in at a customer without one.",
)

# --- orders ---------------------------------------------------------------------------


class OrderPayload(Payload):
    order_id: int
    rep_id: int
    customer_id: int
    state: str
    currency: str
    gross_amount: Decimal
    net_amount: Decimal
    discount_pct: Decimal
    approval_tier: str | None


class OrderDecided(OrderPayload):
    level: int | None  # the approval level decided; None for an automatic approval
    note: str | None


class OrderCancelled(OrderPayload):
    previous_state: str
    by_office: bool  # cancelled by someone other than its rep
    reason: str | None


class OrderCorrected(OrderPayload):
    note: str | None


class OrderSent(OrderPayload):
    erp_sale_id: str | None
    erp_number: str | None


class OrderInvoiced(OrderPayload):
    invoice_ids: list[int]


class DeliveryConfirmed(Payload):
    order_id: int
    rep_id: int
    customer_id: int
    delivery_date: date
    previous_date: date | None


def _order_type(name: str, payload: type[Payload], description: str) -> str:
    return define(name, subject_kind="order", payload=payload, description=description)


ORDER_SUBMITTED = _order_type(
    "order.submitted",
    OrderPayload,
    'A rep submitted an order; its discount approval (the workflow "Discount approval") '
    "runs in the same transaction.",
)
ORDER_APPROVED = _order_type(
    "order.approved",
    OrderDecided,
    "An order became approved (at once for a small discount, else by its last approver) "
    "and entered the ERP outbox.",
)
ORDER_REJECTED = _order_type(
    "order.rejected", OrderDecided, "An approver rejected an order's discount."
)
ORDER_CANCELLED = _order_type(
    "order.cancelled", OrderCancelled, "An order was cancelled by its rep or the office."
)
ORDER_CORRECTED = _order_type(
    "order.corrected",
    OrderCorrected,
    "The office corrected the quantities of an order the ERP refused and resent it.",
)
ORDER_SENT_TO_ERP = _order_type(
    "order.sent_to_erp", OrderSent, "The ERP confirmed it holds the order's sale."
)
ORDER_INVOICED = _order_type(
    "order.invoiced", OrderInvoiced, "The ERP invoiced the order (its invoices arrived)."
)
ORDER_PAID = _order_type("order.paid", OrderInvoiced, "Every invoice of the order is paid.")
DELIVERY_CONFIRMED = define(
    "delivery.confirmed",
    subject_kind="order",
    payload=DeliveryConfirmed,
    description="The ERP or an admin confirmed (or moved) an order's delivery date; once "
    "per order and date.",
)

# --- invoices -------------------------------------------------------------------------


class InvoiceOverdue(Payload):
    invoice_id: int
    customer_id: int
    number: str | None
    currency: str | None
    amount_to_pay: Decimal
    due_date: date
    days_overdue: int


INVOICE_OVERDUE = define(
    "invoice.overdue",
    subject_kind="invoice",
    payload=InvoiceOverdue,
    description="An unpaid invoice passed its due date (found by the daily job; once per "
    "invoice and due date).",
)

# --- field work: anomalies, plans, targets ---------------------------------------------


class AnomalyDetected(Payload):
    rep_id: int
    week: str  # ISO week, e.g. 2026-W47
    kind: str
    details: dict


class PlannedVisitMissed(Payload):
    planned_visit_id: int
    rep_id: int
    customer_id: int
    day: date
    source: str


class TargetProgress(Payload):
    """Both measures of a target (visits and sales) on one company day."""

    target_id: int
    rep_id: int
    day: date
    period_start: date
    period_end: date
    days_left: int
    visits_done: int
    visits_target: int
    visits_pct: float
    sales_done: Decimal
    sales_target: Decimal
    sales_pct: float


ANOMALY_DETECTED = define(
    "anomaly.detected",
    subject_kind="rep",
    payload=AnomalyDetected,
    description="A weekly anomaly was found for a rep (once per rep, ISO week and kind).",
)
PLANNED_VISIT_MISSED = define(
    "planned_visit.missed",
    subject_kind="planned_visit",
    payload=PlannedVisitMissed,
    description="A planned visit's company day ended without a check-in fulfilling it "
    "(found by the nightly job; once per planned visit).",
)
TARGET_PROGRESS = define(
    "target.progress",
    subject_kind="target",
    payload=TargetProgress,
    description="A rep's progress towards a target, once per target and company day.",
)

# --- announcements --------------------------------------------------------------------


class AnnouncementDue(Payload):
    announcement_id: int
    kind: str
    title: str
    team_ids: list[int] | None
    effective_at: datetime


ANNOUNCEMENT_DUE = define(
    "announcement.due",
    subject_kind="announcement",
    payload=AnnouncementDue,
    description="A price change or promotion reached its effective time (once each).",
)

# --- CRM ------------------------------------------------------------------------------


class StageChanged(Payload):
    opportunity_id: int
    pipeline_id: int
    from_stage_id: int | None
    to_stage_id: int
    owner_id: int | None
    customer_id: int | None
    # When the move happened (a late move is put where it belongs in the history), and
    # whether it changed the current stage (False: it was inserted before a later move).
    at: datetime | None = None
    current: bool = True
    outcome: str | None = None  # the new stage's: open, won, lost


class OpportunityCreated(Payload):
    """A lead or an opportunity; `lat`/`lon` the prospect's location when it has one."""

    opportunity_id: int
    kind: str  # lead or opportunity
    pipeline_id: int
    stage_id: int
    owner_id: int | None
    team_id: int | None
    customer_id: int | None
    contract_id: int | None
    source: str | None
    currency: str
    amount: Decimal
    lat: float | None = None
    lon: float | None = None


class ContractCreated(Payload):
    contract_id: int
    customer_id: int
    start_date: date
    end_date: date
    currency: str | None
    value: Decimal | None


OPPORTUNITY_CREATED = define(
    "opportunity.created",
    subject_kind="opportunity",
    payload=OpportunityCreated,
    description="A lead or an opportunity was created (once per opportunity, whatever the "
    'retries); the built-in "Lead assignment" workflow scores and assigns leads on it.',
)
OPPORTUNITY_STAGE_CHANGED = define(
    "opportunity.stage_changed",
    subject_kind="opportunity",
    payload=StageChanged,
    description="An opportunity moved to another stage of its pipeline: once per recorded "
    "move (a retried move, or one to the stage it was already in, is none), also a late move "
    "put before a later one (`current` false).",
)
CONTRACT_CREATED = define(
    "contract.created",
    subject_kind="contract",
    payload=ContractCreated,
    description="A contract was created (also a renewal's new contract).",
)
