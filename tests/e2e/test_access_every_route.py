"""Walks every route of the app with every role and a foreign object.

A rep and a manager of team A, and a read-only API key, try each route against team B's
objects. Each case says the exact status each of them gets: 403 (not allowed at all),
404 (the object is not visible to them: the same answer as for a missing id), or, for
lists, 200 with a page without any of team B's data. Without credentials every route
answers 401, the public ones their own exact status. The admin gets through, which
proves the foreign ids are real. A route missing from CASES fails the test: new routes
must be classified here.
"""

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from workflow_samples import finance_task, run_about, task_then_approval

from api import gate
from api.main import create_app
from crm_factories import make_contract, make_opportunity, make_pipeline, make_survey
from sfa.auth import console_sessions
from sfa.auth import service as auth_service
from sfa.auth.principal import Principal
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.contracts import staff as contract_staff
from sfa.customers import locations
from sfa.notifications import outbox
from sfa.notifications import targets as target_service
from sfa.notifications.models import Channel, NotificationState
from sfa.orders import repository as order_repository
from sfa.orders import service as order_service
from sfa.orders.models import OutboxState
from sfa.orders.service import LineIn, NewOrder
from sfa.plans import service as plan_service
from sfa.purchase_orders import service as po_service
from sfa.purchase_orders.document import HEADER_FIELDS, LINE_FIELDS
from sfa.tax.models import CustomerTaxIdentity
from sfa.tracking import repository as tracking_repository
from sfa.tracking import service as tracking_service
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn, Position
from sfa.webhooks import service as webhook_service
from sfa.workflows import service as workflow_service
from sfa.workflows.runtime_models import RunStatus, Task, WorkflowApproval

PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/v1/auth/token"),
    ("POST", "/v1/auth/refresh"),
    # Tracker apps authenticate with their registered device id, not a user or key
    # (tests/e2e/test_pings_api.py: an unknown device is refused with 401).
    ("GET", "/v1/osmand"),
    ("POST", "/v1/osmand"),
}
# Strings that appear only in team B's objects; a page containing one leaks.
FOREIGN_MARKERS = ("rep.b", "manager.b", "Team B", "B001", "BD01")


@dataclass(frozen=True)
class Case:
    body: dict | None = None
    form: dict | None = None
    is_list: bool = False  # answers with a page that must not leak foreign rows
    files: dict | None = None
    # Routes a company-wide API key with only the 'customers:read' scope may use.
    readonly_key_ok: bool = False
    # Who proves the foreign ids exist: the admin, or the owner for field-only actions.
    reached_by: str = "admin"
    # The exact answer to the rep and the manager of team A: by default a list is a page
    # (200) and an object of team B is not found (404); 403 where the role may not act.
    rep: int | None = None
    manager: int | None = None
    # The exact answer without credentials (public routes only; all others answer 401).
    anonymous: int = 401
    # Path parameters taken from other ids, e.g. {"order_id": "parked_order_id"}.
    path_ids: dict | None = None

    def expected(self, who: str) -> int:
        given = {"rep_a": self.rep, "manager_a": self.manager}[who]
        if given is not None:
            return given
        return 200 if self.is_list else 404


GPX = (
    b'<gpx xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>'
    b'<trkpt lat="-6.3" lon="106.9"><time>2026-11-16T02:00:00Z</time></trkpt>'
    b"</trkseg></trk></gpx>"
)

PO_BYTES = b"%PDF-1.4 purchase order of team B"

WORKFLOW = {
    "name": "Access test",
    "trigger": {"event": "order.submitted"},
    "start": "done",
    "steps": {"done": {"type": "end"}},
}

