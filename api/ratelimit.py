"""Rate limits per user and per API key (docs/api.md, "Rate limits").

A fixed window per caller: at most `rate_limit_user_per_minute` requests per minute for a
user, `rate_limit_api_key_per_minute` for an API key (0 switches a limit off). The
request that goes over is refused with 429 `throttled` and `Retry-After`; every
authenticated response carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset` (seconds until the window starts again), so a client can pace itself.

Counted after the caller is authenticated (api/deps.py), so a stranger cannot spend a
key's allowance with a wrong secret. Counted in the API process's memory: a counter in
PostgreSQL would put a row lock on every request of a busy API key and a second
connection in every request. With N API processes behind a balancer a caller may get up
to N × the limit; docs/scaling.md says to divide the setting by N. The table of callers is
bounded (the least recently seen are forgotten first: a forgotten caller starts afresh).
"""

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sfa.auth.principal import Principal
from sfa.config import get_settings
from sfa.errors import Throttled

WINDOW_S = 60
MAX_CALLERS = 100_000
STATE_KEY = "rate_limit"


@dataclass(frozen=True)
class Quota:
    limit: int
    remaining: int
    reset_s: int  # seconds until the window starts again

    def headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"ratelimit-limit", str(self.limit).encode()),
            (b"ratelimit-remaining", str(self.remaining).encode()),
            (b"ratelimit-reset", str(self.reset_s).encode()),
        ]


class Limiter:
    """Fixed windows of `window_s` seconds per caller key, thread-safe (the API's worker
    threads and its event loop both authenticate)."""

    def __init__(
        self,
        *,
        window_s: int = WINDOW_S,
        max_callers: int = MAX_CALLERS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.window_s = window_s
        self.max_callers = max_callers
        self.clock = clock
        self._windows: OrderedDict[str, list[float]] = OrderedDict()  # key → [start, count]
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> tuple[Quota, bool]:
        """Count one request of `key`: (its quota after it, whether it is allowed). A
        refused request does not count, so a client that waits `reset_s` gets through."""
        now = self.clock()
        with self._lock:
            window = self._windows.get(key)
            if window is None or now >= window[0] + self.window_s:
                window = [now, 0]
                self._windows[key] = window
            self._windows.move_to_end(key)
            while len(self._windows) > self.max_callers:
                self._windows.popitem(last=False)
            allowed = window[1] < limit
            if allowed:
                window[1] += 1
            reset_s = max(1, math.ceil(window[0] + self.window_s - now))
            return Quota(limit, int(limit - window[1]), reset_s), allowed


_limiter = Limiter()


def limit_for(principal: Principal) -> int:
    settings = get_settings()
    if principal.kind == "api_key":
        return settings.rate_limit_api_key_per_minute
    return settings.rate_limit_user_per_minute


def check(state: dict, principal: Principal, limiter: Limiter | None = None) -> None:
    """Count the request of `principal`; keep its quota in the request's `state` (the
    headers) and refuse it with Throttled past the limit."""
    limit = limit_for(principal)
    if limit <= 0:
        return
    limiter = limiter or _limiter
    quota, allowed = limiter.hit(principal.actor, limit)
    state[STATE_KEY] = quota
    if not allowed:
        raise Throttled(
            f"more than {limit} requests in {limiter.window_s} s from this "
            f"{'API key' if principal.kind == 'api_key' else 'user'}",
            retry_after_s=quota.reset_s,
            hint=f"retry after {quota.reset_s} s; the RateLimit-* headers of every response "
            "say how much is left",
        )


class RateLimitHeaders:
    """Adds the caller's quota, counted while the request was authenticated, to the
    response (errors included: a 429 says when to come back)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_quota(message: Message) -> None:
            if message["type"] == "http.response.start":
                quota = scope.get("state", {}).get(STATE_KEY)
                if quota is not None:
                    message["headers"] = [*message.get("headers", ()), *quota.headers()]
            await send(message)

        await self.app(scope, receive, send_with_quota)
