"""The Channel protocol: what the sender needs from a delivery adapter.

Adapters live in `integrations/notify` (SMTP, SMS gateway, push) and are handed to the
sender by the composition root (`api/scheduler.py`); `sfa` never imports them. In-app
delivery needs no outside system and is defined here.
"""

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Message:
    notification_id: int
    channel: str
    to: str | None  # email address, phone number, push topic; None for in-app
    subject: str
    body: str
    language: str
    # Our stable id for this notification. Providers that dedupe by a client reference
    # (SMS gateway `reference`, push `collapse_key`) make a retry after a crash harmless.
    reference: str
    data: dict = field(default_factory=dict)
    # The reference of the notification this one resends (an admin's resend), if any.
    resend_of: str | None = None


class DeliveryError(Exception):
    """The adapter could not deliver. `permanent` errors are parked, others retried."""

    permanent = False

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class TransientDeliveryError(DeliveryError):
    permanent = False


class PermanentDeliveryError(DeliveryError):
    permanent = True


class ChannelAdapter(Protocol):
    # True when the provider dedupes by `Message.reference`: a row whose sender died
    # mid-delivery may then be sent again safely. False (email): it becomes 'uncertain'.
    idempotent: bool

    def send(self, message: Message) -> str | None:
        """Deliver or raise DeliveryError; returns the provider's message id if any."""
        ...


class InAppChannel:
    """In-app notifications are rows in our own table: "delivering" makes them visible."""

    idempotent = True

    def send(self, message: Message) -> str | None:
        return None


def reference_for(notification_id: int) -> str:
    return f"sfa-notification-{notification_id}"


def push_topic(user_id: int) -> str:
    """The app subscribes to this topic after login; push goes to every device of the user."""
    return f"/topics/user-{user_id}"