CASES = {
    ("GET", "/healthz"): Case(anonymous=200),
    ("GET", "/readyz"): Case(anonymous=200),
    ("POST", "/v1/auth/token"): Case(form={"username": "rep.b", "password": "wrong-password"}),
    ("POST", "/v1/auth/refresh"): Case(body={"refresh_token": "not-a-token"}),
    ("GET", "/v1/me"): Case(is_list=True),
    ("GET", "/v1/api-keys"): Case(rep=403, manager=403),
    ("POST", "/v1/api-keys"): Case(
        rep=403, manager=403, body={"name": "k", "scopes": ["customers:read"]}
    ),
    ("DELETE", "/v1/api-keys/{key_id}"): Case(rep=403, manager=403),
    ("GET", "/v1/users"): Case(is_list=True),
    ("POST", "/v1/users"): Case(
        rep=403,
        manager=403,
        body={
            "username": "intruder",
            "full_name": "I",
            "password": "password123",
            "role": "rep",
            "team_id": "{team_b}",
        },
    ),
    ("GET", "/v1/users/{user_id}"): Case(),
    ("PATCH", "/v1/users/{user_id}"): Case(rep=403, manager=403, body={"full_name": "Hacked"}),
    ("DELETE", "/v1/users/{user_id}"): Case(rep=403, manager=403),
    ("GET", "/v1/teams"): Case(is_list=True),
    ("POST", "/v1/teams"): Case(
        rep=403, manager=403, body={"name": "Team C", "manager_id": "{manager_b}"}
    ),
    ("GET", "/v1/teams/{team_id}"): Case(),
    ("PATCH", "/v1/teams/{team_id}"): Case(rep=403, manager=403, body={"name": "Renamed"}),
    ("DELETE", "/v1/teams/{team_id}"): Case(rep=403, manager=403),
    ("GET", "/v1/customers"): Case(is_list=True, readonly_key_ok=True),
    ("POST", "/v1/customers"): Case(
        rep=403, manager=403, body={"code": "NEW1", "name": "New", "team_id": "{team_b}"}
    ),
    ("GET", "/v1/customers/{customer_id}"): Case(readonly_key_ok=True),
    ("PATCH", "/v1/customers/{customer_id}"): Case(body={"name": "Hacked"}),
    ("DELETE", "/v1/customers/{customer_id}"): Case(rep=403),
    ("GET", "/v1/settings"): Case(is_list=True),
    ("PATCH", "/v1/settings"): Case(rep=403, manager=403, body={"verify_radius_m": 1000}),
    ("GET", "/v1/audit"): Case(rep=403, manager=403),
    ("GET", "/v1/osmand"): Case(anonymous=422),
    ("POST", "/v1/osmand"): Case(anonymous=422),
    ("POST", "/v1/visits/check-in"): Case(
        manager=403,
        body={
            "client_id": "6f1c1c1e-0000-4000-8000-000000000001",
            "customer_id": "{customer_id}",
            "at": "2026-11-16T09:00:00+07:00",
            "lat": -6.3,
            "lon": 106.9,
        },
    ),
    ("POST", "/v1/visits/{visit_id}/check-out"): Case(
        manager=403,
        body={"at": "2026-11-16T09:30:00+07:00", "lat": -6.3, "lon": 106.9},
        reached_by="rep_b",
    ),
    ("GET", "/v1/visits"): Case(is_list=True),
    ("GET", "/v1/visits/{visit_id}"): Case(),
    ("GET", "/v1/customers/{customer_id}/location-proposals"): Case(readonly_key_ok=True),
    ("POST", "/v1/customers/{customer_id}/location-proposals"): Case(
        body={"lat": -6.31, "lon": 106.91}
    ),
    ("POST", "/v1/customers/{customer_id}/location-proposals/{proposal_id}/approve"): Case(rep=403),
    ("POST", "/v1/customers/{customer_id}/location-proposals/{proposal_id}/reject"): Case(rep=403),
    # A rep posts their own pings: there is no foreign object to aim at.
    ("POST", "/v1/pings"): Case(rep=200, manager=403, body=[]),
    ("POST", "/v1/reps/{rep_id}/gpx"): Case(rep=403, manager=403, files={"file": ("t.gpx", GPX)}),
    ("GET", "/v1/devices"): Case(is_list=True),
    ("POST", "/v1/devices"): Case(rep=403, body={"id": "intruder-device", "rep_id": "{rep_id}"}),
    ("DELETE", "/v1/devices/{device_id}"): Case(rep=403),
    ("GET", "/v1/reps/{rep_id}/days/{day}"): Case(),
    ("GET", "/v1/me/days/{day}"): Case(manager=404, is_list=True),
    # Reports: pages of the caller's visible reps (a rep: themself); the readonly key
    # lacks 'reports:read' and is refused.
    ("GET", "/v1/reports/suspicious-visits"): Case(is_list=True),
    ("GET", "/v1/reports/weekly-anomalies"): Case(is_list=True),
    ("GET", "/v1/reports/plan-compliance"): Case(is_list=True),
    ("GET", "/v1/reports/team-days"): Case(is_list=True),
    # A manager computes for the reps of their own teams only: no foreign object to aim at.
    ("POST", "/v1/analytics/recompute"): Case(
        rep=403, body={"date_from": "2026-11-16", "date_to": "2026-11-22"}, is_list=True
    ),
    ("POST", "/v1/weekly-anomalies/compute"): Case(
        rep=403, body={"week": "2026-W47"}, is_list=True
    ),
    # The refresh job's parked days: administrators only (403 for everyone else).
    ("GET", "/v1/analytics/parked-days"): Case(rep=403, manager=403),
    ("POST", "/v1/analytics/parked-days/{rep_id}/{day}/retry"): Case(rep=403, manager=403),
    # Plans: managers plan for their teams' reps; reps only read their own.
    ("GET", "/v1/journey-plans"): Case(is_list=True),
    ("POST", "/v1/journey-plans"): Case(
        rep=403,
        body={
            "rep_id": "{rep_id}",
            "customer_id": "{customer_id}",
            "weekday": 2,
            "anchor_week": "2026-11-16",
            "valid_from": "2026-11-16",
        },
    ),
    ("GET", "/v1/journey-plans/{plan_id}"): Case(),
    ("PATCH", "/v1/journey-plans/{plan_id}"): Case(rep=403, body={"weekday": 3}),
    ("DELETE", "/v1/journey-plans/{plan_id}"): Case(rep=403),
    ("GET", "/v1/planned-visits"): Case(is_list=True),
    ("POST", "/v1/planned-visits"): Case(
        rep=403, body={"rep_id": "{rep_id}", "customer_id": "{customer_id}", "day": "{later_day}"}
    ),
    ("DELETE", "/v1/planned-visits/{planned_visit_id}"): Case(rep=403),
    # A manager expands the plans of their own teams' reps only: no foreign object to aim at.
    ("POST", "/v1/planned-visits/expand"): Case(
        rep=403, body={"date_from": "2026-11-16", "date_to": "2026-11-29"}, is_list=True
    ),
    ("GET", "/v1/reps/{rep_id}/visit-rate"): Case(),
    # Bulk import: company-wide (an admin, or a key with 'plans:write'); refused before
    # the body is read for everyone else.
    ("POST", "/v1/plans/import"): Case(
        rep=403,
        manager=403,
        body=[{"kind": "planned_visit", "rep": "rep.b", "customer": "B001", "day": "2026-11-16"}],
    ),
    # The event catalogue: any signed-in user or API key; types and schemas, no data.
    ("GET", "/v1/event-types"): Case(is_list=True, readonly_key_ok=True),
    # Catalog: company-wide, no team's object in it; pages/products must not leak team B.
    ("GET", "/v1/products"): Case(is_list=True),
    ("GET", "/v1/products/{product_id}"): Case(is_list=True),
    ("GET", "/v1/customers/{customer_id}/prices"): Case(),
    # Orders: {order_id} is rep B's submitted order waiting for manager B (tier single).
    ("POST", "/v1/orders"): Case(
        manager=403,
        body={
            "client_id": "6f1c1c1e-0000-4000-8000-000000000002",
            "customer_id": "{customer_id}",
            "lines": [{"product_id": "{product_id}", "quantity": 1}],
        },
    ),
    ("GET", "/v1/orders"): Case(is_list=True),
    ("GET", "/v1/orders/{order_id}"): Case(),
    # Submitting a submitted order again answers it unchanged (retries are safe).
    ("POST", "/v1/orders/{order_id}/submit"): Case(manager=403, reached_by="rep_b"),
    ("POST", "/v1/orders/{order_id}/cancel"): Case(manager=403, reached_by="rep_b"),
    # An order the ERP refused (parked): the admin corrects it.
    ("POST", "/v1/orders/{order_id}/correct"): Case(
        rep=403,
        manager=403,
        body={"lines": [{"line_no": 1, "quantity": "2"}]},
        path_ids={"order_id": "parked_order_id"},
    ),
    ("POST", "/v1/orders/{order_id}/approve"): Case(rep=403, body={"note": "ok"}),
    ("POST", "/v1/orders/{order_id}/reject"): Case(rep=403, body={"note": "no"}),
    ("GET", "/v1/approvals"): Case(rep=403, is_list=True),
    # ERP sync administration: the admin role only (403 for everyone else, keys included).
    ("GET", "/v1/sync/runs"): Case(rep=403, manager=403),
    ("POST", "/v1/sync/run"): Case(rep=403, manager=403),
    ("GET", "/v1/sync/outbox"): Case(rep=403, manager=403),
    ("POST", "/v1/sync/outbox/retry"): Case(rep=403, manager=403, body={"outbox_ids": [1]}),
    # Inbound ERP data: the 'erp:write' scope (an ERP's API key, or an admin) only.
    ("POST", "/v1/erp/products"): Case(rep=403, manager=403, body=[]),
    ("POST", "/v1/erp/prices"): Case(rep=403, manager=403, body=[]),
    ("POST", "/v1/erp/customers"): Case(rep=403, manager=403, body=[]),
    ("POST", "/v1/erp/invoices"): Case(rep=403, manager=403, body=[]),
    ("POST", "/v1/erp/payments"): Case(rep=403, manager=403, body=[]),
    # Notifications. The inbox is the caller's own (an API key has none: 403); marking
    # another user's notification read is a 404. {notification_id} is rep B's in-app row.
    ("GET", "/v1/me/notifications"): Case(is_list=True),
    ("POST", "/v1/me/notifications/{notification_id}/read"): Case(reached_by="rep_b"),
    # The outbox and the rule switches: the admin role only (never an API key).
    ("GET", "/v1/notifications"): Case(rep=403, manager=403),
    ("POST", "/v1/notifications/{notification_id}/resend"): Case(rep=403, manager=403),
    ("GET", "/v1/notification-rules"): Case(rep=403, manager=403),
    ("PATCH", "/v1/notification-rules/{rule}"): Case(rep=403, manager=403, body={"enabled": False}),
    # A manager announces to the teams they lead only.
    ("POST", "/v1/announcements"): Case(
        rep=403,
        manager=403,
        body={
            "kind": "promotion",
            "title": "t",
            "body": "b",
            "effective_at": "2026-12-01T09:00:00+07:00",
            "team_ids": ["{team_b}"],
        },
    ),
    # Targets: set by managers for their teams' reps; {target_id} is rep B's.
    ("POST", "/v1/targets"): Case(
        rep=403,
        body={
            "rep_id": "{rep_id}",
            "period_start": "2026-12-01",
            "period_end": "2026-12-31",
            "visits_target": 1,
            "sales_target": "1",
        },
    ),
    ("GET", "/v1/targets"): Case(is_list=True),
    ("GET", "/v1/targets/{target_id}/progress"): Case(),
    ("GET", "/v1/me/targets"): Case(is_list=True),
    # The offline sync fills a rep's own phone (a manager: 403): the full set of what
    # the rep sees, never team B's.
    ("GET", "/v1/me/sync"): Case(is_list=True, manager=403),
    # Warehouse exports: company-wide (an admin, or a key with 'exports:read').
    ("GET", "/v1/exports/{entity}"): Case(rep=403, manager=403),
    ("GET", "/v1/exports/{entity}/deletions"): Case(rep=403, manager=403),
    # Delivery dates: the 'erp:write' scope (an ERP's key, or an admin) only.
    ("PUT", "/v1/orders/{order_id}/delivery-date"): Case(
        rep=403, manager=403, body={"delivery_date": "2026-12-01"}
    ),
    # Contracts: visible as their customers are; written by managers of the customer's team.
    # {contract_id} is customer B's contract.
    ("GET", "/v1/contracts"): Case(is_list=True),
    ("POST", "/v1/contracts"): Case(
        rep=403,
        body={
            "customer_id": "{customer_id}",
            "title": "t",
            "acv": "1000",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
    ),
    ("GET", "/v1/contracts/{contract_id}"): Case(),
    ("PATCH", "/v1/contracts/{contract_id}"): Case(rep=403, body={"title": "Hacked"}),
    ("POST", "/v1/contracts/{contract_id}/route"): Case(rep=403),
    ("GET", "/v1/contracts/{contract_id}/decisions"): Case(),
    ("GET", "/v1/contracts/{contract_id}/history"): Case(),
    ("POST", "/v1/contracts/{contract_id}/renew"): Case(rep=403, body={}),
    # Renewal staff: company-wide, kept by admins; {staff_user_id} is the admin.
    ("GET", "/v1/contract-staff"): Case(is_list=True),
    ("POST", "/v1/contract-staff"): Case(
        rep=403, manager=403, body={"user_id": "{manager_b}", "role": "account_manager"}
    ),
    ("DELETE", "/v1/contract-staff/{staff_user_id}/{role}"): Case(rep=403, manager=403),
    # Pipelines: company configuration everyone reads (no team's object in it); admins edit.
    ("GET", "/v1/pipelines"): Case(is_list=True),
    ("POST", "/v1/pipelines"): Case(
        rep=403,
        manager=403,
        body={
            "name": "Intruder",
            "stages": [
                {"name": "Open", "probability": "10"},
                {"name": "Won", "probability": "100", "outcome": "won"},
                {"name": "Lost", "probability": "0", "outcome": "lost"},
            ],
        },
    ),
    ("GET", "/v1/pipelines/{pipeline_id}"): Case(is_list=True),
    ("PATCH", "/v1/pipelines/{pipeline_id}"): Case(
        rep=403, manager=403, body={"name": "Renamed pipeline"}
    ),
    # Opportunities: a rep's own data; {opportunity_id} is rep B's.
    ("GET", "/v1/opportunities"): Case(is_list=True),
    # A rep creates only their own (403); rep B is not visible to manager A (404).
    ("POST", "/v1/opportunities"): Case(
        rep=403, body={"title": "t", "prospect_name": "p", "owner_id": "{rep_id}"}
    ),
    ("GET", "/v1/opportunities/{opportunity_id}"): Case(),
    ("PATCH", "/v1/opportunities/{opportunity_id}"): Case(body={"title": "Hacked"}),
    ("POST", "/v1/opportunities/{opportunity_id}/move"): Case(body={"stage_id": "{stage_id}"}),
    ("GET", "/v1/opportunities/{opportunity_id}/history"): Case(),
    # Pulse surveys: {survey_id} is team B's; reps answer only their own team's.
    # Reps answer surveys but do not read them or their results (403).
    ("GET", "/v1/surveys"): Case(is_list=True, rep=403),
    ("POST", "/v1/surveys"): Case(
        rep=403,
        body={
            "team_id": "{team_b}",
            "title": "t",
            "cadence": "weekly",
            "questions": [{"kind": "text", "text": "q"}],
        },
    ),
    ("GET", "/v1/surveys/{survey_id}"): Case(rep=403),
    ("PATCH", "/v1/surveys/{survey_id}"): Case(rep=403, body={"title": "Hacked"}),
    ("GET", "/v1/surveys/{survey_id}/results"): Case(rep=403),
    # Only reps answer (a manager: 403).
    ("GET", "/v1/me/surveys"): Case(is_list=True, manager=403),
    ("POST", "/v1/me/surveys/{survey_id}/responses"): Case(
        manager=403, body={"answers": {"q1": "fine"}}, reached_by="rep_b"
    ),
    ("GET", "/v1/reports/renewals"): Case(is_list=True),
    ("GET", "/v1/reports/pipeline"): Case(is_list=True),
    ("GET", "/v1/reports/enps"): Case(is_list=True, rep=403),
    # Purchase-order intake: admins and managers (reps and read-only keys: 403). {intake_id}
    # is a ready draft for team B's customer; uploading its bytes again is refused to
    # whoever cannot see it (no leak through deduplication: 403, not the intake).
    ("POST", "/v1/purchase-orders/intake"): Case(
        rep=403, manager=403, files={"file": ("po.pdf", PO_BYTES)}
    ),
    ("GET", "/v1/purchase-orders/intakes"): Case(rep=403, is_list=True),
    ("GET", "/v1/purchase-orders/intakes/{intake_id}"): Case(rep=403),
    ("PATCH", "/v1/purchase-orders/intakes/{intake_id}"): Case(
        rep=403, body={"rep_id": "{rep_id}"}
    ),
    ("POST", "/v1/purchase-orders/intakes/{intake_id}/confirm"): Case(rep=403),
    # Tax identities and the Coretax export: the admin role (or a key with the scopes).
    ("PUT", "/v1/customers/{customer_id}/tax-identity"): Case(
        rep=403,
        manager=403,
        body={"id_type": "npwp", "number": "0213456789012345", "tax_address": "Jl. B"},
    ),
    ("GET", "/v1/customers/{customer_id}/tax-identity"): Case(rep=403, manager=403),
    ("PUT", "/v1/products/{product_id}/tax-code"): Case(
        rep=403, manager=403, body={"goods_code": "000000", "unit_code": "UM.0021"}
    ),
    ("GET", "/v1/tax-invoices"): Case(rep=403, manager=403),
    ("GET", "/v1/tax-invoices/export"): Case(rep=403, manager=403),
    # Workflows: company configuration without any team's data; managers read, only
    # admins write and dry-run. {workflow_id} has version 1 published and a draft 2.
    ("GET", "/v1/workflows"): Case(is_list=True, rep=403),
    ("POST", "/v1/workflows"): Case(
        rep=403, manager=403, body={"key": "intruder", "definition": WORKFLOW}
    ),
    ("GET", "/v1/workflows/{workflow_id}"): Case(rep=403, manager=200),
    ("PUT", "/v1/workflows/{workflow_id}"): Case(rep=403, manager=403, body={"enabled": False}),
    ("POST", "/v1/workflows/{workflow_id}/publish"): Case(
        rep=403, manager=403, body={"version": 1}
    ),
    ("GET", "/v1/workflows/{workflow_id}/versions"): Case(rep=403, manager=200),
    ("GET", "/v1/workflows/{workflow_id}/diff"): Case(rep=403, manager=200),
    ("POST", "/v1/workflows/{workflow_id}/test"): Case(
        rep=403, manager=403, body={"context": {"order": {"id": 1, "risk_pct": 1}}}
    ),
    # Workflow runs: admins all, managers their teams' (reps and keys: 403); retrying and
    # cancelling are the admins'. {run_id} waits on manager B's approval with rep B's
    # task done before it; {failed_run_id} failed (nobody holds the finance role).
    ("GET", "/v1/workflow-runs"): Case(rep=403, is_list=True),
    ("GET", "/v1/workflow-runs/{run_id}"): Case(rep=403),
    ("POST", "/v1/workflow-runs/{run_id}/retry"): Case(
        rep=403, manager=403, path_ids={"run_id": "failed_run_id"}
    ),
    ("POST", "/v1/workflow-runs/{run_id}/cancel"): Case(rep=403, manager=403),
    # Tasks: the assignee's, their team managers', the admins'; {task_id} is rep B's.
    ("GET", "/v1/tasks"): Case(is_list=True),
    ("POST", "/v1/tasks/{task_id}/complete"): Case(),
    # Approvals: those the caller may decide; {approval_id} is manager B's.
    ("GET", "/v1/workflow-approvals"): Case(is_list=True),
    ("POST", "/v1/workflow-approvals/{approval_id}/approve"): Case(body={"note": "n"}),
    ("POST", "/v1/workflow-approvals/{approval_id}/reject"): Case(body={"note": "n"}),
    # A workflow's numbers: a manager's count only their teams' runs (none of team B's).
    ("GET", "/v1/workflows/{workflow_id}/stats"): Case(rep=403, is_list=True),
    # Webhooks: company configuration, admins and keys with webhooks:write only.
    ("GET", "/v1/webhooks"): Case(rep=403, manager=403, is_list=True),
    ("POST", "/v1/webhooks"): Case(
        rep=403,
        manager=403,
        body={"name": "intruder", "url": "https://93.184.216.34/x", "event_types": ["order.paid"]},
    ),
    ("GET", "/v1/webhooks/{webhook_id}"): Case(rep=403, manager=403),
    ("PATCH", "/v1/webhooks/{webhook_id}"): Case(
        rep=403, manager=403, body={"description": "Hacked"}
    ),
    ("DELETE", "/v1/webhooks/{webhook_id}"): Case(rep=403, manager=403),
    ("POST", "/v1/webhooks/{webhook_id}/rotate-secret"): Case(
        rep=403, manager=403, body={"keep_old_for_hours": 1}
    ),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"): Case(rep=403, manager=403, is_list=True),
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver"): Case(
        rep=403, manager=403
    ),
}

