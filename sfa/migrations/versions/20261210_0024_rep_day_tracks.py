"""rep_days keep their accepted track (sfa/tracking/drawn.py): a map draws a stored day
without fetching and cleaning its pings again

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NULL for the days stored before: the first map of such a day draws it from its
    # pings and keeps the track (sfa.tracking.stored.read_map).
    op.add_column("rep_days", sa.Column("track", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    op.drop_column("rep_days", "track")
