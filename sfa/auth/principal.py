"""Who is calling, and what they may see.

Visibility is decided here once; repositories turn it into SQL filters. Routes never
re-implement it.
"""

from dataclasses import dataclass, field

from sfa.errors import Forbidden
from sfa.users.models import Role

# Scopes a machine client (API key) can be given; users get theirs from their role.
ALL_SCOPES = frozenset(
    {
        "users:read",
        "users:write",
        "teams:read",
        "teams:write",
        "customers:read",
        "customers:write",
        "settings:read",
        "settings:write",
        "visits:read",
        "tracking:read",
        "devices:write",
        "plans:read",
        "plans:write",
        "reports:read",
        "catalog:read",
        "orders:read",
        "announcements:write",
        # Contracts and renewals, the sales pipeline, pulse surveys (issue 15).
        "contracts:read",
        "contracts:write",
        "pipeline:read",
        "pipeline:write",
        "surveys:read",
        "surveys:write",
        # ERPs that push: delivery dates (PUT /v1/orders/{id}/delivery-date) and master data and
        # documents (POST /v1/erp/*). Admin role (ALL_SCOPES) only, no other role.
        "erp:write",
        # Purchase-order intake (office staff, a mail gateway) and the Coretax export.
        "purchase_orders:read",
        "purchase_orders:write",
        "tax_invoices:read",
        "tax_invoices:write",
        # Incremental exports for warehouses (GET /v1/exports/*, docs/exports.md).
        "exports:read",
        # Webhook subscriptions and their delivery log (docs/webhooks.md).
        "webhooks:write",
    }
)
# Only a rep acts in the field (check-in, pings); these are never given to API keys.
FIELD_SCOPES = frozenset({"visits:write", "pings:write", "orders:write", "surveys:answer"})
# Deciding discounts is a person's job (the rep's manager, an admin): never an API key's.
APPROVER_SCOPES = frozenset({"orders:approve"})
# Outbox administration (every notification, resend): the admin role only, never an API
# key (notifications carry customers' phone numbers and email addresses).
ADMIN_ONLY_SCOPES = frozenset({"notifications:admin"})

ROLE_SCOPES: dict[Role, frozenset[str]] = {
    Role.admin: ALL_SCOPES | APPROVER_SCOPES | ADMIN_ONLY_SCOPES,
    Role.manager: frozenset(
        {
            "users:read",
            "teams:read",
            "customers:read",
            "customers:write",
            "settings:read",
            "visits:read",
            "tracking:read",
            "devices:write",
            "plans:read",
            "plans:write",
            "reports:read",
            "catalog:read",
            "orders:read",
            "announcements:write",
            "contracts:read",
            "contracts:write",
            "pipeline:read",
            "pipeline:write",
            "surveys:read",
            "surveys:write",
            "purchase_orders:read",
            "purchase_orders:write",
        }
    )
    | APPROVER_SCOPES,
    Role.rep: frozenset(
        {
            "users:read",
            "teams:read",
            "customers:read",
            "customers:write",
            "settings:read",
            "visits:read",
            "tracking:read",
            "plans:read",
            "reports:read",
            "catalog:read",
            "orders:read",
            "contracts:read",
            "pipeline:read",
            "pipeline:write",
        }
    )
    | FIELD_SCOPES,
    # Finance decides the approvals workflows give its role (workflow approvals check the
    # approver, not a scope) and reads the catalog; it belongs to no team, so it sees no
    # team's customers, visits or orders.
    Role.finance: frozenset({"users:read", "settings:read", "catalog:read"}),
}


@dataclass(frozen=True)
class Principal:
    kind: str  # "user" or "api_key"
    id: int
    role: Role | None
    scopes: frozenset[str]
    # Teams whose data this principal may see; None means every team (admin, API key).
    team_ids: frozenset[int] | None = field(default=None)

    @property
    def actor(self) -> str:
        return f"{self.kind}:{self.id}"

    @property
    def is_admin(self) -> bool:
        return self.role is Role.admin

    @property
    def is_rep(self) -> bool:
        return self.role is Role.rep

    @property
    def user_id(self) -> int | None:
        return self.id if self.kind == "user" else None

    def require(self, scope: str) -> None:
        if scope not in self.scopes:
            raise Forbidden(
                f"this action needs the '{scope}' permission",
                hint="ask an administrator for a role or API key scope that grants it",
            )

    def require_admin(self) -> None:
        if not self.is_admin:
            raise Forbidden("only an administrator can do this")

    def can_see_team(self, team_id: int | None) -> bool:
        if self.team_ids is None:
            return True
        return team_id is not None and team_id in self.team_ids