# From the OpenAPI document: FastAPI includes routers lazily, so app.routes does not list
# every endpoint; the schema does (no route of ours is hidden from it).
ROUTES = sorted(
    (method.upper(), path)
    for path, operations in create_app().openapi()["paths"].items()
    for method in operations
)


def test_every_route_is_classified():
    assert set(ROUTES) == set(CASES), "classify new routes in CASES"


def test_public_routes_that_take_a_body_pass_the_gate():
    """api/gate.py refuses bodies without credentials on every other /v1/ path."""
    with_body = {path for method, path in PUBLIC if method in {"POST", "PUT", "PATCH"}}
    assert {p for p in with_body if p.startswith("/v1/")} == set(gate.PUBLIC_PATHS)


def _visit(db, rep, customer, hour: int):
    visit, _ = visit_service.check_in(
        db,
        principal=auth_service.principal_for_user(db, rep),
        data=CheckIn(
            client_id=uuid.uuid4(),
            customer_id=customer.id,
            position=Position(at=datetime(2026, 11, 16, hour, tzinfo=UTC), lat=-6.3, lon=106.9),
        ),
    )
    return visit


def _plan(db, world, rep, customer, weekday: int):
    return plan_service.create_plan(
        db,
        principal=auth_service.principal_for_user(db, world.admin),
        data={
            "rep_id": rep.id,
            "customer_id": customer.id,
            "weekday": weekday,
            "anchor_week": date(2026, 11, 16),
            "valid_from": date(2026, 11, 16),
        },
    )


