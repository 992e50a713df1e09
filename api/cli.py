"""The `sfa` command line: migrate, create-admin, seed-demo, import-gpx, import-plans,
serve, scheduler, run-job, and `tenants` (api/cli_tenants.py). `sfa --company SLUG ...`
runs a command for a company of the registry (docs/tenancy.md)."""

import os
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from api import cli_tenants
from sfa.logging_setup import configure_logging

app = typer.Typer(help="Field SFA backend", no_args_is_help=True, add_completion=False)
app.add_typer(cli_tenants.app, name="tenants")
console = Console(stderr=True)


@app.callback()
def _setup(
    ctx: typer.Context,
    company: Annotated[
        str | None,
        typer.Option(help="the company of the registry to work on (default: the default one)"),
    ] = None,
) -> None:
    configure_logging()
    if company is not None:
        ctx.with_resource(_company(company))


def _company(slug: str):
    from sfa.tenants import service
    from sfa.tenants.registry import RegistryUnavailable, get_registry

    try:
        tenant = get_registry().lookup(slug)
    except RegistryUnavailable as exc:
        console.print(f"[red]the company registry does not answer ({exc})")
        raise typer.Exit(2) from None
    if tenant is None:
        console.print(f"[red]there is no company {slug!r}[/red]; see sfa tenants list")
        raise typer.Exit(2)
    return service.company_database(tenant)


@app.command()
def migrate(revision: str = "head") -> None:
    """Apply database migrations (up to REVISION, default head)."""
    from sfa import migrate as migrations
    from sfa.db import get_engine

    url = get_engine().url  # the --company's database, or the default one
    console.print(f"migrating {url.render_as_string(hide_password=True)} to {revision}")
    migrations.upgrade(url.render_as_string(hide_password=False), revision=revision)
    console.print("[green]database is up to date")


@app.command("create-admin")
def create_admin(
    username: str,
    password: Annotated[
        str,
        typer.Option(
            prompt=True, hide_input=True, confirmation_prompt=True, envvar="SFA_ADMIN_PASSWORD"
        ),
    ],
    full_name: Annotated[str, typer.Option()] = "Administrator",
) -> None:
    """Create an administrator (password prompted, or SFA_ADMIN_PASSWORD)."""
    from sfa.auth.passwords import hash_password
    from sfa.db import session_scope
    from sfa.users import repository
    from sfa.users.models import Role, User

    if len(password) < 8:
        raise typer.BadParameter("the password needs at least 8 characters")
    with session_scope() as session:
        if repository.find_by_username(session, username) is not None:
            console.print(f"[red]user {username!r} already exists")
            raise typer.Exit(1)
        session.add(
            User(
                username=username,
                full_name=full_name,
                role=Role.admin,
                password_hash=hash_password(password),
            )
        )
    console.print(f"[green]administrator {username!r} created")


@app.command("seed-demo")
def seed_demo() -> None:
    """Load the Jakarta demo data once (does nothing if it is already there)."""
    from sfa.db import session_scope
    from sfa.demo.approvals import seed_approval_demo
    from sfa.demo.crm import seed_crm
    from sfa.demo.history import generate_history
    from sfa.demo.seed import DEMO_PASSWORD, seed_demo
    from sfa.demo.trade import seed_trade_demo

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as bar, session_scope() as session:
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done)

        result = seed_demo(session, progress=progress)
        history = generate_history(session, progress=progress)
        if history.created:
            anomalies = analyse_demo_history(session, history, progress=progress)
        crm = seed_crm(session, progress=progress)
        approvals = seed_approval_demo(session)
        intakes = seed_trade_demo(session, day=date.today())
    invoices = read_trade_demo(intakes) if intakes else []
    if result.created:
        console.print(
            f"[green]demo data loaded: {result.teams} teams, {result.users} users, "
            f"{result.customers} customers"
        )
    if history.created:
        console.print(
            f"[green]demo history loaded: {history.date_from} to {history.date_to}, "
            f"{history.visits} visits, {history.planned_visits} planned, "
            f"{history.pings} pings, {anomalies} weekly anomalies "
            "(who carries which anomaly: sfa/demo/history.py)"
        )
    if crm.created:
        console.print(
            f"[green]demo contracts and pipeline loaded: {crm.contracts} contracts "
            f"({crm.routed} renewals due and routed), {crm.opportunities} opportunities, "
            f"{crm.responses} survey answers (what shows what: sfa/demo/crm.py)"
        )
    if approvals.created:
        console.print(
            f"[green]discount approvals: {len(approvals.orders)} orders, one per state "
            "(auto-approved, waiting for the manager, for finance, escalated, rejected: "
            "sfa/demo/approvals.py)"
        )
    if intakes:
        console.print(
            f"[green]modern-trade demo loaded: {len(intakes)} e-mailed purchase orders "
            f"(GET /v1/purchase-orders/intakes), {len(invoices)} invoices for the Coretax "
            f"export (GET /v1/tax-invoices?period={date.today():%Y-%m})"
        )
    if not (result.created or history.created or crm.created or approvals.created or intakes):
        console.print("demo data already present; nothing to do")
    console.print(
        "demo logins: admin / manager.budi / manager.sari / finance / rep01..rep24, "
        f"password {DEMO_PASSWORD}"
    )


