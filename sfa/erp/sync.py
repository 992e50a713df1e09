"""The ERP sync engine: orders out (outbox push), master data and documents in (pulls).

``run_sync(sessions, connector=..., trigger=...)`` does one run and returns its
``SyncRun`` row:

* **One run at a time across processes**: the run holds the PostgreSQL advisory lock
  ``erp-sync`` (transaction-scoped, on a dedicated connection kept for the whole run, so
  the per-item commits below do not release it and a crashed process releases it with its
  connection). A run that finds the lock taken records a ``skipped`` run and does nothing.
  A run left ``running`` by a dead process is shown ``interrupted`` (``runs.py``).
* **Check**: ``connector.check()`` first. An ERP that cannot be reached, or settings that
  are wrong (URL, database, login), end the run with that one error: no order is charged
  a failed attempt for an outage or a typo. The ERP's price precision and currency
  rounding are compared with the company settings they must match (``sfa.money``).
* **Push** (``push.py``): outbox rows, each in its own transaction.
* **Pull**: per entity (products, customers, invoices, payments, in that order) from the
  stored cursor, page by page; each page is applied and its ``next_cursor`` stored in the
  same transaction, so a crash mid-pull loses nothing and (the upserts being idempotent)
  duplicates nothing. ``ErpUnavailable`` stops that entity for this run and is recorded.

``sessions`` is either a session factory (each unit of work gets its own session and
transaction; what the scheduler uses) or one ``Session`` (each unit of work commits it;
what a request handler uses). Either way the engine owns the transaction boundaries.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from sfa.company import service as company_service
from sfa.db import execute_dml
from sfa.erp import runs, upserts
from sfa.erp.connector import ErpConnector, ErpFacts, ErpMisconfigured, ErpRejected, ErpUnavailable
from sfa.erp.context import RunContext, SessionSource, log, tx
from sfa.erp.models import SyncCursor, SyncRun
from sfa.erp.push import backoff, build_sale, push_phase
from sfa.errors import InvalidInput
from sfa.orders.models import ErpOutbox, OutboxState
from sfa.pagination import Page, paginate

__all__ = ["backoff", "build_sale", "list_outbox", "list_runs", "requeue", "run_sync"]

LOCK_NAME = runs.LOCK_NAME
PULL_ENTITIES = ("products", "customers", "invoices", "payments")


def _utcnow() -> datetime:
    return datetime.now(UTC)


# -- the run lock ---------------------------------------------------------------------------


def _engine(sessions: SessionSource) -> Engine:
    if isinstance(sessions, Session):
        bind = sessions.get_bind()
    else:
        session = sessions()
        try:
            bind = session.get_bind()
        finally:
            session.close()
    return bind.engine if isinstance(bind, Connection) else bind


@contextmanager
def _run_lock(sessions: SessionSource) -> Iterator[bool]:
    """Hold the ``erp-sync`` advisory lock on a dedicated connection for the whole run."""
    with _engine(sessions).connect() as conn, conn.begin():
        got = conn.execute(
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": runs.lock_key()}
        ).scalar()
        yield bool(got)


# -- the run ------------------------------------------------------------------------------


def run_sync(
    sessions: SessionSource,
    *,
    connector: ErpConnector,
    trigger: str = "manual",
    page_size: int = 100,
    max_pages: int | None = None,
    push: bool = True,
    pull: bool = True,
    push_waiting: bool = False,
    now: Callable[[], datetime] = _utcnow,
) -> SyncRun:
    """Run one sync (check, push, pull) unless another is running; returns the run row.
    ``push_waiting``: also push the orders still waiting out a retry delay (an admin's
    run: the ERP is back and someone is watching)."""
    started = time.perf_counter()
    with _run_lock(sessions) as locked:
        if not locked:
            return _skipped(sessions, trigger, now())
        with tx(sessions) as s:
            # A run left "running" by a crashed process is over: the lock proves it.
            runs.reap_dead_runs(s, now=now(), lock_is_ours=True)
            run = SyncRun(trigger=trigger, status="running", started_at=now(), counts={}, errors=[])
            s.add(run)
            s.flush()
            run_id = run.id
            settings = company_service.get_company_settings(s)
        ctx = RunContext(
            sessions=sessions,
            connector=connector,
            now=now,
            settings=settings,
            page_size=page_size,
            max_pages=max_pages,
            push_waiting=push_waiting,
        )
        try:
            if _check(ctx):
                if push:
                    push_phase(ctx)
                if pull:
                    _pull_phase(ctx)
        except Exception as exc:  # a bug of ours: record it rather than leave "running"
            log.exception("erp sync run %s failed", run_id)
            ctx.error(phase="run", kind="internal", message=repr(exc)[:500])
        return _finish(ctx, run_id, int((time.perf_counter() - started) * 1000))


def _skipped(sessions: SessionSource, trigger: str, at: datetime) -> SyncRun:
    log.info("erp sync already running elsewhere; skipped")
    with tx(sessions) as s:
        run = SyncRun(
            trigger=trigger,
            status="skipped",
            started_at=at,
            finished_at=at,
            duration_ms=0,
            counts={},
            errors=[
                {"phase": "run", "kind": "skipped", "message": "another sync run was in progress"}
            ],
        )
        s.add(run)
        s.flush()
        return _detached(s, sessions, run)


def _finish(ctx: RunContext, run_id: int, duration_ms: int) -> SyncRun:
    if ctx.dropped_errors:
        ctx.counts["errors_not_listed"] = ctx.dropped_errors
    if not ctx.errors:
        status = "ok"
    elif ctx.work_done:
        status = "partial"
    else:
        status = "failed"
    with tx(ctx.sessions) as s:
        run = s.get_one(SyncRun, run_id)
        run.status = status
        run.counts = ctx.counts
        run.errors = ctx.errors
        run.finished_at = ctx.now()
        run.duration_ms = duration_ms
        s.flush()
        log.info("erp sync run %s: %s %s", run_id, status, ctx.counts)
        return _detached(s, ctx.sessions, run)


def _detached(session: Session, sessions: SessionSource, run: SyncRun) -> SyncRun:
    session.refresh(run)
    if not isinstance(sessions, Session):
        session.expunge(run)  # usable after its session closed
    return run


# -- the check ------------------------------------------------------------------------------


def _check(ctx: RunContext) -> bool:
    """Whether the ERP answers with working settings; records why not."""
    try:
        facts = ctx.connector.check()
    except ErpMisconfigured as exc:
        ctx.error(phase="check", kind="misconfigured", message=str(exc)[:1000])
        return False
    except (ErpUnavailable, ErpRejected) as exc:
        ctx.error(phase="check", kind="unavailable", message=str(exc)[:1000])
        return False
    ctx.counts["check"] = {"server_version": facts.server_version, "warnings": list(facts.warnings)}
    for problem in settings_mismatches(ctx.settings, facts):
        ctx.error(phase="check", kind="settings", message=problem)
    return True


def settings_mismatches(settings, facts: ErpFacts) -> list[str]:
    """Company settings that must equal the ERP's for the figures to agree."""
    problems = []
    if facts.price_decimals is not None and facts.price_decimals != settings.price_decimals:
        problems.append(
            f"the ERP keeps unit prices with {facts.price_decimals} decimals, the setting "
            f"price_decimals is {settings.price_decimals}: set it to {facts.price_decimals} "
            "(PATCH /v1/settings) so that orders and sales carry the same net prices"
        )
    rounding = facts.currency_rounding
    if rounding is not None and rounding != settings.amount_rounding:
        problems.append(
            f"the ERP rounds {facts.currency or 'its currency'} amounts to {rounding:f}, the "
            f"setting amount_rounding is {settings.amount_rounding:f}: set it to {rounding:f} "
            "(PATCH /v1/settings) so that line amounts agree"
        )
    if facts.currency and facts.currency != settings.currency:
        problems.append(
            f"the ERP company's currency is {facts.currency}, the setting currency is "
            f"{settings.currency}: orders are sent in {settings.currency}"
        )
    return problems