def _ids(world, db) -> dict:
    """Team B's objects of every kind that a path can name."""
    admin = auth_service.principal_for_user(db, world.admin)
    rep_b = auth_service.principal_for_user(db, world.rep_b)
    key, _ = auth_service.create_api_key(db, actor=admin, name="erp", scopes=["customers:read"])
    visit = _visit(db, world.rep_b, world.customer_b, 2)
    proposal = locations.propose(
        db,
        principal=rep_b,
        customer_id=world.customer_b.id,
        lat=-6.3002,
        lon=106.9002,
        accuracy_m=5,
        note=None,
        visit_id=None,
    )
    device = tracking_service.register_device(
        db, principal=admin, device_id="rep-b-phone", rep_id=world.rep_b.id, label=None
    )
    plan = _plan(db, world, world.rep_b, world.customer_b, 1)
    tomorrow = plan_service.company_today(db) + timedelta(days=1)
    planned = plan_service.create_planned_visit(
        db, principal=admin, rep_id=world.rep_b.id, customer_id=world.distributor_b.id, day=tomorrow
    )
    product = Product(
        external_id="erp-p1",
        code="P1",
        name="Produk",
        unit="pcs",
        list_price=Decimal("25000"),
        currency="IDR",
    )
    db.add(product)
    db.flush()
    order, _ = order_service.create_order(
        db,
        principal=rep_b,
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=world.customer_b.id,
            lines=(LineIn(product.id, Decimal(1), Decimal(10)),),
        ),
    )
    parked, _ = order_service.create_order(
        db,
        principal=rep_b,
        data=NewOrder(
            client_id=uuid.uuid4(),
            customer_id=world.customer_b.id,
            lines=(LineIn(product.id, Decimal(3)),),
        ),
    )
    order_repository.outbox_for(db, parked.id).state = OutboxState.parked
    notification = outbox.enqueue(
        db,
        settings=company_service.get_company_settings(db),
        rule="order_placed",
        channel=Channel.in_app,
        template="order_placed_rep",
        dedupe_key="access-test:rep_b:in_app",
        language="en",
        payload={"order_ref": f"#{order.id}", "customer_name": "x", "distributor_name": "y"},
        due_at=datetime.now(UTC),
        recipient_user_id=world.rep_b.id,
        entity="order",
        entity_id=order.id,
    )
    notification.state, notification.sent_at = NotificationState.sent, datetime.now(UTC)
    target = target_service.create_target(
        db,
        principal=admin,
        rep_id=world.rep_b.id,
        period_start=date(2026, 11, 16),
        period_end=date(2026, 11, 22),
        visits_target=5,
        sales_target=Decimal(100),
    )
    crm = _crm_ids(world, db) | _workflow_ids(world, db, admin) | _webhook_ids(db, admin)
    intake = _ready_intake(db, admin, world, product)
    db.add(
        CustomerTaxIdentity(
            customer_id=world.customer_b.id,
            id_type="npwp",
            number="0534567890123456",
            tku="000000",
            tax_name="B",
            tax_address="B",
        )
    )
    # Rep B's check-in day, parked by the refresh job (the retry route aims at it).
    tracking_repository.park(db, world.rep_b.id, [date(2026, 11, 16)], "tracking: test")
    db.commit()
    return crm | {
        "intake_id": intake.id,
        "product_id": product.id,
        "order_id": order.id,
        "parked_order_id": parked.id,
        "notification_id": notification.id,
        "target_id": target.id,
        "rule": "order_placed",
        "user_id": world.rep_b.id,
        "team_id": world.team_b.id,
        "customer_id": world.customer_b.id,
        "key_id": key.id,
        "rep_id": world.rep_b.id,
        "team_b": world.team_b.id,
        "manager_b": world.manager_b.id,
        "visit_id": visit.id,
        "proposal_id": proposal.id,
        "device_id": device.id,
        "day": "2026-11-16",
        "plan_id": plan.id,
        "planned_visit_id": planned.id,
        "entity": "customers",
        "later_day": (tomorrow + timedelta(days=1)).isoformat(),
    }


