"""Purchase-order intake: receive a document, read it (jobs.py), review and correct the
draft, confirm it into the normal order flow (sfa.orders: discount approval, ERP)."""

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified

from sfa.audit import service as audit_service
from sfa.auth import service as auth_service
from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.customers import repository as customer_repository
from sfa.customers.models import Customer
from sfa.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder
from sfa.pagination import Page, paginate
from sfa.purchase_orders import draft as drafts
from sfa.purchase_orders import learning, repository
from sfa.purchase_orders.document import HEADER_FIELDS, sniff_kind
from sfa.purchase_orders.matching import Catalog
from sfa.purchase_orders.models import IntakeState, PoIntake, PoIntakeFile
from sfa.users.models import Role, User

# Orders made from intakes get a client_id derived from the intake: confirming twice
# (a retry, two clicks) gives the same order.
_ORDER_NAMESPACE = uuid.UUID("1b7c3c1e-9a4e-4d7e-8f61-5f0d2c6a9e17")
EDITABLE = {IntakeState.needs_review, IntakeState.ready}


def receive(
    session: Session,
    *,
    principal: Principal | None,
    content: bytes,
    filename: str,
    content_type: str,
    source: str = "upload",
    sender: str | None = None,
    max_bytes: int,
) -> tuple[PoIntake, bool]:
    """Store a document for the job; (intake, created). The same bytes again are the
    same intake, whoever sends them and however they are named."""
    if principal is not None:
        principal.require("purchase_orders:write")
    if len(content) > max_bytes:
        raise PayloadTooLarge(
            f"the document is {len(content)} bytes; at most {max_bytes} are accepted",
            hint="send the purchase order alone, or scan it at 200-300 dpi",
        )
    if not content:
        raise InvalidInput("the file is empty")
    kind = sniff_kind(content)
    digest = hashlib.sha256(content).hexdigest()
    if (existing := repository.find_by_hash(session, digest)) is not None:
        if (
            principal is not None
            and repository.get_visible(session, principal, existing.id) is None
        ):
            # Never show another team's intake because its bytes were guessed or resent.
            raise Forbidden(
                "this document was already received and is handled by another team",
                hint="ask an administrator",
            )
        return existing, False
    intake = PoIntake(
        sha256=digest,
        filename=(filename or "document")[:255],
        content_type=("application/pdf" if kind == "pdf" else content_type or "image")[:100],
        size_bytes=len(content),
        source=source,
        sender=sender[:254] if sender else None,
        uploaded_by=principal.user_id if principal else None,
        state=IntakeState.received,
    )
    with session.begin_nested():
        session.add(intake)
        session.flush()
    session.add(PoIntakeFile(intake_id=intake.id, content=content))
    session.flush()
    return intake, True


def get_intake(session: Session, *, principal: Principal, intake_id: int) -> PoIntake:
    principal.require("purchase_orders:read")
    intake = repository.get_visible(session, principal, intake_id)
    if intake is None:
        raise NotFound(f"purchase-order intake {intake_id} does not exist or is not visible to you")
    return intake


def list_intakes(
    session: Session, *, principal: Principal, state: str | None, limit: int, offset: int
) -> Page[PoIntake]:
    principal.require("purchase_orders:read")
    stmt = repository.filter_intakes(repository.visible_intakes(principal), state=state)
    return paginate(session, stmt, limit=limit, offset=offset)


def issues(session: Session, intake: PoIntake) -> list[dict]:
    if intake.draft is None:
        return []
    return drafts.issues(
        intake.draft, company_service.get_company_settings(session), rep_id=intake.rep_id
    )


def settle(session: Session, intake: PoIntake) -> None:
    """needs_review or ready, from the draft's issues."""
    intake.state = IntakeState.ready if not issues(session, intake) else IntakeState.needs_review


