"""the mobile app's offline sync: a change log filled by statement-level triggers

sync_changes: one row per changed record a rep's phone keeps offline (customers, their
prices, products, planned visits, in-app notifications), written by statement-level
triggers in the transaction that changed it, so no write path can forget it. Each row
carries the id of the writing transaction (xid8): readers take only rows of transactions
that every snapshot sees as finished (below pg_snapshot_xmin), ordered by (xid, position),
so a change committed late is never skipped (docs/sync.md).

Incremental exports (docs/exports.md): updated_at on visits, visit flags and weekly
anomalies, kept by a row trigger on every update of those and of orders and customers
(whatever the write path); (updated_at, key) indexes, pings by (received_at, key); and
export_tombstones, one row per deleted record, written by statement-level triggers.

Revision ID: 0016
Revises: 0017
Create Date: 2026-12-07
"""

from alembic import op

revision = "0016"
down_revision = "0012"
branch_labels = None
depends_on = None

_LOG = """
CREATE TABLE sync_changes (
    position bigint GENERATED ALWAYS AS IDENTITY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    entity varchar NOT NULL,
    entity_id bigint NOT NULL,
    sub_id bigint,
    -- Who may receive it: the teams that had or have the record (customers, prices),
    -- one user (planned visits, notifications), or, both NULL, everyone (products).
    team_ids bigint[],
    user_id bigint,
    changed_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT pk_sync_changes PRIMARY KEY (position)
);
CREATE INDEX ix_sync_changes_xid_position ON sync_changes (xid, position);
CREATE INDEX ix_sync_changes_changed_at ON sync_changes (changed_at);
"""

# Per table: the rows a statement logs, as SELECTs over `n` (the new row: inserts and
# updates) or `o` (the old one: deletes and updates). An update logs only rows whose
# content changed (an ERP pull rewriting unchanged rows logs nothing); updated_at alone
# is not a change.
_CHANGED = "(to_jsonb(o) - 'updated_at') IS DISTINCT FROM (to_jsonb(n) - 'updated_at')"

# Typed NULLs (a bare NULL in a UNION or INSERT … SELECT is text) and team lists.
_NO = "NULL::bigint"
_EVERYONE = "NULL::bigint[]"


def _teams(*columns: str) -> str:
    return f"array_remove(ARRAY[{', '.join(columns)}], {_NO})"


_TRIGGERS = {
    # A customer goes to the teams it left and joined; when its team changes, so do its
    # customer-specific prices (the new team's reps need them, the old team's lose them).
    "customers": {
        "insert": f"SELECT 'customer', n.id, {_NO}, {_teams('n.team_id')}, {_NO} FROM new_rows n",
        "delete": f"SELECT 'customer', o.id, {_NO}, {_teams('o.team_id')}, {_NO} FROM old_rows o",
        "update": f"""
            SELECT 'customer', n.id, {_NO}, {_teams("o.team_id", "n.team_id")}, {_NO}
            FROM new_rows n JOIN old_rows o USING (id) WHERE {_CHANGED}
            UNION ALL
            SELECT 'price', p.customer_id, p.product_id, {_teams("o.team_id", "n.team_id")}, {_NO}
            FROM new_rows n JOIN old_rows o USING (id)
            JOIN customer_prices p ON p.customer_id = n.id
            WHERE n.team_id IS DISTINCT FROM o.team_id""",
    },
    # A price goes where its customer is now (a price deleted with its customer is
    # covered by the customer's deletion).
    "customer_prices": {
        "insert": f"SELECT 'price', n.customer_id, n.product_id, {_teams('c.team_id')}, {_NO} "
        "FROM new_rows n JOIN customers c ON c.id = n.customer_id",
        "delete": f"SELECT 'price', o.customer_id, o.product_id, {_teams('c.team_id')}, {_NO} "
        "FROM old_rows o JOIN customers c ON c.id = o.customer_id",
        "update": f"""
            SELECT 'price', n.customer_id, n.product_id, {_teams("c.team_id")}, {_NO}
            FROM new_rows n JOIN old_rows o USING (customer_id, product_id)
            JOIN customers c ON c.id = n.customer_id WHERE {_CHANGED}""",
    },
    "products": {
        "insert": f"SELECT 'product', n.id, {_NO}, {_EVERYONE}, {_NO} FROM new_rows n",
        "delete": f"SELECT 'product', o.id, {_NO}, {_EVERYONE}, {_NO} FROM old_rows o",
        "update": f"""
            SELECT 'product', n.id, {_NO}, {_EVERYONE}, {_NO}
            FROM new_rows n JOIN old_rows o USING (id) WHERE {_CHANGED}""",
    },
    # A planned visit goes to its rep (both reps when it is given to another).
    "planned_visits": {
        "insert": f"SELECT 'planned_visit', n.id, {_NO}, {_EVERYONE}, n.rep_id FROM new_rows n",
        "delete": f"SELECT 'planned_visit', o.id, {_NO}, {_EVERYONE}, o.rep_id FROM old_rows o",
        "update": f"""
            SELECT DISTINCT 'planned_visit', n.id, {_NO}, {_EVERYONE}, r.rep_id
            FROM new_rows n JOIN old_rows o USING (id)
            CROSS JOIN LATERAL (VALUES (o.rep_id), (n.rep_id)) AS r(rep_id)
            WHERE {_CHANGED}""",
    },
    # In-app notifications go to their recipient (sent, read: the inbox changes).
    "notifications": {
        "insert": f"SELECT 'notification', n.id, {_NO}, {_EVERYONE}, n.recipient_user_id "
        "FROM new_rows n WHERE n.channel = 'in_app' AND n.recipient_user_id IS NOT NULL",
        "delete": f"SELECT 'notification', o.id, {_NO}, {_EVERYONE}, o.recipient_user_id "
        "FROM old_rows o WHERE o.channel = 'in_app' AND o.recipient_user_id IS NOT NULL",
        "update": f"""
            SELECT 'notification', n.id, {_NO}, {_EVERYONE}, n.recipient_user_id
            FROM new_rows n JOIN old_rows o USING (id)
            WHERE n.channel = 'in_app' AND n.recipient_user_id IS NOT NULL AND {_CHANGED}""",
    },
}
_INSERT = "INSERT INTO sync_changes (entity, entity_id, sub_id, team_ids, user_id) "


