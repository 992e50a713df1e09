"""Send due deliveries: claim, POST, record — each step in its own short transaction
(as the notification sender: no transaction stays open across a network call).

1. claim  — due pending deliveries, each the earliest open one of its endpoint and
            subject (repository.py), become `sending`; COMMIT.
2. send   — outside any transaction, in a thread pool: the SSRF guard on the address
            the URL resolves to now, then a POST to that very address (the Host header
            and TLS server name are the URL's), signed (signing.py), 15 s timeout, no
            redirects followed, no proxy from the environment.
3. record — delivered (2xx); 410: failed and the endpoint disabled; anything else (an
            error, a timeout, any other status): retried after an exponential backoff
            with jitter, at least as late as the receiver's Retry-After, until the retry
            window (3 days) ends, then failed. An endpoint whose every attempt failed
            for 3 days is disabled. COMMIT (fenced on the claim).

A dispatcher that dies between 1 and 3 leaves rows `sending`; after `LEASE` they are
sent again (same webhook-id: receivers dedupe).
"""

import email.utils
import logging
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.orm import Session

from sfa.config import get_settings
from sfa.db import committing
from sfa.webhooks import repository, service, signing, ssrf
from sfa.webhooks.models import DeliveryState, WebhookEndpoint
from sfa.webhooks.repository import Claim

log = logging.getLogger("sfa.webhooks")

RETRY_WINDOW = timedelta(days=3)
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY_GAP = timedelta(hours=12)
JITTER = 0.2  # each wait is ±20 %
LEASE = timedelta(minutes=2)  # several timeouts: a claim older than this is a dead one
RECOVER_SECONDS = 30.0
RESPONSE_BODY_CHARS = 2000
ERROR_CHARS = 500

Clock = Callable[[], datetime]


def backoff(attempt: int, rng: Callable[[], float] = random.random) -> timedelta:
    """The wait after failed attempt `attempt`: 30 s doubling, at most 12 h, ±20 %."""
    base = min(FIRST_RETRY * 2 ** (attempt - 1), MAX_RETRY_GAP)
    return base * (1 - JITTER + 2 * JITTER * rng())


def retry_after(value: str | None, now: datetime) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a wait from `now`."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        at = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    return max(at - now, timedelta(0))


@dataclass
class Sent:
    claim: Claim
    started_at: datetime
    duration_ms: int
    status: int | None = None
    body: str | None = None
    error: str | None = None
    retry_after: str | None = None


@dataclass
class DispatchReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    disabled: list[int] = field(default_factory=list)
    recovered: int = 0


def _read_body(response: httpx.Response) -> str:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= RESPONSE_BODY_CHARS * 4:
            break
    return b"".join(chunks).decode("utf-8", "replace")[:RESPONSE_BODY_CHARS]


def _request_url(target: ssrf.Target) -> str:
    host = f"[{target.address}]" if ":" in target.address else target.address
    return f"{target.scheme}://{host}:{target.port}{target.path}"


def send(client: httpx.Client, claim: Claim, clock: Clock) -> Sent:
    """One POST of `claim` (never raises: an error is part of the outcome)."""
    started, start = clock(), time.perf_counter()
    sent = Sent(claim, started, 0)
    try:
        target = ssrf.check_url(claim.url)
        headers = signing.headers(claim.message_id, started, claim.body, claim.keys)
        default_port = 443 if target.scheme == "https" else 80
        headers["host"] = target.host + ("" if target.port == default_port else f":{target.port}")
        headers["user-agent"] = "sfa-webhooks/1"
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        with client.stream(
            "POST",
            _request_url(target),
            content=claim.body.encode(),
            headers=headers,
            extensions=extensions,
        ) as response:
            sent.status = response.status_code
            sent.retry_after = response.headers.get("retry-after")
            sent.body = _read_body(response)
    except ssrf.UnsafeUrl as exc:
        sent.error = f"refused: {exc}"[:ERROR_CHARS]
    except httpx.HTTPError as exc:
        sent.error = f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]
    sent.duration_ms = int((time.perf_counter() - start) * 1000)
    return sent


