"""`anomaly.detected` (sfa/events/types.py): a weekly anomaly the rep did not have.

`compute_anomalies` replaces a range's anomalies wholesale, so "new" is what it stores
that the range did not hold before; the natural key (rep, ISO week, kind) makes it once
per anomaly even when a later run drops it and a still later one finds it again.
"""

from collections.abc import Iterable
from datetime import date

from sqlalchemy.orm import Session

from sfa.events.service import SYSTEM, emit
from sfa.events.types import ANOMALY_DETECTED, AnomalyDetected
from sfa.weeks import iso_week_label

Key = tuple[int, date, str]  # rep id, week start (Monday), kind


def detected(session: Session, anomalies: Iterable[tuple[Key, dict]], before: set[Key]) -> int:
    """Emit the `anomalies` (key, numbers) not in `before`; how many were new."""
    new = 0
    for (rep_id, week_start, kind), numbers in anomalies:
        if (rep_id, week_start, kind) in before:
            continue
        week = iso_week_label(week_start)
        new += emit(
            session,
            ANOMALY_DETECTED,
            subject_kind="rep",
            subject_id=rep_id,
            actor=SYSTEM,
            event_id=f"{rep_id}:{week}:{kind}",
            payload=AnomalyDetected(rep_id=rep_id, week=week, kind=kind, details=numbers),
        )
    return new
