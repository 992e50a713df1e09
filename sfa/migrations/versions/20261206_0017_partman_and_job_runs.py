"""pings partitions kept by pg_partman; job_runs, one scheduled run per job and period

job_runs: a scheduled run claims its job's period (sfa/jobs.py), so that several
schedulers run each job once per period, not once each.

Until now ingest made each month's partition of `pings` (`pings_YYYY_MM`) when a batch
first needed it. From here pg_partman keeps them (sfa/tracking/partitions.py): months
premade ahead, old ones dropped by the company's retention. The existing partitions are
renamed to partman's names (`pings_pYYYY_MM`) and handed to partman as they are: no row
is moved or copied. Missing months between the oldest partition and now are made empty;
partman's default partition is dropped, so that a row without a partition still fails
loudly and ingest makes the partition (a row in a default partition would block making
its month's partition later).

Revision ID: 0017
Revises: 0009
Create Date: 2026-12-05
"""

import re
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy import text

revision = "0017"
down_revision = "0009"
branch_labels = None
depends_on = None

PREMAKE_MONTHS = 4  # as sfa/tracking/partitions.py (a migration does not import the app)
_OURS = re.compile(r"^pings_(\d{4})_(\d{2})$")
_PARTMAN = re.compile(r"^pings_p(\d{4})_(\d{2})$")
_CHILDREN = text(
    "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = 'public.pings'::regclass ORDER BY 1"
)


def _rename(pattern: re.Pattern, new: str) -> list[date]:
    """Rename the partitions whose name matches `pattern`; returns their months."""
    bind = op.get_bind()
    months = []
    for name in bind.execute(_CHILDREN).scalars():
        if match := pattern.match(name):
            year, month = int(match[1]), int(match[2])
            op.execute(f'ALTER TABLE public."{name}" RENAME TO "{new.format(year, month)}"')
            months.append(date(year, month, 1))
    return months


def _job_runs() -> None:
    op.create_table(
        "job_runs",
        sa.Column("job", sa.String(length=80), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("runner", sa.String(length=120), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="1", nullable=False),
        sa.Column(
            "started_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(length=500), nullable=True),
        sa.PrimaryKeyConstraint("job", "period_start", name=op.f("pk_job_runs")),
    )


def upgrade() -> None:
    _job_runs()
    bind = op.get_bind()
    if not bind.execute(
        text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman'")
    ).scalar():
        raise RuntimeError(
            "the PostgreSQL extension pg_partman is not installed on the database server: "
            "install the distribution's package (Debian: postgresql-15-partman; "
            "`scripts/packages.sh run` does it for a local cluster) and migrate again"
        )
    op.execute("CREATE SCHEMA IF NOT EXISTS partman")
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_partman SCHEMA partman")
    months = _rename(_OURS, "pings_p{:04d}_{:02d}")
    # Partman cuts months with date_trunc on timestamptz, which follows the session's time
    # zone; the partitions are UTC months.
    op.execute("SET LOCAL TimeZone = 'UTC'")
    today = datetime.now(UTC).date()
    # From the oldest month stored, or last month (a ping may be sent a few weeks late).
    last_month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    start = min([*months, last_month])
    bind.execute(
        text(
            "SELECT partman.create_parent('public.pings', 'at', 'native', 'monthly', "
            "p_premake := :premake, p_start_partition := :start, p_jobmon := false)"
        ),
        {"premake": PREMAKE_MONTHS, "start": f"{start.isoformat()} 00:00+00"},
    )
    # Premake counts from now even when no recent pings exist; retention drops tables.
    op.execute(
        "UPDATE partman.part_config SET infinite_time_partitions = true, "
        "retention_keep_table = false, retention_keep_index = false "
        "WHERE parent_table = 'public.pings'"
    )
    if bind.execute(text("SELECT count(*) FROM public.pings_default")).scalar():
        raise RuntimeError("pings_default holds rows: every ping should have its month's table")
    op.execute("DROP TABLE public.pings_default")


def downgrade() -> None:
    op.drop_table("job_runs")
    op.execute("DELETE FROM partman.part_config WHERE parent_table = 'public.pings'")
    op.execute("DROP TABLE IF EXISTS partman.template_public_pings")
    _rename(_PARTMAN, "pings_{:04d}_{:02d}")
    op.execute("DROP EXTENSION IF EXISTS pg_partman")
    op.execute("DROP SCHEMA IF EXISTS partman")
