"""The ERP sync engine: orders out (outbox push), master data and documents in (pulls).

``run_sync(sessions, connector=..., trigger=...)`` does one run and returns its
``SyncRun`` row:

* **One run at a time across processes**: the run holds the PostgreSQL advisory lock
  ``erp-sync`` (transaction-scoped, on a dedicated connection kept for the whole run, so
  the per-item commits below do not release it and a crashed process releases it with its
  connection). A run that finds the lock taken records a ``skipped`` run and does nothing.
* **Push**: outbox rows ``pending`` and due (``next_attempt_at <= now``), oldest first,
  each in its own transaction. The sale reference is ``SFA-<order id>``
  (``upserts.sale_reference``): our primary key is stable and unique in our database, and
  the prefix keeps it apart from the free-text customer references people type into the
  ERP's sale reference field. ``push_sale`` checks by reference before it creates
  anything, so a crash after the ERP accepted a sale never creates a second one.
  Outcomes: accepted → order ``confirmed`` (or ``sent``), ``erp_sale_id``/``erp_number``
  set, outbox ``done``; ``ErpUnavailable`` (or an unexpected error on our side) →
  ``attempts + 1``, ``next_attempt_at = now + backoff(attempts)``, ``last_error``;
  ``ErpRejected``, a customer without external id, an order without lines → outbox
  ``parked`` with the reason, until an admin calls ``requeue``. After
  ``MAX_CONSECUTIVE_UNAVAILABLE`` transient failures in a row the push phase stops for
  this run (the ERP is down: the remaining rows keep their place and are not charged an
  attempt).
* **Pull**: per entity (products, customers, invoices, payments, in that order) from the
  stored cursor, page by page; each page is applied and its ``next_cursor`` stored in the
  same transaction, so a crash mid-pull loses nothing and (the upserts being idempotent)
  duplicates nothing. ``ErpUnavailable`` stops that entity for this run and is recorded.

``sessions`` is either a session factory (each unit of work gets its own session and
transaction; what the scheduler uses) or one ``Session`` (each unit of work commits it;
what a request handler uses). Either way the engine owns the transaction boundaries.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.customers.models import Customer
from sfa.db import advisory_key, committing, execute_dml
from sfa.erp import upserts
from sfa.erp.connector import (
    ErpConnector,
    ErpRejected,
    ErpSale,
    ErpSaleLine,
    ErpUnavailable,
)
from sfa.erp.models import SyncCursor, SyncRun
from sfa.errors import InvalidInput
from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState, OutboxState
from sfa.pagination import Page, paginate

log = logging.getLogger("sfa.erp.sync")

SessionSource = Session | Callable[[], Session]

LOCK_NAME = "erp-sync"
PULL_ENTITIES = ("products", "customers", "invoices", "payments")
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(minutes=60)
MAX_CONSECUTIVE_UNAVAILABLE = 3
MAX_ERRORS = 100  # errors kept on a run row; the rest are only counted
_PUSHABLE = (OrderState.approved, OrderState.sent, OrderState.confirmed)


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 1, 2, 4 … 60 minutes."""
    if attempts < 1:
        return timedelta(0)
    return min(BACKOFF_CAP, BACKOFF_BASE * (2 ** min(attempts - 1, 16)))


# -- transactions and the run lock -------------------------------------------------------


@contextmanager
def _tx(sessions: SessionSource) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on error. A session passed in is the
    caller's to close; one made from a factory is closed here."""
    if isinstance(sessions, Session):
        session, close = sessions, False
    else:
        session, close = sessions(), True
    with committing(session, close=close) as unit:
        yield unit


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
            text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": advisory_key(LOCK_NAME)}
        ).scalar()
        yield bool(got)


# -- the run ------------------------------------------------------------------------------


