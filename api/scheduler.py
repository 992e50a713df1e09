"""The scheduler process: registers every job of every package and runs them.

Lives in `api` because it is a composition root: it may import `analytics` and
`integrations` jobs, which `sfa` may not.

Schedules follow the company settings without a restart: `Schedules.follow` runs every
`FOLLOW_SECONDS` and re-schedules a job whose schedule changed (`erp_sync_minutes`; the
timezone of the cron jobs). `sfa run-job NAME` runs any of these jobs once by hand,
under the same advisory lock.

Many companies (docs/tenancy.md): `CompanySchedules` keeps one `Schedules` per active
company of the registry and follows the registry too. Each company's jobs run bound to
its database, so each takes its advisory lock and claims its period in its own
`job_runs`; a company's job is an APScheduler job of its own (`<company>:<job>`), so one
company's failing or slow job never stops another's.
"""

import logging
import signal
from collections.abc import Callable
from datetime import UTC, date, datetime

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from integrations.erp import factory as erp_factory
from integrations.erp import health as erp_health
from integrations.notify.wiring import channels_from_settings
from integrations.pdf import mailbox
from integrations.pdf.reader import PdfReader
from sfa.anomalies import jobs as anomaly_jobs
from sfa.auth import console_sessions
from sfa.auth import service as auth_service
from sfa.company import service as company_service
from sfa.config import get_settings
from sfa.db import bound, get_sessionmaker, session_scope
from sfa.erp import overdue as erp_overdue
from sfa.erp import sync as erp_sync
from sfa.events import jobs as event_jobs
from sfa.jobs import EPOCH, Job, run_locked
from sfa.notifications import events as notification_events
from sfa.notifications import sender as notification_sender
from sfa.offline import service as offline_service
from sfa.plans import jobs as plan_jobs
from sfa.plans import service as plan_service
from sfa.purchase_orders import jobs as po_jobs
from sfa.tenants.engines import binding_for, get_engines
from sfa.tenants.models import Tenant
from sfa.tenants.registry import Registry, get_registry
from sfa.tracking import jobs as tracking_jobs
from sfa.webhooks import jobs as webhook_jobs
from sfa.workflows import consumer as workflow_consumer  # noqa: F401 - registers it
from sfa.workflows import date_triggers as workflow_date_triggers
from sfa.workflows import renewals as workflow_renewals
from sfa.workflows import schedules as workflow_schedules
from sfa.workflows import timers as workflow_timers

log = logging.getLogger("sfa.scheduler")

# How soon a settings change reaches the schedules (plus the settings cache's 5 s).
FOLLOW_SECONDS = 30
# A run that could not start on time (every worker busy with other companies' jobs) still
# runs up to this late rather than being skipped for the period.
MISFIRE_GRACE_SECONDS = 60


def _company_today(session) -> date:
    return datetime.now(UTC).astimezone(company_service.get_company_settings(session).tz).date()


def renewal_adoption(session, now: datetime | None = None) -> object:
    return {"started": workflow_renewals.adopt_inside_window(session, now=now)}


def send_notifications(session) -> object:
    # The sender commits its claims and outcomes in its own short transactions (see
    # sfa/notifications/sender.py); the job's session only holds the advisory lock.
    return notification_sender.run_sender(
        get_sessionmaker(), channels=channels_from_settings(get_settings())
    )


def overdue_invoice_reminders(session) -> int:
    # invoice.overdue events; the built-in workflow invoice-overdue sends the reminders.
    return erp_overdue.emit_overdue_invoices(session, today=_company_today(session))


def target_progress(session) -> int:
    return notification_events.emit_target_progress(session, today=_company_today(session))


def announcements_due(session) -> int:
    return notification_events.emit_due_announcements(session)


def drain_events(session) -> object:
    # Each consumer drains in a transaction of its own (sfa/events/jobs.py); the job's
    # session only holds the job lock. The consumers register on import (above).
    result = event_jobs.drain_all(session)
    return f"{result.handled} handled, {result.failed} parked, {result.retried} retried"


