"""Push through an FCM-style HTTP endpoint (legacy `send` shape).

`to` is a topic (`/topics/user-<id>`, which the app subscribes to) and `collapse_key` is
our notification reference, so a retried push replaces the first instead of doubling.
"""

import httpx
from pydantic import SecretStr

from integrations.notify.http_errors import post
from sfa.notifications.channels import Message, PermanentDeliveryError


class HttpPushChannel:
    idempotent = True

    def __init__(
        self,
        *,
        url: str,
        server_key: SecretStr | None,
        timeout_s: float = 10.0,
        client: httpx.Client | None = None,
    ):
        self.url = url
        self._server_key = server_key
        self._client = client or httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:
        return f"HttpPushChannel({self.url})"

    def send(self, message: Message) -> str | None:
        if not message.to:
            raise PermanentDeliveryError("no push topic or token")
        headers = (
            {"Authorization": f"key={self._server_key.get_secret_value()}"}
            if self._server_key
            else {}
        )
        body = post(
            self._client,
            self.url,
            headers=headers,
            what="push service",
            json={
                "to": message.to,
                "collapse_key": message.reference,
                "notification": {"title": message.subject, "body": message.body},
                "data": {
                    "notification_id": message.notification_id,
                    **{k: v for k, v in message.data.items() if v is not None},
                },
            },
        )
        results = body.get("results") or [{}]
        if results[0].get("error"):
            raise PermanentDeliveryError(f"push refused: {results[0]['error']}")
        return str(body.get("message_id") or results[0].get("message_id") or "") or None
