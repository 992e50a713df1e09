"""Email over SMTP (smtplib). Not idempotent: see the crash policy in sfa.notifications.sender."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import parseaddr

from pydantic import SecretStr

from sfa.notifications.channels import Message, PermanentDeliveryError, TransientDeliveryError


class SmtpChannel:
    idempotent = False

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: SecretStr | None = None,
        starttls: bool = False,
        timeout_s: float = 10.0,
    ):
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password = username, password
        self.starttls, self.timeout_s = starttls, timeout_s
        # Message-IDs are ours: under the sender's own domain.
        self.domain = parseaddr(sender)[1].rpartition("@")[2] or "sfa.local"

    def __repr__(self) -> str:  # never the password
        return f"SmtpChannel({self.host}:{self.port})"

    def message_id(self, reference: str) -> str:
        return f"<{reference}@{self.domain}>"

    def send(self, message: Message) -> str | None:
        if not message.to:
            raise PermanentDeliveryError("no email address")
        email = EmailMessage()
        # First: set_content() drops every Content-* header set before it.
        email.set_content(message.body)
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        email["Content-Language"] = message.language
        # Our reference, so the same for every attempt of one notification: a receiving
        # system that dedupes by Message-ID can, and a person can tell a retry.
        email["Message-ID"] = self.message_id(message.reference)
        email["X-SFA-Reference"] = message.reference
        if message.resend_of:
            # An admin's resend is a notification of its own that points to the first.
            email["References"] = self.message_id(message.resend_of)
            email["X-SFA-Resend-Of"] = message.resend_of
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                if self.username and self._password is not None:
                    smtp.login(self.username, self._password.get_secret_value())
                smtp.send_message(email)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentDeliveryError(f"recipient refused: {exc.recipients}") from exc
        except smtplib.SMTPResponseException as exc:
            error = f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600:
                raise PermanentDeliveryError(error) from exc
            raise TransientDeliveryError(error) from exc
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientDeliveryError(f"SMTP unavailable: {exc}") from exc
        return email["Message-ID"]