def erp_sync_job(session) -> object:
    # The engine commits per order and per pulled page in its own sessions and takes its
    # own advisory lock (sfa/erp/sync.py); the job's session only holds the job lock.
    try:
        connector = erp_factory.build_connector(get_settings())
    except erp_factory.ErpNotConfigured as exc:
        log.error("ERP sync not run, the settings cannot work: %s", exc)
        return f"not run: {exc}"
    if connector is None:
        return "ERP sync disabled (SFA_ERP_URL not set)"
    with connector:
        run = erp_sync.run_sync(get_sessionmaker(), connector=connector, trigger="schedule")
    return f"run {run.id}: {run.status} {run.counts}"


def read_purchase_orders(session, *, make_session=None) -> object:
    # One document per transaction in sessions of its own (sfa/purchase_orders/jobs.py);
    # the job's session only holds the job lock.
    return po_jobs.run(make_session or get_sessionmaker(), reader=PdfReader())


def start_po_mailbox(settings, make_session):
    """The inbound SMTP address for purchase orders, when the settings enable it."""
    if not settings.po_smtp_enabled:
        return None
    return mailbox.start(
        make_session,
        host=settings.po_smtp_host,
        port=settings.po_smtp_port,
        recipients={r.strip() for r in settings.po_smtp_recipients.split(",") if r.strip()},
        max_bytes=settings.po_max_upload_bytes,
    )


def active_companies() -> list:
    """What the webhooks loop goes through: every active company of the registry (None:
    the default one), or the default company alone."""
    registry = get_registry()
    if not registry.configured:
        return [None]
    return [binding_for(tenant) for tenant in registry.companies() if tenant.active]


def all_jobs(timezone: str, erp_sync_minutes: int = 15) -> list[Job]:
    """Every job; cron schedules are in the company's timezone."""
    return [
        # Domain events to their consumers (docs/events.md): every few seconds, without
        # claiming periods (a drain twice at once is harmless: cursors are locked).
        Job(
            name="drain-events",
            func=drain_events,
            schedule={"trigger": "interval", "seconds": 5},
            claims_period=False,
        ),
        Job(
            name="purge-login-throttle",
            func=auth_service.purge_login_throttle,
            schedule={"trigger": "interval", "minutes": 30},
        ),
        Job(
            name="purge-console-sessions",
            func=console_sessions.purge_expired,
            schedule={"trigger": "interval", "minutes": 30},
        ),
        # The offline sync's change log keeps 30 days (docs/sync.md).
        Job(
            name="prune-sync-changes",
            func=offline_service.prune,
            schedule={"trigger": "cron", "hour": 2, "minute": 20, "timezone": timezone},
        ),
        # Late pings and new visits make days stale: tracking, flags, day/week aggregates.
        Job(
            name="refresh-dirty-days",
            func=anomaly_jobs.refresh_dirty,
            schedule={"trigger": "interval", "minutes": 1},
        ),
        # Pings partitions made months ahead, old ones dropped by retention (pg_partman).
        Job(
            name="partition-upkeep",
            func=tracking_jobs.partition_upkeep,
            schedule={"trigger": "interval", "hours": 1},
        ),
        # Journey plans become dated planned visits two weeks ahead, every night.
        Job(
            name="expand-plans",
            func=plan_service.expand_upcoming,
            schedule={"trigger": "cron", "hour": 0, "minute": 10, "timezone": timezone},
        ),
        # Yesterday's planned visits that no check-in fulfilled: planned_visit.missed.
        Job(
            name="missed-planned-visits",
            func=plan_jobs.report_missed,
            schedule={"trigger": "cron", "hour": 0, "minute": 15, "timezone": timezone},
        ),
        Job(
            name="weekly-anomalies",
            func=anomaly_jobs.compute_last_week,
            schedule={
                "trigger": "cron",
                "day_of_week": "mon",
                "hour": 6,
                "minute": 0,
                "timezone": timezone,
            },
        ),
        # Orders out, master data and documents in (docs/rules.md, "ERP sync").
        Job(
            name="erp-sync",
            func=erp_sync_job,
            schedule={"trigger": "interval", "minutes": erp_sync_minutes},
        ),
        # E-mailed and uploaded purchase orders become drafts (DESIGN §2 item 10).
        Job(
            name="read-purchase-orders",
            func=read_purchase_orders,
            schedule={"trigger": "interval", "minutes": 1},
        ),
        # Announcements whose effective time has come (announcement.due, once each).
        Job(
            name="announcements-due",
            func=announcements_due,
            schedule={"trigger": "interval", "minutes": 1},
        ),
        Job(
            name="send-notifications",
            func=send_notifications,
            schedule={"trigger": "interval", "minutes": 1},
        ),
        # Workflow waits, event timeouts, approval escalations and step retries that are
        # due (sfa/workflows/timers.py: FOR UPDATE SKIP LOCKED, commits per batch).
        Job(
            name="workflow-timers",
            func=workflow_timers.run_timers,
            schedule={"trigger": "interval", "seconds": 15},
        ),
        # Workflows started by their cron, in the company's timezone: once per fire time
        # (the run's key), a missed one once when back (sfa/workflows/schedules.py).
        Job(
            name="workflow-schedules",
            func=workflow_schedules.run_schedules,
            schedule={"trigger": "interval", "minutes": 1},
        ),
        # "N days before/after record.date": the rows whose fire day is due, through an
        # index, once per record and date (sfa/workflows/date_triggers.py). Hourly, so a
        # fire day starts within the first hour of the company's day.
        Job(
            name="workflow-date-triggers",
            func=workflow_date_triggers.run_date_triggers,
            schedule={"trigger": "interval", "hours": 1},
        ),
        # Contracts that came into the renewal window after their fire day (created, or
        # their end date moved, that close to the end): the date trigger's catch-up does
        # not reach back so far, so once a day their renewal runs start here (once each).
        Job(
            name="renewal-adoption",
            func=renewal_adoption,
            schedule={"trigger": "cron", "hour": 0, "minute": 20, "timezone": timezone},
        ),
        Job(
            name="overdue-invoice-reminders",
            func=overdue_invoice_reminders,
            schedule={"trigger": "cron", "hour": 8, "minute": 0, "timezone": timezone},
        ),
        Job(
            name="target-progress",
            func=target_progress,
            schedule={"trigger": "cron", "hour": 7, "minute": 30, "timezone": timezone},
        ),
    ]