@dataclass
class _Run:
    sessions: SessionSource
    connector: ErpConnector
    now: Callable[[], datetime]
    tz: ZoneInfo
    page_size: int
    max_pages: int | None
    counts: dict = field(default_factory=dict)
    errors: list = field(default_factory=list)
    dropped_errors: int = 0
    work_done: int = 0

    def error(self, **entry) -> None:
        log.warning("erp sync: %s", entry)
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(entry)
        else:
            self.dropped_errors += 1


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_sync(
    sessions: SessionSource,
    *,
    connector: ErpConnector,
    trigger: str = "manual",
    page_size: int = 100,
    max_pages: int | None = None,
    push: bool = True,
    pull: bool = True,
    now: Callable[[], datetime] = _utcnow,
) -> SyncRun:
    """Run one sync (push then pull) unless another is running; returns the run row."""
    started = time.perf_counter()
    with _run_lock(sessions) as locked:
        if not locked:
            log.info("erp sync already running elsewhere; skipped")
            with _tx(sessions) as s:
                at = now()
                run = SyncRun(
                    trigger=trigger,
                    status="skipped",
                    started_at=at,
                    finished_at=at,
                    duration_ms=0,
                    counts={},
                    errors=[
                        {
                            "phase": "run",
                            "kind": "skipped",
                            "message": "another sync run was in progress",
                        }
                    ],
                )
                s.add(run)
                s.flush()
                return _detached(s, sessions, run)
        with _tx(sessions) as s:
            # A run left "running" by a crashed process is over: the lock proves it.
            s.execute(
                update(SyncRun)
                .where(SyncRun.status == "running")
                .values(
                    status="failed",
                    finished_at=now(),
                    errors=[
                        {
                            "phase": "run",
                            "kind": "interrupted",
                            "message": "the process running this sync stopped before the end",
                        }
                    ],
                )
            )
            run = SyncRun(trigger=trigger, status="running", started_at=now(), counts={}, errors=[])
            s.add(run)
            s.flush()
            run_id = run.id
            tz = company_service.get_company_settings(s).tz
        ctx = _Run(
            sessions=sessions,
            connector=connector,
            now=now,
            tz=tz,
            page_size=page_size,
            max_pages=max_pages,
        )
        try:
            if push:
                _push_phase(ctx)
            if pull:
                _pull_phase(ctx)
        except Exception as exc:  # a bug of ours: record it rather than leave "running"
            log.exception("erp sync run %s failed", run_id)
            ctx.error(phase="run", kind="internal", message=repr(exc)[:500])
        if ctx.dropped_errors:
            ctx.counts["errors_not_listed"] = ctx.dropped_errors
        if not ctx.errors:
            status = "ok"
        elif ctx.work_done:
            status = "partial"
        else:
            status = "failed"
        with _tx(sessions) as s:
            run = s.get_one(SyncRun, run_id)
            run.status = status
            run.counts = ctx.counts
            run.errors = ctx.errors
            run.finished_at = now()
            run.duration_ms = int((time.perf_counter() - started) * 1000)
            s.flush()
            log.info("erp sync run %s: %s %s", run_id, status, ctx.counts)
            return _detached(s, sessions, run)


def _detached(session: Session, sessions: SessionSource, run: SyncRun) -> SyncRun:
    session.refresh(run)
    if not isinstance(sessions, Session):
        session.expunge(run)  # usable after its session closed
    return run


# -- push -----------------------------------------------------------------------------------


class _Unpushable(Exception):
    """The order cannot be sent as it is: a person must fix it (parked)."""


def build_sale(session: Session, *, order: Order, tz: ZoneInfo) -> ErpSale:
    """The ERP sale for one of our orders."""
    if order.state not in _PUSHABLE:
        raise _Unpushable(f"order {order.id} is {order.state.value}, not approved")
    customer = session.get(Customer, order.customer_id)
    if customer is None or not customer.external_id:
        raise _Unpushable(
            f"customer {customer.code if customer else order.customer_id} has no ERP "
            "external id: link it to its ERP party (customer external_id) and re-queue"
        )
    rows = session.execute(
        select(OrderLine, Product.external_id)
        .join(Product, Product.id == OrderLine.product_id)
        .where(OrderLine.order_id == order.id)
        .order_by(OrderLine.line_no)
    ).all()
    if not rows:
        raise _Unpushable(f"order {order.id} has no lines")
    try:
        lines = tuple(
            ErpSaleLine(
                product_external_id=external_id,
                quantity=Decimal(line.quantity),
                unit_price=Decimal(line.unit_price),
                discount=Decimal(line.discount_pct or 0) / 100,
            )
            for line, external_id in rows
        )
        return ErpSale(
            reference=upserts.sale_reference(order.id),
            customer_external_id=customer.external_id,
            lines=lines,
            currency=order.currency,
            sale_date=order.created_at.astimezone(tz).date(),
            description=f"Field order {order.id}",
            comment=order.note,
        )
    except ValueError as exc:
        raise _Unpushable(f"order {order.id}: {exc}") from exc


def _park(box: ErpOutbox, reason: str) -> None:
    box.state = OutboxState.parked
    box.attempts += 1
    box.last_error = reason[:1000]


def _retry_later(box: ErpOutbox, reason: str, now: datetime) -> None:
    box.attempts += 1
    box.next_attempt_at = now + backoff(box.attempts)
    box.last_error = reason[:1000]


def _push_phase(ctx: _Run) -> None:
    counts = ctx.counts.setdefault(
        "push", {"due": 0, "sent": 0, "confirmed": 0, "retry_later": 0, "parked": 0}
    )
    with _tx(ctx.sessions) as s:
        due = list(
            s.scalars(
                select(ErpOutbox.id)
                .where(
                    ErpOutbox.state == OutboxState.pending, ErpOutbox.next_attempt_at <= ctx.now()
                )
                .order_by(ErpOutbox.created_at, ErpOutbox.id)
            )
        )
    counts["due"] = len(due)
    unavailable_in_a_row = 0
    for outbox_id in due:
        outcome = _push_one(ctx, outbox_id)
        if outcome in counts:
            counts[outcome] += 1
        if outcome == "retry_later":
            unavailable_in_a_row += 1
            if unavailable_in_a_row >= MAX_CONSECUTIVE_UNAVAILABLE:
                left = len(due) - sum(counts[k] for k in counts if k != "due")
                ctx.error(
                    phase="push",
                    kind="stopped",
                    message=f"{unavailable_in_a_row} transient failures in a row: "
                    f"push stopped for this run, {left} order(s) left for the next",
                )
                counts["not_tried"] = left
                break
        else:
            unavailable_in_a_row = 0