# -- pull -----------------------------------------------------------------------------------

_APPLY: dict[str, Callable[[Session, Sequence[Any]], upserts.Applied]] = {
    "products": upserts.apply_products,
    "customers": upserts.apply_customers,
    "invoices": upserts.apply_invoices,
    "payments": upserts.apply_payments,
}


def get_cursor(session: Session, entity: str) -> str | None:
    row = session.get(SyncCursor, entity)
    return row.cursor if row else None


def store_cursor(session: Session, entity: str, cursor: str | None) -> None:
    stmt = insert(SyncCursor).values(entity=entity, cursor=cursor)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[SyncCursor.entity],
            set_={"cursor": stmt.excluded.cursor, "updated_at": datetime.now(UTC)},
        )
    )


def _pull_phase(ctx: RunContext) -> None:
    pulled = ctx.counts.setdefault("pull", {})
    for entity in PULL_ENTITIES:
        _pull_entity(ctx, entity, pulled.setdefault(entity, {"pages": 0, "items": 0}))


def _pull_entity(ctx: RunContext, entity: str, counts: dict) -> None:
    pull = getattr(ctx.connector, f"pull_{entity}")
    with tx(ctx.sessions) as s:
        cursor = get_cursor(s, entity)
    while True:
        try:
            page = pull(cursor, limit=ctx.page_size)
        except (ErpUnavailable, ErpRejected) as exc:
            kind = "unavailable" if isinstance(exc, ErpUnavailable) else "rejected"
            ctx.error(phase="pull", entity=entity, kind=kind, message=str(exc)[:500])
            return
        try:
            with tx(ctx.sessions) as s:
                applied = _APPLY[entity](s, page.items)
                store_cursor(s, entity, page.next_cursor)
        except Exception as exc:
            log.exception("erp sync: applying a %s page failed", entity)
            ctx.error(phase="pull", entity=entity, kind="internal", message=repr(exc)[:500])
            return
        cursor = page.next_cursor
        counts["pages"] += 1
        counts["items"] += len(page.items)
        if page.skipped:  # records the ERP scan passed over (parties that are not customers)
            key = "not_customers" if entity == "customers" else "skipped"
            counts[key] = counts.get(key, 0) + page.skipped
        for key, value in applied.extra.items():
            counts[key] = counts.get(key, 0) + value
        ctx.work_done += 1
        if not page.has_more:
            return
        if ctx.max_pages is not None and counts["pages"] >= ctx.max_pages:
            counts["more_next_run"] = True
            return


