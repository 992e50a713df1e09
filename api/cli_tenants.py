"""`sfa tenants create|list|migrate|disable|enable`: the companies of a deployment
(docs/tenancy.md). Each prints what it does as it goes."""

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from sfa.errors import DomainError

app = typer.Typer(help="The companies of this deployment, one database each", no_args_is_help=True)
console = Console(stderr=True)


def _registry():
    from sfa.tenants.registry import get_registry

    return get_registry()


def _fail(exc: DomainError) -> typer.Exit:
    console.print(f"[red]{exc.message}[/red]" + (f"\n  {exc.hint}" if exc.hint else ""))
    return typer.Exit(1)


@app.command("create")
def create(
    slug: Annotated[str, typer.Argument(help="the company's name in host names: acme")],
    name: Annotated[str | None, typer.Option(help="its display name")] = None,
    database_url: Annotated[
        str | None,
        typer.Option(help="its database (default: sfa_<slug> on the default company's server)"),
    ] = None,
    admin: Annotated[str, typer.Option(help="the administrator's username")] = "admin",
    admin_password: Annotated[
        str | None,
        typer.Option(
            envvar="SFA_ADMIN_PASSWORD",
            help="default: a random one, printed once",
            show_default=False,
        ),
    ] = None,
    demo: Annotated[
        bool, typer.Option(help="load the demo data (its admin's password is demo1234)")
    ] = False,
    exists_ok: Annotated[
        bool,
        typer.Option(
            help="a company of that name exists already: leave it, only finish loading "
            "the demo data with --demo (make demo-company, run again after a failure)"
        ),
    ] = False,
) -> None:
    """Create a company: its database, PostGIS, migrations, an administrator."""
    from sfa.tenants import service

    if admin_password is not None and len(admin_password) < 8:
        raise typer.BadParameter("the password needs at least 8 characters")
    existing = _registry().lookup(slug) if exists_ok else None
    if existing is not None and not existing.is_default:
        console.print(f"company {slug!r} exists already: left as it is")
        if demo:
            _seed_demo(existing)
        _how_to_reach(slug)
        return

    def progress(step: str) -> None:
        console.print(f"  {step}")

    try:
        with console.status("creating"):
            created = service.create(
                _registry(),
                slug=slug,
                display_name=name,
                database_url=database_url,
                admin_username=None if demo else admin,
                admin_password=admin_password,
                progress=progress,
            )
    except DomainError as exc:
        raise _fail(exc) from None
    reused = "" if created.database_created else " (its database existed already: reused)"
    console.print(f"[green]company {slug!r} created{reused}")
    if demo:
        _seed_demo(created.tenant)
    elif created.admin_password:
        console.print(
            f"administrator [bold]{admin}[/bold], password [bold]{created.admin_password}[/bold] "
            "(shown only now)"
        )
    elif created.admin_username:
        console.print(f"administrator {admin!r} existed already: its password is unchanged")
    _how_to_reach(slug)


def _seed_demo(tenant) -> None:
    """The demo data in the company's database (once: loaded already, nothing happens)."""
    from api.cli import seed_demo
    from sfa.tenants import service

    with service.company_database(tenant):
        seed_demo()


def _how_to_reach(slug: str) -> None:
    from sfa.config import get_settings

    base = get_settings().tenant_base_domain
    console.print(
        f"its API: send 'X-Company: {slug}', or use the host {slug}.{base or '<base domain>'}"
    )


@app.command("list")
def list_companies() -> None:
    """Every company, the default one first."""
    from sqlalchemy.engine import make_url

    table = Table("company", "name", "status")
    table.add_column("database (server/name)", overflow="fold")
    for tenant in _registry().companies():
        url = make_url(tenant.database_url)
        database = f"{url.host or 'local'}:{url.port or 5432}/{url.database}"
        default = " (default)" if tenant.is_default else ""
        table.add_row(tenant.slug + default, tenant.display_name, tenant.status.value, database)
    Console().print(table)


@app.command("migrate")
def migrate_all() -> None:
    """Migrate every active company, one at a time, continuing past a failure."""
    from sfa.tenants import service

    outcomes = service.migrate_all(_registry(), progress=lambda step: console.print(step))
    failed = [o for o in outcomes if not o.ok]
    for outcome in failed:
        console.print(f"[red]{outcome.slug}: {outcome.problem}")
    console.print(
        f"{len(outcomes) - len(failed)} of {len(outcomes)} companies migrated"
        + (
            f", [red]{len(failed)} failed: {', '.join(o.slug for o in failed)}[/red]"
            if failed
            else ""
        )
    )
    if failed:
        raise typer.Exit(1)


def _set_status(slug: str, status_name: str) -> None:
    from sfa.tenants import service
    from sfa.tenants.models import Status

    try:
        service.set_status(_registry(), slug, Status(status_name))
    except DomainError as exc:
        raise _fail(exc) from None
    console.print(
        f"[green]company {slug!r} {status_name}[/green] (every API process within "
        "SFA_TENANT_CACHE_SECONDS)"
    )


@app.command("disable")
def disable(slug: str) -> None:
    """Refuse every request for a company (403); its data stays."""
    _set_status(slug, "disabled")


@app.command("enable")
def enable(slug: str) -> None:
    """Serve a disabled company again."""
    _set_status(slug, "active")