def read_trade_demo(intakes: list[int]) -> list[int]:
    """The demo POs read as the scheduler's job reads them (text PDFs: a second or two
    each), then the ready one confirmed and invoiced (sfa/demo/trade.py)."""
    from integrations.pdf.reader import PdfReader
    from sfa.db import get_sessionmaker, session_scope
    from sfa.demo.trade import invoice_trade_demo
    from sfa.purchase_orders import jobs as po_jobs

    with console.status(f"reading {len(intakes)} demo purchase orders"):
        po_jobs.run(get_sessionmaker(), reader=PdfReader(), budget_s=120)
    with session_scope() as session:
        return invoice_trade_demo(session, day=date.today())


def analyse_demo_history(session, history, *, progress=None) -> int:
    """Tracking days first (drive_by, not_checked_out, dwell from pings), then flags, day
    and week aggregates and anomalies of the whole history (anomalies skip the current,
    incomplete week by design); returns the anomalies stored."""
    from sfa.anomalies import service as anomaly_service
    from sfa.tracking import days, repository

    progress = progress or (lambda step, done, total: None)
    total = len(repository.dirty_days(session, limit=10_000))
    done = 0
    while n := days.recompute_dirty_days(session, limit=10):
        done += n
        progress("tracking days", done, total)
    progress("analytics", 0, 1)
    anomalies = anomaly_service.recompute(
        session, date_from=history.date_from, date_to=history.date_to
    )
    progress("analytics", 1, 1)
    return anomalies


@app.command("import-gpx")
def import_gpx(
    username: Annotated[str, typer.Argument(help="the rep whose day the track is")],
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a GPX track as a rep's pings (e.g. to replay a real day)."""
    from sfa.db import session_scope
    from sfa.tracking import service as tracking_service
    from sfa.tracking.protocols import parse_gpx
    from sfa.users import repository
    from sfa.users.models import Role

    track = parse_gpx(path.read_bytes())
    with session_scope() as session:
        rep = repository.find_by_username(session, username)
        if rep is None or rep.role is not Role.rep:
            console.print(f"[red]{username!r} is not a rep")
            raise typer.Exit(1)
        with console.status(f"importing {len(track.points)} points"):
            result = tracking_service.import_pings(
                session, rep_id=rep.id, pings=track.points, rejected=track.rejected
            )
    console.print(
        f"[green]{result.accepted} stored, {result.duplicates} duplicates, "
        f"{len(result.rejected)} rejected"
    )
    for index, reason in result.rejected[:20]:
        console.print(f"  trkpt {index + 1}: {reason}")
    if len(result.rejected) > 20:
        console.print(f"  … and {len(result.rejected) - 20} more")


@app.command("import-plans")
def import_plans(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    admin: Annotated[str, typer.Option(help="the administrator the import is recorded for")] = (
        "admin"
    ),
    dry_run: Annotated[bool, typer.Option(help="check and count, store nothing")] = False,
) -> None:
    """Import journey plans and planned visits from a CSV or JSON file (docs/plans-import.md)."""
    from sfa.auth import service as auth_service
    from sfa.db import session_scope
    from sfa.errors import DomainError
    from sfa.plans import import_file, imports
    from sfa.users import repository
    from sfa.users.models import Role

    try:
        rows = import_file.read_rows(
            path.read_bytes(), "json" if path.suffix.lower() == ".json" else "csv"
        )
    except DomainError as exc:
        console.print(f"[red]{path}: {exc.message}")
        raise typer.Exit(1) from None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, console=console) as bar, session_scope() as session:
        user = repository.find_by_username(session, admin)
        if user is None or user.role is not Role.admin or not user.is_active:
            console.print(f"[red]{admin!r} is not an active administrator; pass --admin NAME")
            raise typer.Exit(1)
        tasks: dict[str, TaskID] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done)

        result = imports.import_plans(
            session,
            principal=auth_service.principal_for_user(session, user),
            rows=rows,
            dry_run=dry_run,
            progress=progress,
        )
    verb = "would be" if dry_run else "were"
    console.print(
        f"[green]{result.rows} rows: {result.journey_plans_created} journey plans and "
        f"{result.planned_visits_created} planned visits {verb} created "
        f"({result.journey_plans_unchanged} plans and {result.planned_visits_unchanged} "
        f"planned visits already there, {result.fulfilled} fulfilled by stored check-ins), "
        f"{len(result.rejected)} rows rejected"
    )
    for raw, reason in result.rejected[:50]:
        where = f"line {raw.line}" if raw.line is not None else f"item {raw.index}"
        console.print(f"  {where}: {reason}")
    if len(result.rejected) > 50:
        console.print(f"  … and {len(result.rejected) - 50} more")


