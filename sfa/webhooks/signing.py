"""Signatures by the Standard Webhooks specification, through its reference library
(`standardwebhooks`): `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, one per
secret, separated by spaces (during a rotation the old and the new secret both sign)."""

import base64
import secrets
from datetime import datetime

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    """A random secret in the specification's format, `whsec_<base64>`."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature(message_id: str, timestamp: datetime, body: str, keys: list[str]) -> str:
    """The `webhook-signature` header: one signature per secret of `keys`."""
    return " ".join(Webhook(key).sign(message_id, timestamp, body) for key in keys)


def headers(message_id: str, timestamp: datetime, body: str, keys: list[str]) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": signature(message_id, timestamp, body, keys),
        "content-type": "application/json",
    }
