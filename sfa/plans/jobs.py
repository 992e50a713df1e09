"""The plans' nightly jobs besides the expansion (sfa.plans.service.expand_upcoming)."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sfa.plans import events, repository
from sfa.plans.service import company_today

# The job looks back this many company days (yesterday included): a scheduler that was
# down for up to a week still reports every missed visit, once (older days are history,
# e.g. imported plans, not news).
MISSED_LOOKBACK_DAYS = 7


def report_missed(session: Session, now: datetime | None = None) -> int:
    """Scheduler job (nightly, after the company day ended): `planned_visit.missed` for
    each planned visit of the last MISSED_LOOKBACK_DAYS days that no check-in fulfilled;
    returns how many were new."""
    today = company_today(session, now)
    planned = repository.unfulfilled(
        session, date_from=today - timedelta(days=MISSED_LOOKBACK_DAYS), date_to=today
    )
    return events.missed(session, planned)