def _webhook_ids(db, admin) -> dict:
    """A subscription (to a public address literal: checked, never called here) and one
    delivery of it."""
    endpoint, _ = webhook_service.create_endpoint(
        db,
        principal=admin,
        name="access-test",
        url="https://93.184.216.34/hook",
        event_types=["order.approved"],
    )
    _, delivery_id = webhook_service.enqueue_workflow_call(
        db,
        endpoint_name="access-test",
        key="access-test",
        subject="order:1",
        data={},
        now=datetime.now(UTC),
    )
    return {"webhook_id": endpoint.id, "delivery_id": delivery_id}


def _authored_workflow(db, admin):
    """A workflow with version 1 published and a draft 2 (so that a diff has two)."""
    workflow = workflow_service.create_workflow(
        db, principal=admin, key="access-test", definition=WORKFLOW, enabled=True
    )
    workflow_service.publish(db, principal=admin, workflow_id=workflow.id, number=1)
    workflow_service.update_workflow(
        db,
        principal=admin,
        workflow_id=workflow.id,
        definition=WORKFLOW | {"name": "Access test, edited"},
        enabled=None,
    )
    return workflow


def _crm_ids(world, db) -> dict:
    """Team B's contract, opportunity and survey; a pipeline; the admin as renewal staff."""
    contract = make_contract(db, world.admin, world.customer_b, 100_000_000)
    _, stages = make_pipeline(db, world.admin)
    opportunity = make_opportunity(db, world.rep_b)
    survey = make_survey(
        db, world.manager_b, world.team_b, questions=[{"kind": "text", "text": "q"}]
    )
    admin = auth_service.principal_for_user(db, world.admin)
    contract_staff.add_staff(db, principal=admin, user_id=world.admin.id, role="account_manager")
    return {
        "contract_id": contract.id,
        "pipeline_id": opportunity.pipeline_id,
        "stage_id": stages["Qualified"].id,
        "opportunity_id": opportunity.id,
        "survey_id": survey.id,
        "staff_user_id": world.admin.id,
        "role": "account_manager",
    }


def _workflow_ids(world, db, admin) -> dict:
    """Team B's runs (one waiting on manager B with rep B's task, one failed), the task,
    the approval, and their workflow (with versions: published 1, draft 2)."""
    workflow = _authored_workflow(db, admin)
    waiting = run_about(db, workflow, task_then_approval(world.rep_b.id), world.rep_b)
    failed = run_about(db, workflow, finance_task(), world.rep_b)
    task = db.scalar(select(Task).where(Task.run_id == waiting.id))
    approval = db.scalar(select(WorkflowApproval).where(WorkflowApproval.run_id == waiting.id))
    assert task is not None and approval is not None and failed.status is RunStatus.failed
    return {
        "workflow_id": workflow.id,
        "run_id": waiting.id,
        "failed_run_id": failed.id,
        "task_id": task.id,
        "approval_id": approval.id,
    }


def _ready_intake(db, admin, world, product, team: str = "b"):
    """A draft with nothing left to review, for team B's customer and rep (or A's)."""
    customer, rep = getattr(world, f"customer_{team}"), getattr(world, f"rep_{team}")
    intake, _ = po_service.receive(
        db,
        principal=admin,
        content=PO_BYTES.replace(b"team B", f"team {team.upper()}".encode()),
        filename="po.pdf",
        content_type="application/pdf",
        max_bytes=10**6,
    )
    value = {"value": None, "confidence": 1.0, "region": None}
    header = {name: dict(value) for name in HEADER_FIELDS}
    header["po_number"]["value"], header["po_date"]["value"] = "PO-B1", "2026-11-20"
    line = {name: dict(value) for name in LINE_FIELDS}
    line["quantity"]["value"] = "1"
    line.update(
        product_id=product.id,
        product_score=1.0,
        product_corrected=True,
        unit_factor="1",
        our_quantity="1",
    )
    intake.customer_id, intake.rep_id, intake.state = customer.id, rep.id, "ready"
    intake.draft = {
        "header": header,
        "customer": {"id": customer.id, "score": 1.0, "by": "person", "candidates": []},
        "lines": [line],
        "checks": [],
    }
    db.flush()
    return intake


def _leaks(payload, world) -> list:
    """Team B's ids or names anywhere in a response body."""
    foreign = {
        "rep_id": {world.rep_b.id, world.manager_b.id},
        "user_id": {world.rep_b.id, world.manager_b.id},
        "team_id": {world.team_b.id},
        "customer_id": {world.customer_b.id, world.distributor_b.id},
    }
    found = []

    def walk(node):
        if isinstance(node, dict):
            found.extend(
                (k, v)
                for k, v in node.items()
                # a JSON schema's "customer_id" is a dict (GET /v1/event-types)
                if not isinstance(v, dict | list) and v in foreign.get(k, ())
            )
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str) and node in FOREIGN_MARKERS:
            found.append(node)

    walk(payload)
    return found


def _fill(value, ids):
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


def _call(client, method, path, case, ids, headers):
    url = path.format(**(ids | {k: ids[v] for k, v in (case.path_ids or {}).items()}))
    kwargs = {"headers": headers}
    if case.body is not None:
        kwargs["json"] = _fill(case.body, ids)
    if case.form is not None:
        kwargs["data"] = case.form
    if case.files is not None:
        kwargs["files"] = case.files
    return client.request(method, url, **kwargs)


def _readonly_key_headers(db, world) -> dict[str, str]:
    admin = auth_service.principal_for_user(db, world.admin)
    _, plaintext = auth_service.create_api_key(
        db, actor=admin, name="ro", scopes=["customers:read"]
    )
    db.commit()
    return {"X-API-Key": plaintext}


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_anonymous_is_refused(client, world, db, method, path):
    case = CASES[(method, path)]
    ids = _ids(world, db)
    response = _call(client, method, path, case, ids, {})
    assert response.status_code == case.anonymous, response.text
    if (method, path) not in PUBLIC:
        assert response.json()["error"]["code"] == "unauthenticated"
    elif case.anonymous >= 400:
        assert "error" in response.json(), response.text


