"""HTTP status → delivery error, shared by the SMS gateway and push adapters."""

import httpx

from sfa.notifications.channels import PermanentDeliveryError, TransientDeliveryError

RETRYABLE = {408, 425, 429}


def post(client: httpx.Client, url: str, *, json: dict, headers: dict, what: str) -> dict:
    try:
        response = client.post(url, json=json, headers=headers)
    except httpx.HTTPError as exc:
        raise TransientDeliveryError(f"{what} unreachable: {type(exc).__name__}") from exc
    if response.is_success:
        try:
            return response.json()
        except ValueError:
            return {}
    error = f"{what} answered {response.status_code}: {response.text[:300]}"
    if response.status_code >= 500 or response.status_code in RETRYABLE:
        raise TransientDeliveryError(error)
    raise PermanentDeliveryError(error)