def _outcome(sent: Sent, now: datetime) -> dict:
    claim = sent.claim
    row = {
        "id": claim.id,
        "claimed_at": claim.claimed_at,
        "attempt": claim.attempt,
        "started_at": sent.started_at,
        "duration_ms": sent.duration_ms,
        "status": sent.status,
        "error": sent.error,
        "response_body": sent.body,
        "next_attempt_at": None,
        "delivered_at": None,
    }
    if sent.status is not None and 200 <= sent.status < 300:
        return row | {"state": DeliveryState.delivered.value, "delivered_at": now}
    if sent.status == 410:
        return row | {"state": DeliveryState.failed.value, "error": "410 Gone: endpoint disabled"}
    wait = backoff(claim.attempt)
    asked = retry_after(sent.retry_after, now)
    if asked is not None:
        wait = max(wait, asked)
    if now + wait > claim.window_started_at + RETRY_WINDOW:
        given_up = f"given up after {claim.attempt} attempts"
        return row | {"state": DeliveryState.failed.value, "error": sent.error or given_up}
    return row | {"state": DeliveryState.pending.value, "next_attempt_at": now + wait}


class Dispatcher:
    """Sends the due deliveries of the current company's database (see the module doc)."""

    def __init__(
        self,
        make_session: Callable[[], Session],
        *,
        client: httpx.Client | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        workers: int | None = None,
        batch_size: int | None = None,
    ):
        settings = get_settings()
        self.make_session, self.clock = make_session, clock
        self.batch_size = batch_size or settings.webhooks_batch_size
        self.client = client or httpx.Client(
            timeout=settings.webhooks_timeout_s,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )
        self._recovered_at = float("-inf")
        self.pool = ThreadPoolExecutor(
            max_workers=workers or settings.webhooks_workers, thread_name_prefix="webhooks"
        )

    def _recovery_due(self) -> bool:
        # A scan of the claims in flight: once per RECOVER_SECONDS, not on every pass.
        now = time.monotonic()
        if now - self._recovered_at < RECOVER_SECONDS:
            return False
        self._recovered_at = now
        return True

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.client.close()

    def run_once(self) -> DispatchReport:
        """One pass: recover dead claims, claim a batch, send it, record it."""
        report = DispatchReport()
        with committing(self.make_session()) as session:
            if self._recovery_due():
                report.recovered = repository.recover_expired(session, self.clock() - LEASE)
            claims = repository.claim(session, self.clock(), self.batch_size)
        report.claimed = len(claims)
        if not claims:
            return report
        results = list(self.pool.map(lambda c: send(self.client, c, self.clock), claims))
        with committing(self.make_session()) as session:
            self._record(session, results, report)
        return report

    def _record(self, session: Session, results: list[Sent], report: DispatchReport) -> None:
        now = self.clock()
        outcomes = [_outcome(sent, now) for sent in results]
        repository.record(session, outcomes)
        ok = {o_["id"] for o_ in outcomes if o_["state"] == DeliveryState.delivered.value}
        by_id = {sent.claim.id: sent.claim.endpoint_id for sent in results}
        report.delivered = len(ok)
        report.retried = sum(o_["state"] == DeliveryState.pending.value for o_ in outcomes)
        report.failed = len(outcomes) - report.delivered - report.retried
        succeeded = sorted({by_id[i] for i in ok})
        repository.endpoint_succeeded(session, succeeded)
        failing = sorted(
            {by_id[o_["id"]] for o_ in outcomes if o_["id"] not in ok} - set(succeeded)
        )
        repository.endpoint_failed(session, failing, now)
        gone = sorted({sent.claim.endpoint_id for sent in results if sent.status == 410})
        for endpoint_id in gone:
            self._disable(session, endpoint_id, now, report, gone=True)
        for endpoint in repository.failing_since_before(session, now - RETRY_WINDOW):
            self._disable(session, endpoint.id, now, report, gone=False)

    def _disable(
        self, session: Session, endpoint_id: int, now: datetime, report: DispatchReport, gone: bool
    ) -> None:
        endpoint = session.get(WebhookEndpoint, endpoint_id)
        if endpoint is None or not endpoint.active:
            return
        if gone:
            reasons = (
                "the receiver answered 410 Gone",
                "penerima menjawab 410 Gone",
            )
        else:
            reasons = (
                "every delivery failed for 3 days",
                "semua pengiriman gagal selama 3 hari",
            )
        service.disable(session, endpoint, reason_en=reasons[0], reason_id=reasons[1], now=now)
        report.disabled.append(endpoint_id)
        log.warning("webhook %s (%s) disabled: %s", endpoint.id, endpoint.name, reasons[0])