def _push_one(ctx: _Run, outbox_id: int) -> str:
    order_id = None
    try:
        with _tx(ctx.sessions) as s:
            box = s.scalar(
                select(ErpOutbox)
                .where(ErpOutbox.id == outbox_id, ErpOutbox.state == OutboxState.pending)
                .with_for_update(skip_locked=True)
            )
            if box is None:
                return "gone"  # done or re-queued meanwhile
            order_id = box.order_id
            order = s.get_one(Order, box.order_id)
            try:
                sale = build_sale(s, order=order, tz=ctx.tz)
                ref = ctx.connector.push_sale(sale)
                if ref.state == "cancelled":
                    raise ErpRejected(
                        f"the ERP sale {ref.number or ref.external_id} for this order is cancelled",
                        code="cancelled",
                    )
            except (_Unpushable, ErpRejected) as exc:
                _park(box, str(exc))
                ctx.error(
                    phase="push",
                    kind="parked",
                    outbox_id=outbox_id,
                    order_id=order_id,
                    message=str(exc)[:500],
                )
                return "parked"
            except ErpUnavailable as exc:
                _retry_later(box, f"ERP unavailable: {exc}", ctx.now())
                ctx.error(
                    phase="push",
                    kind="unavailable",
                    outbox_id=outbox_id,
                    order_id=order_id,
                    message=str(exc)[:500],
                )
                return "retry_later"
            order.erp_sale_id = ref.external_id
            order.erp_number = ref.number
            if order.state in (OrderState.approved, OrderState.sent):
                order.state = OrderState.confirmed if ref.confirmed else OrderState.sent
            box.state = OutboxState.done
            box.attempts += 1
            box.done_at = ctx.now()
            box.last_error = None
            ctx.work_done += 1
            return "confirmed" if ref.confirmed else "sent"
    except Exception as exc:  # ours (bug, database): never lose or block the others
        log.exception("erp sync: pushing outbox row %s failed", outbox_id)
        with _tx(ctx.sessions) as s:
            box = s.get(ErpOutbox, outbox_id)
            if box is not None:
                _retry_later(box, f"internal error: {exc!r}", ctx.now())
        ctx.error(
            phase="push",
            kind="internal",
            outbox_id=outbox_id,
            order_id=order_id,
            message=repr(exc)[:500],
        )
        return "retry_later"


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


def _pull_phase(ctx: _Run) -> None:
    pulled = ctx.counts.setdefault("pull", {})
    for entity in PULL_ENTITIES:
        counts = pulled.setdefault(entity, {"pages": 0, "items": 0})
        pull = getattr(ctx.connector, f"pull_{entity}")
        with _tx(ctx.sessions) as s:
            cursor = get_cursor(s, entity)
        while True:
            try:
                page = pull(cursor, limit=ctx.page_size)
            except (ErpUnavailable, ErpRejected) as exc:
                kind = "unavailable" if isinstance(exc, ErpUnavailable) else "rejected"
                ctx.error(phase="pull", entity=entity, kind=kind, message=str(exc)[:500])
                break
            try:
                with _tx(ctx.sessions) as s:
                    applied = _APPLY[entity](s, page.items)
                    store_cursor(s, entity, page.next_cursor)
            except Exception as exc:
                log.exception("erp sync: applying a %s page failed", entity)
                ctx.error(phase="pull", entity=entity, kind="internal", message=repr(exc)[:500])
                break
            cursor = page.next_cursor
            counts["pages"] += 1
            counts["items"] += len(page.items)
            for key, value in applied.extra.items():
                counts[key] = counts.get(key, 0) + value
            ctx.work_done += 1
            if not page.has_more:
                break
            if ctx.max_pages is not None and counts["pages"] >= ctx.max_pages:
                counts["more_next_run"] = True
                break


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


def list_runs(session: Session, *, limit: int, offset: int) -> Page:
    stmt = select(SyncRun).order_by(SyncRun.started_at.desc(), SyncRun.id.desc())
    return paginate(session, stmt, limit=limit, offset=offset)


def list_outbox(session: Session, *, state: OutboxState | None, limit: int, offset: int) -> Page:
    stmt = select(ErpOutbox).order_by(ErpOutbox.created_at.desc(), ErpOutbox.id.desc())
    if state is not None:
        stmt = stmt.where(ErpOutbox.state == state)
    return paginate(session, stmt, limit=limit, offset=offset)