@app.command()
def serve(
    host: str = "127.0.0.1",
    port: Annotated[int, typer.Option(envvar="SFA_PORT")] = 8000,
    workers: Annotated[int, typer.Option(envvar="SFA_WORKERS")] = 1,
) -> None:
    """Run the HTTP API (uvicorn)."""
    import uvicorn

    from sfa.auth import signing_key

    if problem := signing_key.refuse_known_secret(host):
        console.print(f"[red]{problem}[/red]")
        raise typer.Exit(2)
    signing_key.jwt_secret()  # generated now, before the workers start, if it must be
    console.print(
        f"API on http://{host}:{port}  (docs: http://{host}:{port}/docs, "
        f"console: http://{host}:{port}/console)"
    )
    uvicorn.run(
        "api.main:app",
        host=host,
        port=port,
        workers=workers,
        log_level=os.environ.get("SFA_LOG_LEVEL", "info").lower(),
        # uvicorn's access log writes whole query strings (tracker apps' device ids,
        # positions); api.main.AccessLog writes each request without credentials.
        access_log=False,
    )


@app.command("run-job")
def run_job(
    name: Annotated[str, typer.Argument(help="a job of the scheduler, e.g. send-notifications")],
) -> None:
    """Run one scheduled job now, under the same lock as the scheduler (never twice at once)."""
    from api.scheduler import company_jobs
    from sfa.jobs import try_run

    jobs = {job.name: job for job in company_jobs()}
    if name not in jobs:
        console.print(f"[red]no job {name!r}[/red]; the jobs are: {', '.join(sorted(jobs))}")
        raise typer.Exit(2)
    with console.status(f"running {name}"):
        ran, result = try_run(jobs[name])
    if not ran:
        console.print(
            f"[yellow]job {name!r} is running elsewhere (the scheduler?): not run; "
            "try again when it is done"
        )
        raise typer.Exit(1)
    console.print(f"[green]job {name!r} done:[/green] {result}")


@app.command("event-failures")
def event_failures(
    consumer: Annotated[str | None, typer.Option(help="only this consumer's")] = None,
) -> None:
    """List the events a consumer failed on (parked; retried with backoff by drain-events)."""
    from sfa.db import session_scope
    from sfa.events import consumers

    with session_scope() as session:
        parked = consumers.failures(session, consumer)
        for f in parked:
            retry = f.next_attempt_at.isoformat() if f.next_attempt_at else "no more retries"
            console.print(
                f"{f.consumer} event {f.stream_id} ({f.event_type}): {f.attempts} attempt(s), "
                f"next {retry}: {f.reason}"
            )
    console.print(f"{len(parked)} parked event(s)")


@app.command("webhooks-dispatch")
def webhooks_dispatch(
    once: Annotated[bool, typer.Option(help="one pass over every company, then exit")] = False,
) -> None:
    """Send webhooks in the foreground (the scheduler does it too, in a thread): drain
    the event stream into deliveries and send what is due, until stopped (Ctrl-C)."""
    from api.scheduler import active_companies
    from sfa.webhooks.jobs import DispatchLoop

    loop = DispatchLoop(active_companies)
    if once:
        busy = loop.run_pass()
        loop.close()
        console.print("sent or enqueued webhooks" if busy else "nothing to send")
        return
    console.print("sending webhooks; Ctrl-C stops")
    try:
        loop.run()
    except KeyboardInterrupt:
        loop.stop()


@app.command()
def scheduler() -> None:
    """Run the job scheduler (safe to run in several replicas: jobs take advisory locks)."""
    from api.scheduler import run_scheduler

    run_scheduler()


if __name__ == "__main__":
    app()