def default_rep(session: Session, customer_id: int | None) -> int | None:
    """The first active rep of the customer's team (an office user may choose another)."""
    if customer_id is None:
        return None
    customer = session.get(Customer, customer_id)
    if customer is None or customer.team_id is None:
        return None
    return session.scalar(
        select(User.id)
        .where(User.team_id == customer.team_id, User.role == Role.rep, User.is_active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def correct(session: Session, *, principal: Principal, intake_id: int, changes: dict) -> PoIntake:
    """Apply a person's corrections; they become aliases and layout hints for the customer."""
    principal.require("purchase_orders:write")
    intake = _editable(session, principal, intake_id)
    draft = _draft(intake)
    if "customer_id" in changes:
        _set_customer(session, principal, intake, changes["customer_id"])
    if "rep_id" in changes:
        _check_rep(session, principal, intake, changes["rep_id"])
        intake.rep_id = changes["rep_id"]
    for name, value in (changes.get("header") or {}).items():
        if name not in HEADER_FIELDS:
            raise InvalidInput(f"header.{name} is not a field; fields: {', '.join(HEADER_FIELDS)}")
        draft["header"][name] = {
            **draft["header"][name],
            "value": value,
            "confidence": 1.0,
            "corrected": True,
        }
        learning.learn_label(session, intake, name, value)
    for change in changes.get("lines") or []:
        _correct_line(session, principal, intake, change)
    draft["lines"] = [ln for ln in draft["lines"] if not ln.get("removed")]
    if changes.get("lines") or changes.get("header"):
        draft["checks"] = []  # a person has looked at the numbers
    drafts.rematch(draft, Catalog.load(session, intake.customer_id))
    # The draft was changed in place: without this the JSONB column compares equal to
    # itself and the corrections would never be written.
    flag_modified(intake, "draft")
    settle(session, intake)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="po_intake",
        entity_id=intake.id,
        action="correct",
        new={"changes": _jsonable(changes), "state": intake.state},
    )
    return intake


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return str(value) if isinstance(value, Decimal) else value


def _draft(intake: PoIntake) -> dict:
    if intake.draft is None:
        raise Conflict(f"intake {intake.id} has not been read yet: it has no draft")
    return intake.draft


def _editable(session: Session, principal: Principal, intake_id: int) -> PoIntake:
    intake = repository.get_visible(session, principal, intake_id, for_update=True)
    if intake is None:
        raise NotFound(f"purchase-order intake {intake_id} does not exist or is not visible to you")
    if intake.state not in EDITABLE:
        raise Conflict(
            f"intake {intake_id} is {intake.state}: only a read draft (needs_review or ready) "
            "can be corrected or confirmed",
            hint="a parked document cannot be read: its reason says why",
        )
    return intake


def _set_customer(
    session: Session, principal: Principal, intake: PoIntake, customer_id: int
) -> None:
    if customer_repository.get_visible(session, principal, customer_id) is None:
        raise InvalidInput(f"customer {customer_id} does not exist or is not in your teams")
    intake.customer_id = customer_id
    _draft(intake)["customer"] = {"id": customer_id, "score": 1.0, "by": "person", "candidates": []}
    if intake.rep_id is None:
        intake.rep_id = default_rep(session, customer_id)


def _check_rep(session: Session, principal: Principal, intake: PoIntake, rep_id: int) -> None:
    from sfa.users import repository as user_repository

    rep = user_repository.get_visible_user(session, principal, rep_id)
    if rep is None or rep.role is not Role.rep or not rep.is_active:
        raise InvalidInput(f"user {rep_id} is not an active rep you manage")


def _decimal(value, where: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"{where} must be a number") from None
    if not number.is_finite() or number <= 0:
        raise InvalidInput(f"{where} must be greater than 0")
    return number


def _correct_line(session: Session, principal: Principal, intake: PoIntake, change: dict) -> None:
    lines = _draft(intake)["lines"]
    index = change.get("index")
    if index is None:
        lines.append(_new_line())
        index = len(lines) - 1
    if not isinstance(index, int) or not 0 <= index < len(lines):
        raise InvalidInput(f"lines index {index} does not exist (the draft has {len(lines)} lines)")
    line = lines[index]
    if change.get("remove"):
        line["removed"] = True
        return
    for name in ("buyer_code", "description", "unit"):
        if name in change:
            line[name] = {**line[name], "value": change[name], "confidence": 1.0}
    for name in ("quantity", "unit_price", "line_total"):
        if name in change:
            value = _decimal(change[name], f"lines[{index}].{name}")
            line[name] = {**line[name], "value": str(value), "confidence": 1.0}
    if "product_id" in change:
        learning.learn_product(session, principal, intake, line, int(change["product_id"]))
    if "unit_factor" in change:
        factor = _decimal(change["unit_factor"], f"lines[{index}].unit_factor")
        learning.learn_unit(session, line, factor)


def _new_line() -> dict:
    empty = {"value": None, "confidence": 0.0, "region": None}
    return {
        name: dict(empty)
        for name in ("buyer_code", "description", "quantity", "unit", "unit_price", "line_total")
    }


def confirm(
    session: Session, *, principal: Principal, intake_id: int, now: datetime | None = None
) -> PoIntake:
    """Submit the draft as an order of the intake's rep: discount approval and the ERP
    outbox follow as for any order. Confirming again returns the intake unchanged."""
    principal.require("purchase_orders:write")
    intake = repository.get_visible(session, principal, intake_id, for_update=True)
    if intake is None:
        raise NotFound(f"purchase-order intake {intake_id} does not exist or is not visible to you")
    if intake.state == IntakeState.confirmed:
        return intake
    intake = _editable(session, principal, intake_id)
    open_issues = issues(session, intake)
    # issues() names a missing customer or rep too: past this, both are set.
    rep_id, customer_id = intake.rep_id, intake.customer_id
    if open_issues or rep_id is None or customer_id is None:
        raise Conflict(
            f"intake {intake_id} has {len(open_issues)} open issue(s); correct them first",
            hint="PATCH the intake with the right values; GET it to see the issues",
            details={"issues": open_issues},
        )
    rep = session.get_one(User, rep_id)
    if principal.kind != "user":
        raise Forbidden("a person confirms purchase orders, not an API key")
    _check_rep(session, principal, intake, rep_id)
    draft = _draft(intake)
    number = draft["header"]["po_number"]["value"]
    order, _ = order_service.create_order(
        session,
        principal=auth_service.principal_for_user(session, rep),
        entered_by=principal,
        now=now,
        data=NewOrder(
            client_id=uuid.uuid5(_ORDER_NAMESPACE, f"po-intake:{intake.id}"),
            customer_id=customer_id,
            note=f"Customer PO {number} (intake {intake.id})"[:1000],
            lines=tuple(
                LineIn(product_id=ln["product_id"], quantity=Decimal(ln["our_quantity"]))
                for ln in draft["lines"]
            ),
        ),
    )
    intake.order_id = order.id
    intake.state = IntakeState.confirmed
    intake.confirmed_by = principal.user_id
    intake.confirmed_at = now or datetime.now(UTC)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="po_intake",
        entity_id=intake.id,
        action="confirm",
        new={"order_id": order.id},
    )
    return intake
