"""SMS through an HTTP gateway: POST {to, text, sender, reference} with a bearer key.

Idempotent: the gateway drops a second message with the same `reference` (our
notification id), so a row whose sender crashed mid-delivery is retried safely.
"""

import httpx
from pydantic import SecretStr

from integrations.notify.http_errors import post
from sfa.notifications.channels import Message, PermanentDeliveryError


class HttpSmsChannel:
    idempotent = True

    def __init__(
        self,
        *,
        url: str,
        api_key: SecretStr | None,
        sender_id: str,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ):
        self.url, self.sender_id = url, sender_id
        self._api_key = api_key
        self._client = client or httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:
        return f"HttpSmsChannel({self.url})"

    def send(self, message: Message) -> str | None:
        if not message.to:
            raise PermanentDeliveryError("no phone number")
        headers = (
            {"Authorization": f"Bearer {self._api_key.get_secret_value()}"} if self._api_key else {}
        )
        body = post(
            self._client,
            self.url,
            headers=headers,
            what="SMS gateway",
            json={
                "to": message.to,
                "text": message.body,
                "sender": self.sender_id,
                "reference": message.reference,
            },
        )
        return str(body.get("id") or body.get("message_id") or "") or None
