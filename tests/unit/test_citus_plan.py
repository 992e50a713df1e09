"""The schema checked against the Citus plan (docs/scaling.md): the big per-rep tables
carry `rep_id` — their distribution column — in their primary key, in every unique
constraint, and in every foreign key between them; no other table points into them.

Where the schema does not follow the plan today, the exception is listed below with the
change the move to Citus needs; the test fails both on a new violation and on a listed
one that is gone (so the list stays the truth)."""

import sfa.models  # noqa: F401  (registers every table)
from sfa.db import Base

# Distributed by rep_id, colocated (docs/scaling.md, "Per-rep tables").
REP_TABLES = {
    "pings",
    "rep_days",
    "rep_weeks",
    "weekly_anomalies",
    "visits",
    "visit_flags",
    "rep_stops",
}
DISTRIBUTION = "rep_id"

# Known today; each is a change of the Citus migration (docs/scaling.md, "What changes").
ALLOWED = {
    # visits are keyed by a global id (bigint identity), which five foreign keys use.
    ("primary key", "visits"),
    ("primary key", "visit_flags"),
    ("primary key", "rep_stops"),
    ("foreign key", "visit_flags", ("visit_id",), "visits"),
    ("foreign key", "rep_stops", ("visit_id",), "visits"),
    # Tables that stay reference/tenant-wide but point at a visit.
    ("points into", "customer_location_proposals", ("visit_id",), "visits"),
    ("points into", "orders", ("visit_id",), "visits"),
    ("points into", "planned_visits", ("visit_id",), "visits"),
}


def violations() -> set[tuple]:
    found: set[tuple] = set()
    tables = Base.metadata.tables
    for name in REP_TABLES:
        table = tables[name]
        assert DISTRIBUTION in table.c, f"{name} has no {DISTRIBUTION} column"
        if DISTRIBUTION not in {c.name for c in table.primary_key.columns}:
            found.add(("primary key", name))
        for constraint in table.constraints:
            if constraint.__class__.__name__ == "UniqueConstraint" and DISTRIBUTION not in {
                c.name for c in constraint.columns
            }:
                found.add(("unique", name, tuple(c.name for c in constraint.columns)))
    for table in tables.values():
        for fk in table.foreign_key_constraints:
            target = fk.referred_table.name
            if target not in REP_TABLES:
                continue  # a reference table: any distributed table may point at it
            columns = tuple(fk.column_keys)
            if table.name not in REP_TABLES:
                found.add(("points into", table.name, columns, target))
            elif DISTRIBUTION not in columns:
                found.add(("foreign key", table.name, columns, target))
    return found


def test_per_rep_tables_carry_the_distribution_column():
    found = violations()
    assert found - ALLOWED == set(), "new departures from the Citus plan (docs/scaling.md)"
    assert ALLOWED - found == set(), "fixed: remove them from ALLOWED and docs/scaling.md"


def test_pings_and_days_follow_the_plan_already():
    found = violations()
    for name in ("pings", "rep_days", "rep_weeks", "weekly_anomalies"):
        assert not {v for v in found if v[1] == name}
