"""The inbound SMTP address, as the scheduler starts it (api/scheduler.py): a real
aiosmtpd server on a loopback port and a real SMTP client; then the scheduler's job reads
what came in."""

import smtplib
import socket
from email.message import EmailMessage

import pytest
from sqlalchemy import func, select

from api import scheduler
from sfa.config import Settings
from sfa.purchase_orders.models import PoIntake

MAILBOX = "po@sfa.test"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mailbox(make_session):
    settings = Settings(
        po_smtp_enabled=True,
        po_smtp_host="127.0.0.1",
        po_smtp_port=_free_port(),
        po_smtp_recipients=f"{MAILBOX}, orders@sfa.test",
        po_max_upload_bytes=2 * 1024 * 1024,
    )
    controller = scheduler.start_po_mailbox(settings, make_session)
    try:
        yield settings
    finally:
        controller.stop()


def _mail(to: str, attachment: bytes | None, name: str = "PO-2611.pdf") -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Purchasing <purchasing@citragrocer.example>"
    message["To"] = to
    message["Subject"] = "Purchase order"
    message.set_content("Please find our purchase order attached.")
    if attachment is not None:
        message.add_attachment(attachment, maintype="application", subtype="pdf", filename=name)
    return message


def _send(settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.po_smtp_host, settings.po_smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def test_the_mailbox_is_off_unless_enabled(make_session):
    assert scheduler.start_po_mailbox(Settings(), make_session) is None


def test_an_emailed_pdf_becomes_an_intake_and_is_read(
    mailbox, db, world, trade, corpus, make_session, reader
):
    pdf, truth = corpus["minimal-en-text-001"]
    _send(mailbox, _mail(MAILBOX, pdf))
    _send(mailbox, _mail("orders@sfa.test", pdf, "again.pdf"))  # the same file: one intake
    intakes = db.scalars(select(PoIntake)).all()
    assert len(intakes) == 1
    intake = intakes[0]
    assert (intake.source, intake.filename, intake.state) == ("email", "PO-2611.pdf", "received")
    assert intake.sender == "Purchasing <purchasing@citragrocer.example>"
    assert intake.uploaded_by is None

    # The scheduler's job (with the reader it wires in) turns it into a draft.
    counts = scheduler.read_purchase_orders(db, make_session=make_session)
    assert counts["processed"] == 1
    db.refresh(intake)
    assert intake.state in ("needs_review", "ready")
    assert intake.customer_id == trade["MT-CITRA"]
    assert intake.draft["header"]["po_number"]["value"] == truth["po_number"]
    job = next(j for j in scheduler.all_jobs("Asia/Jakarta") if j.name == "read-purchase-orders")
    assert job.schedule == {"trigger": "interval", "minutes": 1}


def test_what_the_mailbox_refuses(mailbox, db):
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        _send(mailbox, _mail("someone@sfa.test", b"%PDF-1.4 whatever"))
    assert refused.value.recipients["someone@sfa.test"][0] == 550
    with pytest.raises(smtplib.SMTPDataError) as no_pdf:
        _send(mailbox, _mail(MAILBOX, None))
    assert no_pdf.value.smtp_code == 550 and b"attach the purchase order" in no_pdf.value.smtp_error
    with pytest.raises(smtplib.SMTPDataError) as not_pdf:
        _send(mailbox, _mail(MAILBOX, b"GIF89a a picture, not a PO"))
    assert (
        not_pdf.value.smtp_code == 550 and b"neither a PDF nor an image" in not_pdf.value.smtp_error
    )
    assert db.scalar(select(func.count()).select_from(PoIntake)) == 0
