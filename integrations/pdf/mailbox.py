"""The inbound SMTP address for e-mailed purchase orders (aiosmtpd; off by default).

Enabled with SFA_PO_SMTP_ENABLED=true; listens on SFA_PO_SMTP_HOST:SFA_PO_SMTP_PORT
and accepts mail only for SFA_PO_SMTP_RECIPIENTS. Each PDF or image attachment becomes
an intake exactly as an upload does (hash-deduplicated, read by the job); a message
without one, or larger than the document cap, is refused with an SMTP error the sender
sees.
"""

import email
import email.policy
import logging
from collections.abc import Callable

from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from sfa.errors import DomainError
from sfa.purchase_orders import service

log = logging.getLogger("sfa.purchase_orders.mailbox")
ACCEPTED_TYPES = (
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "application/octet-stream",
)


class PoMailbox:
    """aiosmtpd handler: RCPT checks the address, DATA stores the attachments."""

    def __init__(
        self, make_session: Callable[[], Session], *, recipients: set[str], max_bytes: int
    ):
        self.make_session = make_session
        self.recipients = {r.lower() for r in recipients}
        self.max_bytes = max_bytes

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() not in self.recipients:
            return "550 5.1.1 no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = [p for p in message.iter_attachments() if p.get_content_type() in ACCEPTED_TYPES]
        if not parts:
            return "550 5.6.0 no PDF or image attached: attach the purchase order"
        stored = []
        try:
            with self.make_session() as db, db.begin():
                for part in parts:
                    payload = part.get_payload(decode=True)
                    intake, _ = service.receive(
                        db,
                        principal=None,
                        content=payload if isinstance(payload, bytes) else b"",
                        filename=part.get_filename() or "attachment",
                        content_type=part.get_content_type(),
                        source="email",
                        sender=str(message.get("From") or envelope.mail_from)[:254],
                        max_bytes=self.max_bytes,
                    )
                    stored.append(intake.id)
        except DomainError as exc:
            return f"550 5.6.0 {exc.message}"
        log.info("e-mailed PO from %s stored as intake(s) %s", envelope.mail_from, stored)
        return f"250 OK stored as intake {', '.join(map(str, stored))}"


def start(
    make_session, *, host: str, port: int, recipients: set[str], max_bytes: int
) -> Controller:
    handler = PoMailbox(make_session, recipients=recipients, max_bytes=max_bytes)
    controller = Controller(handler, hostname=host, port=port, data_size_limit=max_bytes * 2)
    controller.start()
    log.info("purchase-order mailbox listening on %s:%s for %s", host, port, sorted(recipients))
    return controller