def company_jobs() -> list[Job]:
    """Every job, with the schedules the company settings give them now."""
    with session_scope() as session:
        company = company_service.get_company_settings(session)
        return all_jobs(company.timezone, erp_sync_minutes=company.erp_sync_minutes)


def _aligned(schedule: dict) -> dict:
    """Interval schedules counted from the epoch: every scheduler fires at the starts of
    the periods the jobs' runs claim (sfa/jobs.py), whenever it started."""
    return schedule | {"start_date": EPOCH} if schedule["trigger"] == "interval" else schedule


class Schedules:
    """Keeps a scheduler's jobs on the schedules of the current company settings.

    `runner` is what a firing job calls with its `Job` (`run_locked`: under its advisory
    lock). `follow` adds the jobs the first time and re-schedules those whose schedule
    changed; `start` also registers it as a job of its own, every `follow_seconds`."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        *,
        runner: Callable[[Job], object] = run_locked,
        jobs: Callable[[], list[Job]] = company_jobs,
        follow_seconds: float = FOLLOW_SECONDS,
        id_prefix: str = "",
    ):
        self.scheduler, self.runner, self.jobs = scheduler, runner, jobs
        self.follow_seconds, self.id_prefix = follow_seconds, id_prefix
        self.current: dict[str, dict] = {}

    def follow(self) -> list[str]:
        """Bring the schedules up to date; returns the names of the jobs re-scheduled."""
        changed = []
        for job in self.jobs():
            if self.current.get(job.name) == job.schedule:
                continue
            if job.name in self.current:
                self.scheduler.reschedule_job(self.id_prefix + job.name, **_aligned(job.schedule))
                log.info("rescheduled %s %s (settings changed)", job.name, job.schedule)
                changed.append(job.name)
            else:
                # coalesce + max_instances=1: a late run is done once, not once per missed tick.
                self.scheduler.add_job(
                    self.runner,
                    args=[job],
                    id=self.id_prefix + job.name,
                    name=self.id_prefix + job.name,  # what APScheduler's log lines say
                    coalesce=True,
                    max_instances=1,
                    misfire_grace_time=MISFIRE_GRACE_SECONDS,
                    **_aligned(job.schedule),
                )
                log.info("scheduled %s%s %s", self.id_prefix, job.name, job.schedule)
            self.current[job.name] = job.schedule
        return changed

    def remove(self) -> None:
        """Unschedule every job of these schedules (their company was disabled)."""
        for name in self.current:
            self.scheduler.remove_job(self.id_prefix + name)
        self.current = {}

    def _follow_safely(self) -> None:
        try:
            self.follow()
        except Exception:  # a database hiccup: keep the schedules, try again next time
            log.exception("could not read the settings to follow the schedules")

    def start(self) -> None:
        self.follow()
        self.scheduler.add_job(
            self._follow_safely,
            "interval",
            seconds=self.follow_seconds,
            id="follow-settings",
            coalesce=True,
            max_instances=1,
        )


class CompanySchedules:
    """The schedules of every active company (see the module doc); `follow` also adds
    the companies created since and unschedules those disabled. `jobs` gives the jobs of
    the company the call is bound to (company_jobs: its settings' schedules)."""

    def __init__(
        self,
        scheduler: BaseScheduler,
        *,
        registry: Registry | None = None,
        runner: Callable[[Job], object] = run_locked,
        jobs: Callable[[], list[Job]] = company_jobs,
        follow_seconds: float = FOLLOW_SECONDS,
    ):
        self.scheduler, self.runner, self.jobs = scheduler, runner, jobs
        self.follow_seconds = follow_seconds
        self.registry = registry or get_registry()
        self.companies: dict[str, Schedules] = {}
        # The registry's entry as last read: a company whose database moved is run on
        # the new one from the next follow on.
        self.tenants: dict[str, Tenant] = {}

    def _schedules(self, slug: str) -> Schedules:
        def run(job: Job) -> object:
            tenant = self.tenants.get(slug)
            if tenant is None:  # disabled since this run was due
                return None
            with bound(get_engines().binding(tenant)):
                try:
                    return self.runner(job)
                except Exception:
                    # Said with the company's name; the run's `job_runs` row (when its
                    # database answers) holds the error too. Only this run fails.
                    log.exception("job %s of company %s failed", job.name, slug)
                    raise

        def jobs() -> list[Job]:
            with bound(get_engines().binding(self.tenants[slug])):
                return self.jobs()

        prefix = "" if self.tenants[slug].is_default else f"{slug}:"
        return Schedules(self.scheduler, runner=run, jobs=jobs, id_prefix=prefix)

    def follow(self) -> None:
        try:
            active = {t.slug: t for t in self.registry.companies() if t.active}
        except Exception:
            # The registry does not answer: the companies stay as they are (each still
            # follows its settings), and the default company, which is not in the
            # registry, is served even by a scheduler that started meanwhile.
            log.exception("could not read the company registry; companies kept")
            default = Registry.default()
            active = {default.slug: default} | self.tenants
        for slug in set(self.companies) - set(active):
            self.companies.pop(slug).remove()
            self.tenants.pop(slug, None)
            get_engines().close(slug)
            log.info("company %s is no longer active: its jobs are unscheduled", slug)
        self.tenants.update(active)
        for slug in active:
            schedules = self.companies.get(slug)
            if schedules is None:
                schedules = self.companies[slug] = self._schedules(slug)
            try:
                schedules.follow()
            except Exception:  # this company's database: the others still follow theirs
                log.exception("could not follow the schedules of company %s", slug)

    def start(self) -> None:
        self.follow()
        self.scheduler.add_job(
            self.follow,
            "interval",
            seconds=self.follow_seconds,
            id="follow-settings",
            coalesce=True,
            max_instances=1,
        )


def run_scheduler() -> None:
    scheduler = BlockingScheduler(timezone="UTC")
    if get_registry().configured:
        CompanySchedules(scheduler).start()
        get_engines().start_sweeper()
    else:
        Schedules(scheduler).start()
    # The ERP settings are checked once now (in the background: a slow ERP must not hold
    # up the other jobs); every sync run checks them again.
    erp_health.log_at_start_in_background(get_settings())
    start_po_mailbox(get_settings(), get_sessionmaker())
    # Webhooks go out from a thread of their own, not a job: every fraction of a second,
    # and a slow receiver never delays the other jobs (sfa/webhooks/jobs.py).
    webhooks = webhook_jobs.DispatchLoop(active_companies)
    webhooks.start_thread()

    def stop(*_) -> None:
        webhooks.stopping.set()  # its threads end with their pass (daemons: or with us)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