def _function(table: str, selects: dict) -> str:
    # One function per table; a trigger with transition tables takes one event, so each
    # event has its own trigger and the function branches on TG_OP.
    return f"""
        CREATE FUNCTION sync_log_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' THEN
                {_INSERT} {selects["insert"]};
            ELSIF TG_OP = 'DELETE' THEN
                {_INSERT} {selects["delete"]};
            ELSE
                {_INSERT} {selects["update"]};
            END IF;
            RETURN NULL;
        END $$"""


def _triggers(table: str) -> list[str]:
    referencing = {
        "INSERT": "NEW TABLE AS new_rows",
        "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        "DELETE": "OLD TABLE AS old_rows",
    }
    return [
        f"CREATE TRIGGER sync_log_{table}_{event.lower()} AFTER {event} ON {table} "
        f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION sync_log_{table}()"
        for event, tables in referencing.items()
    ]


# Exported tables: their key columns (the export's order after updated_at).
_EXPORTED = {
    "visits": ("id",),
    "orders": ("id",),
    "customers": ("id",),
    "visit_flags": ("visit_id", "code"),
    "weekly_anomalies": ("rep_id", "week_start", "code"),
}
_NEW_UPDATED_AT = ("visits", "visit_flags", "weekly_anomalies")


def _exports_up() -> None:
    for table in _NEW_UPDATED_AT:
        op.execute(f"ALTER TABLE {table} ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now()")
    op.execute("""
        CREATE FUNCTION sfa_touch_updated_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            NEW.updated_at := now();
            RETURN NEW;
        END $$""")
    op.execute("""
        CREATE TABLE export_tombstones (
            id bigint GENERATED ALWAYS AS IDENTITY,
            entity varchar NOT NULL,
            key jsonb NOT NULL,
            deleted_at timestamptz NOT NULL DEFAULT now(),
            CONSTRAINT pk_export_tombstones PRIMARY KEY (id)
        )""")
    op.execute(
        "CREATE INDEX ix_export_tombstones_entity_deleted_at "
        "ON export_tombstones (entity, deleted_at, id)"
    )
    for table, key in _EXPORTED.items():
        op.execute(
            f"CREATE TRIGGER {table}_touch_updated_at BEFORE UPDATE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION sfa_touch_updated_at()"
        )
        op.execute(
            f"CREATE INDEX ix_{table}_updated_at_key ON {table} (updated_at, {', '.join(key)})"
        )
        pairs = ", ".join(f"'{column}', o.{column}" for column in key)
        op.execute(f"""
            CREATE FUNCTION export_tombstone_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                INSERT INTO export_tombstones (entity, key)
                SELECT '{table}', jsonb_build_object({pairs}) FROM old_rows o;
                RETURN NULL;
            END $$""")
        op.execute(
            f"CREATE TRIGGER {table}_export_tombstone AFTER DELETE ON {table} "
            "REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT "
            f"EXECUTE FUNCTION export_tombstone_{table}()"
        )
    op.execute("CREATE INDEX ix_pings_received_at_key ON pings (received_at, rep_id, at)")


def _exports_down() -> None:
    op.execute("DROP INDEX ix_pings_received_at_key")
    for table in _EXPORTED:
        op.execute(f"DROP TRIGGER {table}_export_tombstone ON {table}")
        op.execute(f"DROP FUNCTION export_tombstone_{table}()")
        op.execute(f"DROP INDEX ix_{table}_updated_at_key")
        op.execute(f"DROP TRIGGER {table}_touch_updated_at ON {table}")
    op.execute("DROP TABLE export_tombstones")
    op.execute("DROP FUNCTION sfa_touch_updated_at()")
    for table in _NEW_UPDATED_AT:
        op.execute(f"ALTER TABLE {table} DROP COLUMN updated_at")


def upgrade() -> None:
    op.execute(_LOG)
    for table, selects in _TRIGGERS.items():
        op.execute(_function(table, selects))
        for statement in _triggers(table):
            op.execute(statement)
    _exports_up()


def downgrade() -> None:
    _exports_down()
    for table in _TRIGGERS:
        for event in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER sync_log_{table}_{event} ON {table}")
        op.execute(f"DROP FUNCTION sync_log_{table}()")
    op.execute("DROP TABLE sync_changes")
