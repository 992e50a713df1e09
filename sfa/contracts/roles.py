"""The roles a person can hold on a contract's renewal (owner roles, CURE's candidates)."""

import enum


class RenewalRole(enum.StrEnum):
    account_manager = "account_manager"
    renewal_manager = "renewal_manager"
    customer_success = "customer_success"
    sales_rep = "sales_rep"


# Roles a person holds company-wide (CURE's pool); sales reps are the customer's team's.
STAFF_ROLES = (
    RenewalRole.account_manager,
    RenewalRole.renewal_manager,
    RenewalRole.customer_success,
)
