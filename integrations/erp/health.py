"""The ERP's part of readiness (``GET /readyz``) and of the start-up log: are the
``SFA_ERP_*`` settings usable, does the ERP answer, does the login work.

A live check logs in to the ERP, so its result is kept for a while per process: a probe
every few seconds must not log in every few seconds, and above all a wrong password must
not be tried again and again (Tryton answers each failed login of the same user more
slowly, then locks it out after ``[session] max_attempt``). The settings come from the
environment and do not change while the process runs; what a person fixes in the ERP
(a password, a user's company) is seen within ``TTL_PROBLEM``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from integrations.erp.factory import build_connector, config_problems, erp_settings_apply
from sfa.config import Settings, get_settings
from sfa.erp.connector import ErpError, ErpFacts, ErpMisconfigured

log = logging.getLogger("integrations.erp.health")

CHECK_TIMEOUT_S = 5.0  # per call of a readiness check (the sync's own calls wait longer)
TTL_OK = 60.0
TTL_UNAVAILABLE = 30.0
TTL_PROBLEM = 900.0


@dataclass(frozen=True)
class ErpHealth:
    status: str  # disabled, ok, unavailable, misconfigured
    problems: tuple[str, ...] = ()
    facts: ErpFacts | None = None
    checked_at: float = field(default_factory=time.time)


_lock = threading.Lock()
_cache: dict[tuple, tuple[float, ErpHealth]] = {}


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _key(settings: Settings) -> tuple:
    return (
        settings.erp_url,
        settings.erp_database,
        settings.erp_user,
        hash(settings.erp_password.get_secret_value()),
    )


def check(settings: Settings | None = None) -> ErpHealth:
    """The (cached) state of the ERP connection."""
    settings = settings or get_settings()
    if not erp_settings_apply():
        return ErpHealth("disabled")
    key = _key(settings)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        health = _check_now(settings)
        ttl = {"ok": TTL_OK, "disabled": TTL_PROBLEM, "unavailable": TTL_UNAVAILABLE}
        _cache[key] = (time.monotonic() + ttl.get(health.status, TTL_PROBLEM), health)
        return health


def _check_now(settings: Settings) -> ErpHealth:
    if not settings.erp_url:
        return ErpHealth("disabled")
    problems = config_problems(settings)
    if problems:
        return ErpHealth("misconfigured", tuple(problems))
    connector = build_connector(settings, timeout_s=CHECK_TIMEOUT_S)
    assert connector is not None
    try:
        with connector:
            facts = connector.check()
    except ErpMisconfigured as exc:
        return ErpHealth("misconfigured", (str(exc),))
    except ErpError as exc:
        return ErpHealth("unavailable", (str(exc),))
    return ErpHealth("ok", facts=facts)


def log_at_start(settings: Settings | None = None) -> ErpHealth:
    """Check once and log the outcome: an error for each problem, with its fix."""
    health = check(settings)
    if health.status == "ok" and health.facts is not None:
        log.info("ERP sync: Tryton %s answers, login works", health.facts.server_version)
        for warning in health.facts.warnings:
            log.warning("ERP sync: %s", warning)
    elif health.status == "disabled":
        log.info("ERP sync disabled (SFA_ERP_URL not set)")
    else:
        for problem in health.problems:
            log.error("ERP sync %s: %s", health.status, problem)
    return health


def log_at_start_in_background(settings: Settings | None = None) -> threading.Thread:
    """The same, without holding up the process's start (the ERP may be slow or down)."""
    thread = threading.Thread(
        target=log_at_start, args=(settings,), name="erp-config-check", daemon=True
    )
    thread.start()
    return thread
