"""rep_days can be parked: a day the refresh job failed on keeps its reason and leaves the
queue until new data arrives or an administrator retries it

Revision ID: 0010
Revises: 0013
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("rep_days", sa.Column("refresh_error", sa.Text(), nullable=True))
    op.add_column(
        "rep_days", sa.Column("refresh_failed_at", sa.DateTime(timezone=True), nullable=True)
    )
    # The admin list of parked days; the job's queue excludes them.
    op.create_index(
        "ix_rep_days_parked",
        "rep_days",
        ["refresh_failed_at"],
        postgresql_where=sa.text("refresh_error IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_rep_days_parked", table_name="rep_days")
    op.drop_column("rep_days", "refresh_failed_at")
    op.drop_column("rep_days", "refresh_error")
