"""Switches and parameters of the notification rules (table `notification_rules`).

A rule without a row is on, with the defaults below. Switching a rule off stops it from
enqueueing and cancels its queued rows at send time (admin resends still go out).
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.errors import InvalidInput
from sfa.notifications.models import NotificationRule

ORDER_PLACED = "order_placed"
ORDER_CHANGED = "order_changed"  # the office cancelled or corrected a rep's order
INVOICE_OVERDUE = "invoice_overdue"
DELIVERY_CONFIRMED = "delivery_confirmed"
ANNOUNCEMENT = "announcement"
TARGET_PROGRESS = "target_progress"

DEFAULTS: dict[str, dict] = {
    ORDER_PLACED: {},
    ORDER_CHANGED: {},
    # Reminder k (0-based) is due every_days * k days after the first overdue day.
    INVOICE_OVERDUE: {"every_days": 3, "max_reminders": 3},
    DELIVERY_CONFIRMED: {},
    ANNOUNCEMENT: {},
    TARGET_PROGRESS: {},
}
_LIMITS = {"every_days": (1, 365), "max_reminders": (1, 100)}


def enabled_map(session: Session) -> dict[str, bool]:
    return {row.rule: row.enabled for row in session.scalars(select(NotificationRule))}


def _state(rule: str, row: NotificationRule | None) -> tuple[bool, dict]:
    return (row.enabled if row else True), DEFAULTS[rule] | (row.params if row else {})


def get_rule(session: Session, rule: str) -> tuple[bool, dict]:
    return _state(rule, session.get(NotificationRule, rule))


def all_rules(session: Session) -> dict[str, tuple[bool, dict]]:
    """Every rule's (enabled, params) in one query (a rule without a row has no
    identity-map entry, so `get_rule` asks the database each time)."""
    rows = {row.rule: row for row in session.scalars(select(NotificationRule))}
    return {rule: _state(rule, rows.get(rule)) for rule in DEFAULTS}


def list_rules(session: Session, *, principal: Principal) -> list[dict]:
    principal.require("notifications:admin")
    return [
        {"rule": rule, "enabled": enabled, "params": params}
        for rule, (enabled, params) in all_rules(session).items()
    ]


def update_rule(
    session: Session, *, principal: Principal, rule: str, enabled: bool | None, params: dict | None
) -> dict:
    principal.require("notifications:admin")
    if rule not in DEFAULTS:
        raise InvalidInput(
            f"unknown notification rule {rule!r}", hint=f"rules: {', '.join(DEFAULTS)}"
        )
    params = params or {}
    unknown = sorted(set(params) - set(DEFAULTS[rule]))
    if unknown:
        raise InvalidInput(
            f"rule {rule!r} has no parameter(s) {', '.join(unknown)}",
            hint=f"parameters: {', '.join(DEFAULTS[rule]) or '(none)'}",
        )
    for key, value in params.items():
        low, high = _LIMITS[key]
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(f"{key} must be a whole number from {low} to {high}")
    old_enabled, old_params = get_rule(session, rule)
    row = session.get(NotificationRule, rule)
    if row is None:
        row = NotificationRule(rule=rule, enabled=True, params={})
        session.add(row)
    if enabled is not None:
        row.enabled = enabled
    row.params = (row.params or {}) | params
    row.updated_by = principal.actor
    session.flush()
    new_enabled, new_params = get_rule(session, rule)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="notification_rule",
        entity_id=rule,
        action="update",
        old={"enabled": old_enabled, "params": old_params},
        new={"enabled": new_enabled, "params": new_params},
    )
    return {"rule": rule, "enabled": new_enabled, "params": new_params}
