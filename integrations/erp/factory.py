"""Builds the ERP connector from the process settings (``SFA_ERP_*``).

``SFA_ERP_URL`` unset means the ERP sync is disabled: ``build_connector`` returns None.
The password is read from its ``SecretStr`` only here and handed to the connector; it is
never logged.
"""

from __future__ import annotations

from integrations.erp.tryton import TrytonConnector
from sfa.config import Settings, get_settings


class ErpNotConfigured(Exception):
    """The settings name an ERP but leave out what is needed to log in."""


def build_connector(settings: Settings | None = None) -> TrytonConnector | None:
    settings = settings or get_settings()
    if not settings.erp_url:
        return None
    missing = [
        name
        for name, value in (
            ("SFA_ERP_DATABASE", settings.erp_database),
            ("SFA_ERP_USER", settings.erp_user),
        )
        if not value
    ]
    if missing:
        raise ErpNotConfigured(f"SFA_ERP_URL is set but {', '.join(missing)} is not")
    return TrytonConnector(
        settings.erp_url.rstrip("/"),
        settings.erp_database,
        settings.erp_user,
        settings.erp_password.get_secret_value(),
        timeout=settings.erp_timeout_s,
    )
