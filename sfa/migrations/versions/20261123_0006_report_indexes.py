"""report indexes: company-wide date ranges on the day and week aggregates

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEXES = (
    ("ix_rep_days_day", "rep_days", "day"),
    ("ix_rep_weeks_week_start", "rep_weeks", "week_start"),
    ("ix_weekly_anomalies_week_start", "weekly_anomalies", "week_start"),
)


def upgrade() -> None:
    for name, table, column in _INDEXES:
        op.create_index(name, table, [column])


def downgrade() -> None:
    for name, table, _ in _INDEXES:
        op.drop_index(name, table_name=table)
