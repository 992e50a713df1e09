"""failed logins counted per client address; password hashes in a table of their own (issue 12)

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # sfa/auth/repository.py: one password tried against many usernames from one address.
    op.create_table(
        "login_client_throttle",
        sa.Column("client", sa.String(64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("first_failure_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("client", name="pk_login_client_throttle"),
    )
    # sfa/users/models.py::UserPassword: a users row failing a constraint is logged whole
    # by PostgreSQL ("Failing row contains"); hashes must not be in it.
    op.create_table(
        "user_passwords",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_user_passwords"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_user_passwords_user_id_users", ondelete="CASCADE"
        ),
    )
    op.execute(
        "INSERT INTO user_passwords (user_id, password_hash) SELECT id, password_hash FROM users"
    )
    op.drop_column("users", "password_hash")


def downgrade() -> None:
    op.add_column("users", sa.Column("password_hash", sa.String(200)))
    op.execute(
        "UPDATE users SET password_hash = p.password_hash FROM user_passwords p "
        "WHERE p.user_id = users.id"
    )
    op.execute("UPDATE users SET password_hash = '!' WHERE password_hash IS NULL")
    op.alter_column("users", "password_hash", nullable=False)
    op.drop_table("user_passwords")
    op.drop_table("login_client_throttle")
