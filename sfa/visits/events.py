"""The visit events (sfa/events/types.py), written in the transaction of the change.

Each has a natural key, so a retried request or a job run again writes nothing new:
- `visit.checked_in`: the visit id (only a check-in that stores a new visit emits it; a
  replay of its client id never reaches the emission);
- `visit.checked_out`: the visit id (a visit is checked out once);
- `visit.flagged`: the visit id and its whole sorted set of flags, so the same flags
  taken away and found again by a recompute are not news twice.
"""

from collections.abc import Mapping, Set

from sqlalchemy.orm import Session

from sfa.events.service import Actor, emit
from sfa.events.types import (
    VISIT_CHECKED_IN,
    VISIT_CHECKED_OUT,
    VISIT_FLAGGED,
    CheckedIn,
    CheckedOut,
    Flagged,
)
from sfa.visits import repository
from sfa.visits.models import Visit


def checked_in(session: Session, visit: Visit, codes: list[str], actor: Actor) -> None:
    """A new visit by check-in, and `visit.flagged` for its check-in flags (`codes`)."""
    emit(
        session,
        VISIT_CHECKED_IN,
        subject_kind="visit",
        subject_id=visit.id,
        actor=actor,
        event_id=visit.id,
        payload=CheckedIn(
            visit_id=visit.id,
            rep_id=visit.rep_id,
            customer_id=visit.customer_id,
            at=visit.check_in_at,
            flags=sorted(codes),
            trust_score=visit.trust_score,
            verification_status=str(visit.verification_status),
            distance_to_customer_m=visit.distance_to_customer_m,
            planned_visit_id=visit.planned_visit_id,
        ),
    )
    if codes:
        summary = repository.FlagSummary(
            visit.id,
            visit.rep_id,
            visit.customer_id,
            visit.check_in_at,
            visit.trust_score,
            sorted(codes),
        )
        _flagged(session, summary, set(codes), actor)


def checked_out(session: Session, visit: Visit, actor: Actor) -> None:
    """After the check-out's flags were recomputed: the payload has them, and the score."""
    summary = repository.flag_summaries(session, [visit.id])[visit.id]
    emit(
        session,
        VISIT_CHECKED_OUT,
        subject_kind="visit",
        subject_id=visit.id,
        actor=actor,
        event_id=visit.id,
        payload=CheckedOut(
            visit_id=visit.id,
            rep_id=visit.rep_id,
            customer_id=visit.customer_id,
            at=visit.check_in_at,
            flags=summary.codes,
            trust_score=summary.trust_score,
            dwell_seconds=visit.dwell_seconds,
        ),
    )


def flagged(session: Session, added: Mapping[int, Set[str]], actor: Actor) -> None:
    """`visit.flagged` for each visit that got new flags (`added`: visit id -> the codes
    it did not have before the change), once the change and the rescore are written."""
    added = {visit_id: codes for visit_id, codes in added.items() if codes}
    if not added:
        return
    for visit_id, summary in repository.flag_summaries(session, list(added)).items():
        _flagged(session, summary, added[visit_id], actor)


def _flagged(
    session: Session, summary: repository.FlagSummary, added: Set[str], actor: Actor
) -> None:
    emit(
        session,
        VISIT_FLAGGED,
        subject_kind="visit",
        subject_id=summary.visit_id,
        actor=actor,
        event_id=f"{summary.visit_id}:{','.join(summary.codes)}",
        payload=Flagged(
            visit_id=summary.visit_id,
            rep_id=summary.rep_id,
            customer_id=summary.customer_id,
            at=summary.check_in_at,
            flags=summary.codes,
            trust_score=summary.trust_score,
            added=sorted(added),
        ),
    )
