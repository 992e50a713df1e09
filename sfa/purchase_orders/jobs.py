"""The intake job: read each waiting document (sandboxed, integrations/pdf), extract,
match, and leave a draft for review — one document per transaction, so that one bad
document is parked with its reason and never stops the others."""

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from sfa.purchase_orders import draft as drafts
from sfa.purchase_orders import repository, service
from sfa.purchase_orders.document import DocumentReader, DocumentRejected
from sfa.purchase_orders.matching import Catalog, match_buyer
from sfa.purchase_orders.models import IntakeState, PoIntake

log = logging.getLogger("sfa.purchase_orders")
# A run that died while reading leaves its intake 'processing'; after this it is retried.
LEASE = timedelta(minutes=15)
# A document that crashed the job this many times is parked rather than retried forever.
MAX_ATTEMPTS = 3


def claim(session: Session, now: datetime | None = None) -> PoIntake | None:
    now = now or datetime.now(UTC)
    return repository.claim_next(session, now=now, lease_before=now - LEASE)


def process(session: Session, intake: PoIntake, *, reader: DocumentReader) -> PoIntake:
    """Read, extract, match; the intake ends needs_review, ready or parked."""
    if intake.attempts > MAX_ATTEMPTS:
        return _park(intake, "failed", f"reading failed {MAX_ATTEMPTS} times; see the logs")
    started = time.monotonic()
    try:
        pages = reader.read(repository.content_of(session, intake.id))
    except DocumentRejected as exc:
        return _park(intake, exc.code, exc.reason)
    intake.pages = [p.as_dict() for p in pages]
    intake.page_count = len(pages)
    extraction = reader.extract(pages, {})
    header = extraction.header
    buyer = match_buyer(
        session,
        name=header["buyer_name"].value,
        npwp=header["buyer_npwp"].value,
        address=header["delivery_address"].value,
        header_text=extraction.header_text,
    )
    hints = repository.hints_for(session, buyer.customer_id)
    if hints:
        extraction = reader.extract(pages, hints)
    intake.extraction = extraction.as_dict()
    intake.customer_id = buyer.customer_id
    intake.rep_id = intake.rep_id or service.default_rep(session, buyer.customer_id)
    intake.draft = drafts.build(intake.extraction, buyer, Catalog.load(session, buyer.customer_id))
    intake.read_seconds = round(time.monotonic() - started, 2)
    intake.processed_at = datetime.now(UTC)
    intake.reason_code = intake.reason = None
    service.settle(session, intake)
    session.flush()
    return intake


def _park(intake: PoIntake, code: str, reason: str) -> PoIntake:
    intake.state = IntakeState.parked
    intake.reason_code = code
    intake.reason = reason[:500]
    intake.processed_at = datetime.now(UTC)
    log.info("po intake %s parked: %s (%s)", intake.id, code, reason)
    return intake


def run(
    make_session: Callable[[], Session], *, reader: DocumentReader, budget_s: float = 240.0
) -> dict:
    """Claim and process documents until none waits or the time budget is spent. The
    claim commits first (attempts count even if the process dies while reading)."""
    counts = {"processed": 0, "parked": 0, "needs_review": 0, "ready": 0}
    deadline = time.monotonic() + budget_s
    while time.monotonic() < deadline:
        with make_session() as session, session.begin():
            intake = claim(session)
            if intake is None:
                break
            intake_id = intake.id
        with make_session() as session, session.begin():
            intake = session.get(PoIntake, intake_id, with_for_update=True)
            if intake is None:  # deleted since it was claimed
                continue
            try:
                with session.begin_nested():
                    process(session, intake, reader=reader)
            except Exception:
                # Left 'processing': retried after the lease, parked after MAX_ATTEMPTS.
                log.exception("po intake %s: unexpected error while reading", intake_id)
                counts["errors"] = counts.get("errors", 0) + 1
                continue
            counts["processed"] += 1
            counts[str(intake.state)] = counts.get(str(intake.state), 0) + 1
    return counts
