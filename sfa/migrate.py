"""Run Alembic programmatically so the CLI and tests share one code path."""

from pathlib import Path

from alembic import command
from alembic.config import Config

_HERE = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_HERE))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    if url:
        # ConfigParser interpolation: a literal % in a password must be doubled.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)
    if revision == "head":
        install_builtins(url)


def install_builtins(url: str | None = None) -> list[str]:
    """The built-in workflows a migrated database must have (sfa/workflows/builtin.py),
    a discount-approval run for each order still waiting without one, and a renewal run
    for each open contract already inside the alert window without one."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from sfa.config import get_settings
    from sfa.workflows import builtin, renewals

    engine = create_engine(url or get_settings().database_url)
    try:
        with Session(engine) as session, session.begin():
            made = builtin.install(session)
            builtin.adopt_waiting_orders(session)
            renewals.adopt_inside_window(session)
            return made
    finally:
        engine.dispose()


def downgrade(url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(url), revision)
