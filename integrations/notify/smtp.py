"""Email over SMTP (smtplib). Not idempotent: see the crash policy in sfa.notifications.sender."""

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid

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

    def __repr__(self) -> str:  # never the password
        return f"SmtpChannel({self.host}:{self.port})"

    def send(self, message: Message) -> str | None:
        if not message.to:
            raise PermanentDeliveryError("no email address")
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.to
        email["Subject"] = message.subject
        # Stable per notification: a receiving system that dedupes by Message-ID can.
        email["Message-ID"] = make_msgid(idstring=message.reference, domain="sfa.local")
        email["X-SFA-Reference"] = message.reference
        email["Content-Language"] = message.language
        email.set_content(message.body)
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
