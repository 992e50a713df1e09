"""principal changes are announced: NOTIFY sfa_principals after any change to users or teams

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# sfa/auth/principal_cache.py listens on this channel. Statement-level triggers: one
# notification per statement, and PostgreSQL folds identical ones within a transaction and
# delivers them only once it commits.
_TABLES = ("users", "teams")


def upgrade() -> None:
    op.execute("""
        CREATE FUNCTION sfa_principals_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('sfa_principals', '');
            RETURN NULL;
        END $$""")
    for table in _TABLES:
        op.execute(
            f"CREATE TRIGGER {table}_principals_changed "
            f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION sfa_principals_changed()"
        )


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"DROP TRIGGER {table}_principals_changed ON {table}")
    op.execute("DROP FUNCTION sfa_principals_changed()")
