"""Builds the ERP connector from the process settings (``SFA_ERP_*``), after checking them.

``SFA_ERP_URL`` unset means the ERP sync is disabled: ``build_connector`` returns None.
Settings that cannot work (an empty user, a URL with a database path, ...) are refused
with every problem and how to fix it (``config_problems``), before anything connects.
The password is read from its ``SecretStr`` only here and handed to the connector; it is
never logged.

The ``SFA_ERP_*`` settings are the default company's: a company of the tenant registry
(docs/tenancy.md) has no ERP connection, so its sync is disabled rather than sending its
orders to another company's ERP.
"""

from __future__ import annotations

import httpx

from integrations.erp.tryton import TrytonConnector
from sfa.config import Settings, get_settings
from sfa.db import current_binding
from sfa.erp.connector import ErpMisconfigured


class ErpNotConfigured(ErpMisconfigured):
    """The ``SFA_ERP_*`` settings cannot work; ``problems`` says each thing to fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _url_problems(url: str) -> list[str]:
    example = "e.g. SFA_ERP_URL=http://erp.example.com:8000"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return [f"SFA_ERP_URL is not a URL: give the Tryton server's root, {example}"]
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return [f"SFA_ERP_URL must start with http:// or https:// and name a host, {example}"]
    problems = []
    if parsed.userinfo:
        problems.append(
            "SFA_ERP_URL carries a user or password: remove it and set SFA_ERP_USER and "
            "SFA_ERP_PASSWORD instead"
        )
    if parsed.path not in ("", "/") or parsed.query:
        problems.append(
            f"SFA_ERP_URL ends in {parsed.path!r}: give the server's root only ({example}) "
            "and the database name in SFA_ERP_DATABASE"
        )
    return problems


def config_problems(settings: Settings) -> list[str]:
    """What is wrong with the ERP settings, without connecting (empty when disabled)."""
    if not settings.erp_url:
        return []
    problems = _url_problems(settings.erp_url.strip())
    for name, value, what in (
        ("SFA_ERP_DATABASE", settings.erp_database, "the name of the Tryton database"),
        ("SFA_ERP_USER", settings.erp_user, "the login of the Tryton user the sync uses"),
        ("SFA_ERP_PASSWORD", settings.erp_password.get_secret_value(), "that user's password"),
    ):
        if not value or not value.strip():
            problems.append(f"SFA_ERP_URL is set but {name} is empty: set it to {what}")
    if settings.erp_timeout_s <= 0:
        problems.append("SFA_ERP_TIMEOUT_S must be a number of seconds above 0, e.g. 30")
    return problems


def erp_settings_apply() -> bool:
    """Whether the ``SFA_ERP_*`` settings are the current company's (the default one)."""
    return current_binding() is None


def build_connector(
    settings: Settings | None = None, *, timeout_s: float | None = None
) -> TrytonConnector | None:
    """The connector, or None when the sync is disabled; ``ErpNotConfigured`` when the
    settings cannot work. ``timeout_s`` shortens the per-call timeout (health checks)."""
    settings = settings or get_settings()
    if not settings.erp_url or not erp_settings_apply():
        return None
    problems = config_problems(settings)
    if problems:
        raise ErpNotConfigured(problems)
    timeout = (
        settings.erp_timeout_s if timeout_s is None else min(timeout_s, settings.erp_timeout_s)
    )
    return TrytonConnector(
        settings.erp_url.strip().rstrip("/"),
        settings.erp_database.strip(),
        settings.erp_user.strip(),
        settings.erp_password.get_secret_value(),
        timeout=timeout,
        customer_category=settings.erp_customer_category or None,
    )
