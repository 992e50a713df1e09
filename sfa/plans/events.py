"""`planned_visit.missed` (sfa/events/types.py): a planned visit whose company day ended
without a check-in fulfilling it. Nothing marks a planned visit missed in the database
(it is a planned visit of a past day with no visit), so the nightly job
(sfa/plans/jobs.py) finds them and emits each once: the natural key is its id.

A phone that was offline can still send a check-in of that day later, which fulfils the
planned visit after its event: `visit.checked_in` (with `planned_visit_id`) then says so.
"""

from collections.abc import Sequence

from sqlalchemy.orm import Session

from sfa.events.service import SYSTEM, emit, emitted
from sfa.events.types import PLANNED_VISIT_MISSED, PlannedVisitMissed
from sfa.plans.models import PlannedVisit


def missed(session: Session, planned: Sequence[PlannedVisit]) -> int:
    """Emit the missed planned visits not emitted before; returns how many were new."""
    done = emitted(session, PLANNED_VISIT_MISSED, [p.id for p in planned])
    new = 0
    for p in planned:
        if p.id in done:
            continue
        new += emit(
            session,
            PLANNED_VISIT_MISSED,
            subject_kind="planned_visit",
            subject_id=p.id,
            actor=SYSTEM,
            event_id=p.id,
            payload=PlannedVisitMissed(
                planned_visit_id=p.id,
                rep_id=p.rep_id,
                customer_id=p.customer_id,
                day=p.day,
                source=p.source,
            ),
        )
    return new
