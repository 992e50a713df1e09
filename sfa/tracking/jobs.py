"""Scheduled work of tracking: the upkeep of the pings partitions (pg_partman)."""

from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.tracking import partitions, repository


def partition_upkeep(session: Session) -> partitions.Upkeep:
    """Partitions made ahead and old ones dropped, with the company's retention; the
    tracks the days kept of the dropped months' pings go with them."""
    settings = company_service.get_company_settings(session)
    upkeep = partitions.maintain(session, retention_months=settings.ping_retention_months)
    oldest = partitions.oldest_month(session) if upkeep.dropped else None
    if oldest is not None:
        repository.forget_tracks(session, before=oldest)
    return upkeep