@pytest.mark.parametrize("who", ["rep_a", "manager_a", "readonly_key"])
@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r not in PUBLIC])
def test_foreign_objects_are_out_of_reach(client, world, db, who, method, path):
    case = CASES[(method, path)]
    ids = _ids(world, db)
    headers = _readonly_key_headers(db, world) if who == "readonly_key" else world.headers(who)
    response = _call(client, method, path, case, ids, headers)
    if who == "readonly_key":
        # API keys are company-wide (an ERP reads every customer): in scope, it gets through;
        # out of scope (everything but reading customers) it is refused.
        expected = 200 if case.readonly_key_ok else 403
        assert response.status_code == expected, (who, method, path, response.text)
        if expected == 200:
            return
    else:
        expected = case.expected(who)
        assert response.status_code == expected, (who, method, path, response.text)
    if expected == 200:
        assert not _leaks(response.json(), world), response.text
        return
    # Nothing changed behind the refusal.
    db.expire_all()
    assert db.get(type(world.rep_b), world.rep_b.id).full_name == "Rep.B"
    assert db.get(type(world.customer_b), world.customer_b.id).name == "Toko B001"
    assert db.get(type(world.team_b), world.team_b.id).name == "Team B"


# Routes that name an object in their path ({day} alone names none).
@pytest.mark.parametrize(
    ("method", "path"), [r for r in ROUTES if "{" in r[1].replace("{day}", "")]
)
def test_owner_or_admin_reaches_the_same_objects(client, world, db, method, path):
    """Proves the ids used above exist: the refusals are about visibility, not typos."""
    ids = _ids(world, db)
    if path == "/v1/teams/{team_id}" and method == "DELETE":
        pytest.skip("team B has members; deleting it is refused with 409 by design")
    if path == "/v1/customers/{customer_id}" and method == "DELETE":
        ids["customer_id"] = world.customer_a.id  # customer_b is referenced by nobody either
    case = CASES[(method, path)]
    response = _call(client, method, path, case, ids, world.headers(case.reached_by))
    assert response.status_code < 300, (method, path, response.text)


def test_principal_team_scope(db, world):
    rep = auth_service.principal_for_user(db, world.rep_a)
    manager = auth_service.principal_for_user(db, world.manager_a)
    admin = auth_service.principal_for_user(db, world.admin)
    assert rep.team_ids == {world.team_a.id}
    assert manager.team_ids == {world.team_a.id}
    assert admin.team_ids is None
    assert isinstance(rep, Principal) and rep.can_see_team(world.team_a.id)
    assert not rep.can_see_team(world.team_b.id)


# --- the manager console (api/console): HTML pages on a cookie session -------------------
# Not in the OpenAPI schema; listed by api.console.routes(). Anonymous callers are sent to
# the login page; reps cannot log in at all (tests/e2e/test_console_pages.py). Manager A
# aims at team B's objects: 403/404, or a page that shows nothing of team B. "session"
# routes act on the caller's own session only (logout, language).
CONSOLE_PUBLIC = {("GET", "/console"), ("GET", "/console/login"), ("POST", "/console/login")}
CONSOLE_CASES = {
    ("GET", "/console"): "public",
    ("GET", "/console/login"): "public",
    ("POST", "/console/login"): "public",
    ("POST", "/console/logout"): "session",
    ("POST", "/console/language"): "session",
    ("GET", "/console/today"): "page",
    ("GET", "/console/today/panel"): "page",
    ("GET", "/console/suspicious"): "page",
    ("GET", "/console/suspicious.csv"): "page",
    ("GET", "/console/anomalies"): "page",
    ("GET", "/console/anomalies.csv"): "page",
    ("GET", "/console/plan-compliance"): "page",
    ("GET", "/console/plan-compliance.csv"): "page",
    ("GET", "/console/team-days"): "page",
    ("GET", "/console/team-days.csv"): "page",
    ("GET", "/console/approvals"): "page",
    ("GET", "/console/orders"): "page",
    ("GET", "/console/reps/{rep_id}/days/{day}"): "object",
    ("GET", "/console/reps/{rep_id}/days/{day}/track"): "object",
    ("POST", "/console/approvals/orders/{order_id}/approve"): "object",
    ("POST", "/console/approvals/orders/{order_id}/reject"): "object",
    ("POST", "/console/approvals/customers/{customer_id}/locations/{proposal_id}/approve"): (
        "object"
    ),
    ("POST", "/console/approvals/customers/{customer_id}/locations/{proposal_id}/reject"): (
        "object"
    ),
    # ERP administration: the admin role only.
    ("POST", "/console/orders/outbox/{outbox_id}/retry"): "object",
    # Pipeline board and metrics, renewals, team pulse: {opportunity_id} is rep B's deal,
    # {contract_id} customer B's contract.
    ("GET", "/console/pipeline"): "page",
    ("POST", "/console/pipeline/opportunities/{opportunity_id}/move"): "object",
    ("GET", "/console/pipeline/metrics"): "page",
    ("GET", "/console/pipeline/metrics.csv"): "page",
    ("GET", "/console/renewals"): "page",
    ("POST", "/console/renewals/contracts/{contract_id}/route"): "object",
    ("GET", "/console/pulse"): "page",
    # Workflows are company configuration (a manager reads them; the statistics count
    # their teams' runs only); switching and publishing are the admins'. Runs and tasks:
    # {run_id} and {task_id} are team B's; retry and cancel are the admins'.
    ("GET", "/console/workflows"): "page",
    ("GET", "/console/workflows/{workflow_id}"): "page",
    ("POST", "/console/workflows/{workflow_id}/enable"): "object",
    ("POST", "/console/workflows/{workflow_id}/disable"): "object",
    ("POST", "/console/workflows/{workflow_id}/publish"): "object",
    ("GET", "/console/workflow-runs"): "page",
    ("GET", "/console/workflow-runs/{run_id}"): "object",
    ("POST", "/console/workflow-runs/{run_id}/retry"): "object",
    ("POST", "/console/workflow-runs/{run_id}/cancel"): "object",
    ("GET", "/console/tasks"): "page",
    ("POST", "/console/tasks/{task_id}/complete"): "object",
}
# The form a console POST sends (with the path's ids filled in), where it needs one.
CONSOLE_FORMS = {
    ("POST", "/console/pipeline/opportunities/{opportunity_id}/move"): {"stage_id": "{stage_id}"},
    ("POST", "/console/workflows/{workflow_id}/publish"): {"version": "2"},  # the draft
}
# A path id that names another of the objects: only a failed run can be retried.
CONSOLE_PATH_IDS = {("POST", "/console/workflow-runs/{run_id}/retry"): {"run_id": "failed_run_id"}}


# Without a session: the entry sends to the login page, which shows; a login without the
# form's token is refused.
CONSOLE_PUBLIC_STATUS = {
    ("GET", "/console"): 303,
    ("GET", "/console/login"): 200,
    ("POST", "/console/login"): 403,
}
# Manager A on team B's objects: not found, like a missing id; the ERP outbox, the
# workflows' switch and versions and the runs' retry and cancel are the admins' alone
# (403 whatever the id).
CONSOLE_REFUSED = {
    ("POST", "/console/orders/outbox/{outbox_id}/retry"): 403,
    ("POST", "/console/workflows/{workflow_id}/enable"): 403,
    ("POST", "/console/workflows/{workflow_id}/disable"): 403,
    ("POST", "/console/workflows/{workflow_id}/publish"): 403,
    ("POST", "/console/workflow-runs/{run_id}/retry"): 403,
    ("POST", "/console/workflow-runs/{run_id}/cancel"): 403,
}


