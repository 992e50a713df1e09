"""Pings partitions kept by pg_partman: premade ahead, dropped by the company's
retention, made on demand by ingest through partman (sfa/tracking/partitions.py)."""

from datetime import UTC, date, datetime

from sqlalchemy import text

from api.scheduler import all_jobs
from sfa.company import service as company_service
from sfa.tracking import partitions
from sfa.tracking.jobs import partition_upkeep
from sfa.tracking.models import RepDay


def _months_from(first: date, count: int) -> list[date]:
    months, (year, month) = [], (first.year, first.month)
    for _ in range(count):
        months.append(date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _this_month() -> date:
    today = datetime.now(UTC).date()
    return date(today.year, today.month, 1)


def _exists(db, name: str) -> bool:
    return db.scalar(text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name})


def _store_ping(db, rep_id: int, at: datetime) -> None:
    db.execute(
        text(
            "INSERT INTO pings (rep_id, at, position, mock) "
            "VALUES (:r, :at, ST_GeogFromText('POINT(106.8 -6.2)'), false)"
        ),
        {"r": rep_id, "at": at},
    )


def _pings_of(db, rep_id: int) -> list[datetime]:
    return list(
        db.scalars(text("SELECT at FROM pings WHERE rep_id = :r ORDER BY at"), {"r": rep_id})
    )


def test_the_upkeep_is_a_scheduled_job():
    jobs = {job.name: job for job in all_jobs("Asia/Jakarta")}
    assert jobs["partition-upkeep"].func is partition_upkeep
    assert jobs["partition-upkeep"].schedule == {"trigger": "interval", "hours": 1}


def test_partitions_are_premade_months_ahead(db):
    ahead = _months_from(_this_month(), partitions.PREMAKE_MONTHS + 1)
    names = [partitions.partition_name(m) for m in ahead]
    partition_upkeep(db)  # whatever the state the migration left
    assert all(_exists(db, n) for n in names)
    # The months ahead gone (as if the scheduler had been stopped): the next run makes them.
    for name in names[1:]:
        db.execute(text(f'DROP TABLE "{name}"'))
    upkeep = partition_upkeep(db)
    assert upkeep.made == names[1:]
    assert upkeep.dropped == []
    assert all(_exists(db, n) for n in names)
    # Nothing left to do: a second run changes nothing.
    again = partition_upkeep(db)
    assert (again.made, again.dropped) == ([], [])


def test_retention_drops_whole_old_partitions_and_keeps_the_rest(db, world):
    rep = world.rep_a.id
    this = _this_month()
    # 13 months back: the whole month ended more than 12 months ago; 12 back: it did not.
    too_old, kept_month = _months_from(date(this.year - 2, this.month, 1), 13)[-2:]
    at = {
        "2020-01": datetime(2020, 1, 15, tzinfo=UTC),
        "too old": datetime(too_old.year, too_old.month, 20, tzinfo=UTC),
        "kept": datetime(kept_month.year, kept_month.month, 1, 0, 5, tzinfo=UTC),
        "now": datetime.now(UTC).replace(microsecond=0),
    }
    partitions.ensure_partitions(db, list(at.values()))
    for instant in at.values():
        _store_ping(db, rep, instant)
    old_names = ["pings_p2020_01", partitions.partition_name(too_old)]
    # The days keep their tracks (sfa.tracking.drawn) until their pings go.
    days = {"too old": too_old.replace(day=20), "kept": kept_month.replace(day=2)}
    db.add_all(RepDay(rep_id=rep, day=d, dirty=False, track=b"kept") for d in days.values())
    db.flush()

    # No retention (the default): every partition stays.
    kept = partition_upkeep(db)
    assert kept.retention_months is None and kept.dropped == []
    assert _pings_of(db, rep) == list(at.values())

    company_service.update_settings(
        db, actor="test", changes={"ping_retention_months": 12, "max_backdate_days": 35}
    )
    upkeep = partition_upkeep(db)
    # The whole partitions go: their tables no longer exist (no DELETE of rows).
    assert upkeep.dropped == old_names
    assert not any(_exists(db, n) for n in old_names)
    assert upkeep.retention_months == 12
    assert _pings_of(db, rep) == [at["kept"], at["now"]]
    assert _exists(db, partitions.partition_name(kept_month))
    db.expire_all()
    assert db.get(RepDay, (rep, days["too old"])).track is None
    assert db.get(RepDay, (rep, days["kept"])).track == b"kept"


def test_ingest_makes_a_missing_month_through_partman(db, world):
    # A month partman never made (before the oldest partition): made on demand, with
    # partman's name and its template's properties.
    at = datetime(2019, 6, 1, 12, tzinfo=UTC)
    assert not _exists(db, "pings_p2019_06")
    partitions.ensure_partitions(db, [at])
    _store_ping(db, world.rep_a.id, at)
    assert "pings_p2019_06" in partitions.partitions(db)
    bounds = db.scalar(
        text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'pings_p2019_06'")
    )
    assert bounds == "FOR VALUES FROM ('2019-06-01 00:00:00+00') TO ('2019-07-01 00:00:00+00')"


def test_no_default_partition(db):
    # A row without its month's table fails (and ingest makes the table), never parked in
    # a default partition that would block making that month later.
    assert not _exists(db, "pings_default")
    assert (
        db.scalar(
            text(
                "SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = 'pings'::regclass "
                "AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT'"
            )
        )
        == 0
    )