# -- admin ------------------------------------------------------------------------------


def requeue(session: Session, *, outbox_ids: list[int], now: datetime | None = None) -> int:
    """Put parked (or backing-off) outbox rows back in the queue, due now; returns how
    many. Done rows are left alone. Flushes; the caller commits."""
    if not outbox_ids:
        raise InvalidInput("give at least one outbox id")
    count = execute_dml(
        session,
        update(ErpOutbox)
        .where(
            ErpOutbox.id.in_(outbox_ids),
            ErpOutbox.state.in_((OutboxState.parked, OutboxState.pending)),
        )
        .values(state=OutboxState.pending, next_attempt_at=now or _utcnow(), attempts=0)
        .execution_options(synchronize_session=False),
    )
    session.flush()
    return count


def list_runs(session: Session, *, limit: int, offset: int, now: datetime | None = None) -> Page:
    """Runs, newest first; a run whose process died shows ``interrupted`` at once."""
    return runs.list_runs(session, limit=limit, offset=offset, now=now or _utcnow())


def list_outbox(session: Session, *, state: OutboxState | None, limit: int, offset: int) -> Page:
    stmt = select(ErpOutbox).order_by(ErpOutbox.created_at.desc(), ErpOutbox.id.desc())
    if state is not None:
        stmt = stmt.where(ErpOutbox.state == state)
    return paginate(session, stmt, limit=limit, offset=offset)