def test_every_console_route_is_classified():
    from api import console

    assert set(console.routes()) == set(CONSOLE_CASES), "classify new console routes"


@contextlib.contextmanager
def _console_client(app, db, user=None):
    """A browser-like client (HTTPS: the session cookie is Secure) with a console session
    of `user` (the login form itself is tested in test_console_pages.py); yields it with
    the session's CSRF token."""
    with TestClient(app, base_url="https://testserver", raise_server_exceptions=False) as client:
        if user is None:
            yield client, ""
            return
        opened = console_sessions.open_for_user(db, user=user)
        db.commit()
        client.headers["cookie"] = f"sfa_console={opened.token}"
        yield client, opened.row.csrf_token


def _console_call(client, csrf, method, path, ids):
    named = {k: ids[v] for k, v in CONSOLE_PATH_IDS.get((method, path), {}).items()}
    url = path.format(**ids | {"outbox_id": 1} | named)
    headers = {"X-CSRF-Token": csrf} if method == "POST" and csrf else {}
    form = {k: v.format(**ids) for k, v in CONSOLE_FORMS.get((method, path), {}).items()}
    return client.request(method, url, headers=headers, data=form, follow_redirects=False)


@pytest.mark.parametrize(("method", "path"), sorted(CONSOLE_CASES))
def test_console_anonymous_goes_to_the_login_page(app, world, db, method, path):
    ids = _ids(world, db)
    with _console_client(app, db) as (client, _):
        response = _console_call(client, "", method, path, ids)
    if CONSOLE_CASES[(method, path)] == "public":
        assert response.status_code == CONSOLE_PUBLIC_STATUS[(method, path)], response.text
    else:
        assert response.status_code == 303, response.text
        assert response.headers["location"].startswith("/console/login")


@pytest.mark.parametrize(
    ("method", "path"), sorted(k for k, v in CONSOLE_CASES.items() if v in ("page", "object"))
)
def test_console_foreign_objects_are_out_of_reach(app, world, db, method, path):
    ids = _ids(world, db)
    with _console_client(app, db, world.manager_a) as (client, csrf):
        response = _console_call(client, csrf, method, path, ids)
    if CONSOLE_CASES[(method, path)] == "page":
        assert response.status_code == 200, response.text
        assert not [m for m in FOREIGN_MARKERS if m in response.text], response.text
        return
    expected = CONSOLE_REFUSED.get((method, path), 404)
    assert response.status_code == expected, (method, path, response.text)
    with _console_client(app, db, world.admin) as (admin, admin_csrf):
        reached = _console_call(admin, admin_csrf, method, path, ids)
    assert reached.status_code == 200, (method, path, reached.text)


# Ids in request bodies are checked like ids in paths: a caller aims at its own objects
# (or none) and names one of team B's in the body. Each entry: who calls, the path's own
# ids, the body with the foreign id, and (for a hint that is replaced rather than refused)
# the body field that must not end up pointing at the foreign object.
@dataclass(frozen=True)
class BodyIdCase:
    who: str
    body: dict
    replaced: str | None = None  # the answer's field that must not name the foreign id


_CHECK_IN = {
    "client_id": "6f1c1c1e-0000-4000-8000-0000000000b1",
    "at": "2026-11-16T09:00:00+07:00",
    "lat": -6.2,
    "lon": 106.8,
}
_PLAN = {"weekday": 2, "anchor_week": "2026-11-16", "valid_from": "2026-11-16"}

BODY_IDS = {
    ("POST", "/v1/customers/{own_customer}/location-proposals", "visit_id"): BodyIdCase(
        "rep_a", {"lat": -6.2001, "lon": 106.8001, "visit_id": "{visit_id}"}
    ),
    ("POST", "/v1/visits/check-in", "customer_id"): BodyIdCase(
        "rep_a", _CHECK_IN | {"customer_id": "{customer_id}"}
    ),
    # A planned visit named at check-in is a hint: a foreign one is replaced, never linked.
    ("POST", "/v1/visits/check-in", "planned_visit_id"): BodyIdCase(
        "rep_a",
        _CHECK_IN | {"customer_id": "{own_customer}", "planned_visit_id": "{planned_visit_id}"},
        replaced="planned_visit_id",
    ),
    ("POST", "/v1/orders", "customer_id"): BodyIdCase(
        "rep_a",
        {
            "client_id": "6f1c1c1e-0000-4000-8000-0000000000b2",
            "customer_id": "{customer_id}",
            "lines": [{"product_id": "{product_id}", "quantity": 1}],
        },
    ),
    ("POST", "/v1/orders", "visit_id"): BodyIdCase(
        "rep_a",
        {
            "client_id": "6f1c1c1e-0000-4000-8000-0000000000b3",
            "customer_id": "{own_customer}",
            "visit_id": "{visit_id}",
            "lines": [{"product_id": "{product_id}", "quantity": 1}],
        },
    ),
    ("POST", "/v1/devices", "rep_id"): BodyIdCase(
        "manager_a", {"id": "foreign-rep-phone", "rep_id": "{rep_id}"}
    ),
    ("POST", "/v1/journey-plans", "rep_id"): BodyIdCase(
        "manager_a", _PLAN | {"rep_id": "{rep_id}", "customer_id": "{own_customer}"}
    ),
    ("POST", "/v1/journey-plans", "customer_id"): BodyIdCase(
        "manager_a", _PLAN | {"rep_id": "{own_rep}", "customer_id": "{customer_id}"}
    ),
    ("PATCH", "/v1/journey-plans/{own_plan}", "rep_id"): BodyIdCase(
        "manager_a", {"rep_id": "{rep_id}"}
    ),
    ("PATCH", "/v1/journey-plans/{own_plan}", "customer_id"): BodyIdCase(
        "manager_a", {"customer_id": "{customer_id}"}
    ),
    ("POST", "/v1/planned-visits", "rep_id"): BodyIdCase(
        "manager_a", {"rep_id": "{rep_id}", "customer_id": "{own_customer}", "day": "{later_day}"}
    ),
    ("POST", "/v1/planned-visits", "customer_id"): BodyIdCase(
        "manager_a", {"rep_id": "{own_rep}", "customer_id": "{customer_id}", "day": "{later_day}"}
    ),
    ("POST", "/v1/targets", "rep_id"): BodyIdCase(
        "manager_a",
        {
            "rep_id": "{rep_id}",
            "period_start": "2026-12-01",
            "period_end": "2026-12-31",
            "visits_target": 1,
        },
    ),
    ("POST", "/v1/announcements", "team_ids"): BodyIdCase(
        "manager_a",
        {
            "kind": "promotion",
            "title": "t",
            "body": "b",
            "effective_at": "2026-12-01T09:00:00+07:00",
            "team_ids": ["{team_b}"],
        },
    ),
    ("POST", "/v1/customers", "team_id"): BodyIdCase(
        "manager_a", {"code": "NEW2", "name": "New", "team_id": "{team_b}"}
    ),
    ("POST", "/v1/customers", "distributor_id"): BodyIdCase(
        "manager_a",
        {"code": "NEW3", "name": "New", "team_id": "{team_a}", "distributor_id": "{distributor_b}"},
    ),
    ("PATCH", "/v1/customers/{own_customer}", "team_id"): BodyIdCase(
        "manager_a", {"team_id": "{team_b}"}
    ),
    ("PATCH", "/v1/customers/{own_customer}", "distributor_id"): BodyIdCase(
        "manager_a", {"distributor_id": "{distributor_b}"}
    ),
    ("POST", "/v1/contracts", "customer_id"): BodyIdCase(
        "manager_a",
        {
            "customer_id": "{customer_id}",
            "title": "t",
            "acv": "1000",
            "start_date": "2026-01-01",
            "end_date": "2026-12-31",
        },
    ),
    ("POST", "/v1/opportunities", "customer_id"): BodyIdCase(
        "manager_a", {"title": "t", "customer_id": "{customer_id}", "owner_id": "{own_rep}"}
    ),
    ("POST", "/v1/opportunities", "owner_id"): BodyIdCase(
        "manager_a", {"title": "t", "prospect_name": "p", "owner_id": "{rep_id}"}
    ),
    # Without an owner the team is the one named: refused.
    ("POST", "/v1/opportunities", "team_id"): BodyIdCase(
        "manager_a", {"title": "t", "prospect_name": "p", "team_id": "{team_b}"}
    ),
    ("PATCH", "/v1/opportunities/{own_opportunity}", "customer_id"): BodyIdCase(
        "manager_a", {"customer_id": "{customer_id}"}
    ),
    ("PATCH", "/v1/opportunities/{own_opportunity}", "owner_id"): BodyIdCase(
        "manager_a", {"owner_id": "{rep_id}"}
    ),
    # A rep's deal belongs to the rep's team: a team named beside it is replaced.
    ("PATCH", "/v1/opportunities/{own_opportunity}", "team_id"): BodyIdCase(
        "manager_a", {"team_id": "{team_b}"}, replaced="team_id"
    ),
    ("POST", "/v1/surveys", "team_id"): BodyIdCase(
        "manager_a",
        {
            "team_id": "{team_b}",
            "title": "t",
            "cadence": "weekly",
            "questions": [{"kind": "text", "text": "q"}],
        },
    ),
    # A manager's own draft (team A) given team B's customer or rep.
    ("PATCH", "/v1/purchase-orders/intakes/{own_intake}", "customer_id"): BodyIdCase(
        "manager_a", {"customer_id": "{customer_id}"}
    ),
    ("PATCH", "/v1/purchase-orders/intakes/{own_intake}", "rep_id"): BodyIdCase(
        "manager_a", {"rep_id": "{rep_id}"}
    ),
}
# Body fields ending in _id/_ids that name no object a caller could be kept from: the
# client's own idempotency key, the ERP's keys (erp:write only), a tracker's label,
# catalog products and pipelines with their stages (company-wide configuration everyone
# reads), and fields of admin-only routes (every id is visible).
NOT_REFERENCES = {
    "client_id",
    "external_id",
    "device_id",
    "product_id",
    "upsell_product_ids",
    "pipeline_id",
    "stage_id",
}
ADMIN_ONLY = {
    ("POST", "/v1/users"),
    ("PATCH", "/v1/users/{user_id}"),
    ("POST", "/v1/teams"),
    ("PATCH", "/v1/teams/{team_id}"),
    ("POST", "/v1/sync/outbox/retry"),
    ("POST", "/v1/contract-staff"),
    ("POST", "/v1/workflows/{workflow_id}/test"),  # authors only: a past event by its id
}


