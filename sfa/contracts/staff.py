"""Who in the company holds a renewal role (account manager, renewal manager, customer
success): CURE's pool of candidates. Admins keep the list; everyone who reads contracts
may read it (the owners it names are on the contracts anyway)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.contracts import repository
from sfa.contracts.models import StaffRole
from sfa.contracts.roles import STAFF_ROLES, RenewalRole
from sfa.errors import InvalidInput, NotFound
from sfa.users.models import User


def list_staff(session: Session, *, principal: Principal) -> list[tuple[StaffRole, User]]:
    principal.require("contracts:read")
    return repository.staff(session)


def _check_role(role: RenewalRole) -> None:
    if role not in STAFF_ROLES:
        raise InvalidInput(
            f"{role} is not a company-wide renewal role",
            hint=f"one of {', '.join(STAFF_ROLES)}; a contract's sales rep is set on the "
            "contract (roles.sales_rep), and CURE falls back to the customer's team's reps",
        )


def add_staff(
    session: Session, *, principal: Principal, user_id: int, role: RenewalRole
) -> tuple[StaffRole, User]:
    principal.require_admin()
    _check_role(role)
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    if not user.is_active:
        raise InvalidInput(f"user {user_id} is deactivated")
    held = session.get(StaffRole, (user_id, role))
    if held is None:
        held = StaffRole(user_id=user_id, role=role)
        session.add(held)
        session.flush()
        audit_service.record(
            session,
            actor=principal.actor,
            entity="contract_staff",
            entity_id=f"{user_id}:{role}",
            action="create",
            new={"user_id": user_id, "role": str(role)},
        )
    return held, user


def remove_staff(
    session: Session, *, principal: Principal, user_id: int, role: RenewalRole
) -> None:
    principal.require_admin()
    held = session.scalar(
        select(StaffRole).where(StaffRole.user_id == user_id, StaffRole.role == role)
    )
    if held is None:
        raise NotFound(f"user {user_id} does not hold the {role} role")
    session.delete(held)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="contract_staff",
        entity_id=f"{user_id}:{role}",
        action="delete",
        old={"user_id": user_id, "role": str(role)},
    )
