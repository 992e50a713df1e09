"""Scheduled work of tracking: the upkeep of the pings partitions (pg_partman)."""

from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.tracking import partitions


def partition_upkeep(session: Session) -> partitions.Upkeep:
    """Partitions made ahead and old ones dropped, with the company's retention."""
    settings = company_service.get_company_settings(session)
    return partitions.maintain(session, retention_months=settings.ping_retention_months)