def _body_id_fields(operation: dict, components: dict) -> set[str]:
    """Names ending in _id/_ids anywhere in an operation's JSON request body schema."""
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    found: set[str] = set()

    def walk(node, seen=()):
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref and ref not in seen:
                walk(components[ref.rsplit("/", 1)[1]], (*seen, ref))
            for name, value in node.get("properties", {}).items():
                if name.endswith(("_id", "_ids")):
                    found.add(name)
                walk(value, seen)
            for key in ("items", "anyOf", "oneOf", "allOf", "additionalProperties"):
                value = node.get(key)
                for part in value if isinstance(value, list) else [value]:
                    walk(part, seen)

    walk(schema)
    return found


def test_every_id_in_a_body_is_tried():
    document = create_app().openapi()
    components = document.get("components", {}).get("schemas", {})
    templates = {(m, p.split("{own_")[0]) for m, p, _ in BODY_IDS}
    covered = {(m, _generic(p), f) for m, p, f in BODY_IDS}
    missing = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            key = (method.upper(), path)
            if key in ADMIN_ONLY or path.startswith("/v1/erp/"):
                continue
            for field in _body_id_fields(operation, components) - NOT_REFERENCES:
                if (key[0], path, field) not in covered:
                    missing.append((key[0], path, field))
    assert not missing, f"try these body ids in BODY_IDS: {missing}"
    assert templates  # the table is not empty


def _generic(path: str) -> str:
    """/v1/customers/{own_customer}/… → /v1/customers/{customer_id}/… (the route's name)."""
    names = {
        "own_customer": "customer_id",
        "own_plan": "plan_id",
        "own_opportunity": "opportunity_id",
        "own_intake": "intake_id",
    }
    for own, name in names.items():
        path = path.replace("{" + own + "}", "{" + name + "}")
    return path


def _own_ids(db, world, product_id: int) -> dict:
    visit = _visit(db, world.rep_a, world.customer_a, 3)
    plan = _plan(db, world, world.rep_a, world.customer_a, 3)
    opportunity = make_opportunity(db, world.rep_a)
    admin = auth_service.principal_for_user(db, world.admin)
    intake = _ready_intake(db, admin, world, db.get_one(Product, product_id), team="a")
    db.commit()
    return {
        "own_customer": world.customer_a.id,
        "own_rep": world.rep_a.id,
        "own_visit": visit.id,
        "own_plan": plan.id,
        "own_opportunity": opportunity.id,
        "own_intake": intake.id,
        "team_a": world.team_a.id,
        "distributor_b": world.distributor_b.id,
    }


def _snapshot(db) -> dict:
    tables = (
        "customer_location_proposals",
        "visits",
        "orders",
        "devices",
        "journey_plans",
        "planned_visits",
        "targets",
        "announcements",
        "customers",
        "contracts",
        "opportunities",
        "surveys",
        "po_intakes",
    )
    return {t: db.execute(text(f"SELECT count(*) FROM {t}")).scalar() for t in tables}


@pytest.mark.parametrize(("method", "path", "field"), sorted(BODY_IDS))
def test_foreign_ids_in_bodies_are_refused(client, world, db, method, path, field):
    case = BODY_IDS[(method, path, field)]
    ids = _ids(world, db)
    ids |= _own_ids(db, world, ids["product_id"])
    before = _snapshot(db)
    response = client.request(
        method, path.format(**ids), json=_fill(case.body, ids), headers=world.headers(case.who)
    )
    db.expire_all()
    if case.replaced:
        assert response.status_code in (200, 201), response.text
        assert response.json()[case.replaced] != ids[case.replaced], response.text
        return
    assert response.status_code in (403, 404, 422), (method, path, field, response.text)
    assert _snapshot(db) == before, "something was stored behind the refusal"
    assert db.get(type(world.customer_a), world.customer_a.id).team_id == world.team_a.id
