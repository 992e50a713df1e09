"""The webhooks consumer of the event stream, and the dispatcher loop that the scheduler
runs in a thread of its own (and `sfa webhooks-dispatch` in the foreground).

The consumer `webhooks` has its own cursor: it enqueues one delivery per event and
endpoint (idempotent: the webhook-id is derived from both). The scheduler's
`drain-events` job drains it every 5 s like every consumer; the loop drains it too
before each dispatch, so an event is usually sent well within a second of its commit.

Many companies: the loop goes through the companies it is given (the scheduler and the
CLI give every active company of the registry), bound to each one's database, each pass.
"""

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfa.config import get_settings
from sfa.db import Binding, bound, committing, get_sessionmaker
from sfa.events import consumers
from sfa.events.repository import Event
from sfa.webhooks import service
from sfa.webhooks.dispatcher import Dispatcher, DispatchReport

log = logging.getLogger("sfa.webhooks")

CONSUMER = "webhooks"


def _handle(session: Session, event: Event) -> None:
    service.enqueue_event(session, event)


consumers.register(CONSUMER, _handle)


def drain(make_session: Callable | None = None, *, batch: int = 500) -> consumers.DrainResult:
    """The webhooks consumer, one batch, in a transaction of its own."""
    make = make_session or get_sessionmaker()
    with committing(make()) as session:
        return consumers.drain(session, CONSUMER, batch=batch)


@dataclass
class PassReport:
    enqueued: int = 0
    dispatch: DispatchReport | None = None

    @property
    def busy(self) -> bool:  # did anything: the loop goes on at once
        return self.enqueued > 0 or bool(self.dispatch and self.dispatch.claimed)


def one_pass(dispatcher: Dispatcher, *, enqueue: bool = True, send: bool = True) -> PassReport:
    """Drain the stream into deliveries, then send what is due (the current company)."""
    report = PassReport()
    if enqueue:
        report.enqueued = drain(dispatcher.make_session).handled
    if send:
        report.dispatch = dispatcher.run_once()
    return report


Companies = Callable[[], Iterable[Binding | None]]
# How often the loop reads the registry again for companies created or disabled.
COMPANIES_SECONDS = 30.0
# Threads of the loop (see DispatchLoop.start_thread).
LANES = 2


def default_company() -> list[Binding | None]:
    """A deployment without a registry: the default company alone. (The scheduler and
    the CLI pass the registry's companies: sfa.tenants is theirs to import.)"""
    return [None]


class DispatchLoop:
    """Passes over every company until stopped; sleeps `poll_seconds` after a pass in
    which no company had anything to do. One Dispatcher (thread pool, HTTP client) per
    company, made on first use."""

    def __init__(self, companies: Companies = default_company, poll_seconds: float | None = None):
        self.read_companies = companies
        self._companies: list[Binding | None] = []
        self._read_at = float("-inf")
        self.poll_seconds = poll_seconds or get_settings().webhooks_poll_seconds
        self.stopping = threading.Event()
        self._dispatchers: dict[str, Dispatcher] = {}
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def _dispatcher(self, binding: Binding | None) -> Dispatcher:
        key = binding.company if binding is not None else ""
        with self._lock:
            return self._dispatchers.get(key) or self._make(key)

    def _make(self, key: str) -> Dispatcher:
        if key not in self._dispatchers:
            # The session is made when used, inside the pass's binding: the company's
            # engine of that moment (an idle company's pool may have been closed).
            self._dispatchers[key] = Dispatcher(lambda: get_sessionmaker()())
        return self._dispatchers[key]

    def companies(self) -> list[Binding | None]:
        if time.monotonic() - self._read_at > COMPANIES_SECONDS:
            try:
                self._companies = list(self.read_companies())
                self._read_at = time.monotonic()
            except Exception:  # the registry does not answer: keep the companies known
                log.exception("could not read the company registry; companies kept")
        return self._companies

    def run_pass(self, *, enqueue: bool = True, send: bool = True) -> bool:
        busy = False
        for binding in self.companies():
            try:
                with bound(binding):
                    dispatcher = self._dispatcher(binding)
                    busy |= one_pass(dispatcher, enqueue=enqueue, send=send).busy
            except Exception:  # one company's database: the others still get theirs
                name = binding.company if binding is not None else "default"
                log.exception("webhooks pass failed for company %s", name)
        return busy

    def run(self, *, enqueue: bool = True, send: bool = True) -> None:
        while not self.stopping.is_set():
            if not self.run_pass(enqueue=enqueue, send=send):
                self.stopping.wait(self.poll_seconds)

    def close(self) -> None:
        for dispatcher in self._dispatchers.values():
            dispatcher.close()
        self._dispatchers = {}

    def start_thread(self, lanes: int = LANES) -> threading.Thread:
        """Run the loop in threads (the first returned): one drains the stream into
        deliveries, `lanes` send them: while one lane records its batch or claims the
        next, another's requests are in flight. Lanes claim disjoint rows (SKIP
        LOCKED), so they never send the same delivery."""
        roles = [{"send": False}] + [{"enqueue": False}] * lanes
        threads = [
            threading.Thread(
                target=self.run, kwargs=role, name=f"webhooks-dispatcher-{i}", daemon=True
            )
            for i, role in enumerate(roles)
        ]
        for thread in threads:
            thread.start()
        self._threads = threads
        return threads[0]

    def join(self) -> None:
        for thread in self._threads:
            thread.join()

    def stop(self) -> None:
        """Stop every lane and close the dispatchers once they have finished."""
        self.stopping.set()
        self.join()
        self.close()
