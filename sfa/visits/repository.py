"""Visit queries, filtered by what the principal may see."""

import json
import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    Float,
    Select,
    bindparam,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Session, make_transient_to_detached

from sfa import geo
from sfa.auth.principal import Principal
from sfa.customers.models import Customer
from sfa.geo import SRID
from sfa.tracking.ingest import dirty_days_sql
from sfa.users import repository as user_repository
from sfa.visits.flags import Flag
from sfa.visits.models import Visit, VisitFlag


@dataclass(frozen=True)
class Scope:
    """The visits of some reps' company days, for the set-based statements over them."""

    date_from: date
    date_to: date
    rep_ids: list[int] | None = None  # None: every rep

    def params(self) -> dict:
        return {
            "date_from": self.date_from,
            "date_to": self.date_to,
            "rep_ids": self.rep_ids,
            "all_reps": self.rep_ids is None,
        }


# The visits of a Scope, as SQL over its params(); indicators and scores start here.
SCOPE_VISIT_IDS = (
    "SELECT id FROM visits WHERE local_day BETWEEN :date_from AND :date_to "
    "AND (:all_reps OR rep_id = ANY(CAST(:rep_ids AS bigint[])))"
)


def visible_visits(principal: Principal) -> Select:
    return user_repository.only_visible_reps(select(Visit), principal, Visit.rep_id)


def get_visible(session: Session, principal: Principal, visit_id: int) -> Visit | None:
    return session.scalar(visible_visits(principal).where(Visit.id == visit_id))


def find_by_client_id(session: Session, rep_id: int, client_id: uuid.UUID) -> Visit | None:
    return session.scalar(select(Visit).where(Visit.rep_id == rep_id, Visit.client_id == client_id))


# A new check-in in one statement (one round trip, no ORM unit of work): the visit, its
# check-in flags, the fulfilment of the rep's open planned visit of this customer on the
# visit's company day (locked, so two check-ins cannot both fulfil it) and the day marked
# stale for the tracking/analytics jobs. Nothing but the visit happens when the rep already
# has a visit with this client_id: a replay, possibly a concurrent one (the INSERT waits for
# the other transaction and does nothing once it has committed).
_INSERT_CHECK_IN = text(f"""
WITH planned AS (
    SELECT id FROM planned_visits
    WHERE rep_id = :rep_id AND customer_id = :customer_id AND day = :local_day
      AND visit_id IS NULL
    FOR UPDATE
), visit AS (
    INSERT INTO visits (rep_id, client_id, request_hash, customer_id, planned_visit_id,
                        device_id, check_in_at, sent_at, received_at, check_in_position,
                        check_in_accuracy_m, check_in_mock, verification_status,
                        distance_to_customer_m, radius_m, local_day, trust_score)
    VALUES (:rep_id, :client_id, :request_hash, :customer_id, (SELECT id FROM planned),
            :device_id, :check_in_at, :sent_at, :received_at,
            CAST(ST_SetSRID(ST_MakePoint(:lon, :lat), {SRID}) AS geography),
            :check_in_accuracy_m, :check_in_mock,
            CAST(:verification_status AS verification_status),
            :distance_to_customer_m, :radius_m, :local_day, :trust_score)
    ON CONFLICT (rep_id, client_id) DO NOTHING
    RETURNING id, planned_visit_id
), fulfilled AS (
    UPDATE planned_visits SET visit_id = visit.id FROM visit
    WHERE planned_visits.id = visit.planned_visit_id
), flags AS (
    INSERT INTO visit_flags (visit_id, rep_id, code, numbers, reason_en, reason_id)
    SELECT visit.id, :rep_id, f.code, f.numbers, f.reason_en, f.reason_id
    FROM visit, jsonb_to_recordset(CAST(:flags AS jsonb))
         AS f(code text, numbers jsonb, reason_en text, reason_id text)
), dirty AS (
    {dirty_days_sql(":rep_id", ":local_day", "visit")}
)
SELECT id, planned_visit_id FROM visit
""").bindparams(
    bindparam("lat", type_=Float),
    bindparam("lon", type_=Float),
    bindparam("rep_id", type_=BigInteger),
    bindparam("customer_id", type_=BigInteger),
    bindparam("local_day", type_=Date),
    bindparam("check_in_at", type_=DateTime(True)),
    bindparam("sent_at", type_=DateTime(True)),
    bindparam("received_at", type_=DateTime(True)),
    bindparam("client_id", type_=UUID(as_uuid=True)),
)


def insert_check_in(
    session: Session, values: dict, *, lat: float | None, lon: float | None, flags: list[Flag]
) -> tuple[Visit, list[VisitFlag]] | None:
    """Store a new check-in (see _INSERT_CHECK_IN): `values` are the visit's columns but
    its position, given as lat/lon. Returns the stored visit, in the session as if loaded,
    and its flags ordered like `flags_for`; None when the client_id is already taken."""
    row = session.execute(
        _INSERT_CHECK_IN,
        {
            **values,
            "lat": lat,
            "lon": lon,
            "verification_status": str(values["verification_status"]),
            "flags": json.dumps(
                [
                    {
                        "code": f.code,
                        "numbers": f.numbers,
                        "reason_en": f.reason_en,
                        "reason_id": f.reason_id,
                    }
                    for f in flags
                ]
            ),
        },
    ).first()
    if row is None:
        return None
    visit = Visit(
        **values,
        id=row.id,
        planned_visit_id=row.planned_visit_id,
        check_in_position=(
            geo.to_geography(lat, lon) if lat is not None and lon is not None else None
        ),
        check_out_at=None,
        check_out_position=None,
        check_out_accuracy_m=None,
        check_out_mock=None,
        check_out_hash=None,
        dwell_seconds=None,
        dwell_source=None,
    )
    # The row is what was just written: make it a persistent object without reading it back.
    make_transient_to_detached(visit)
    session.add(visit)
    flag_rows = sorted((flag_row(visit, f) for f in flags), key=lambda flag: flag.code)
    for flag in flag_rows:
        make_transient_to_detached(flag)
        session.add(flag)
    return visit, flag_rows


def flag_row(visit: Visit, flag: Flag) -> VisitFlag:
    return VisitFlag(
        visit_id=visit.id,
        rep_id=visit.rep_id,
        code=flag.code,
        numbers=flag.numbers,
        reason_en=flag.reason_en,
        reason_id=flag.reason_id,
    )


def filter_visits(
    stmt: Select,
    *,
    rep_id: int | None,
    customer_id: int | None,
    date_from: date | None,
    date_to: date | None,
) -> Select:
    if rep_id is not None:
        stmt = stmt.where(Visit.rep_id == rep_id)
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    if date_from is not None:
        stmt = stmt.where(Visit.local_day >= date_from)
    if date_to is not None:
        stmt = stmt.where(Visit.local_day <= date_to)
    return stmt.order_by(Visit.check_in_at, Visit.id)


def day_visits(session: Session, rep_id: int, day: date) -> list[Visit]:
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.rep_id == rep_id, Visit.local_day == day)
            .order_by(Visit.check_in_at, Visit.id)
        )
    )


def flags_for(session: Session, visit_ids: list[int]) -> dict[int, list[VisitFlag]]:
    result: dict[int, list[VisitFlag]] = {i: [] for i in visit_ids}
    if visit_ids:
        rows = session.scalars(
            select(VisitFlag)
            .where(VisitFlag.visit_id.in_(visit_ids))
            .order_by(VisitFlag.visit_id, VisitFlag.code)
        )
        for row in rows:
            result[row.visit_id].append(row)
    return result


def lock_visits_nowait(session: Session, rep_id: int, day_from: date, day_to: date) -> list:
    """Lock a rep's visits of some days (and load their current state) without waiting:
    raises psycopg's LockNotAvailable (wrapped by SQLAlchemy) when a request holds one."""
    return list(
        session.scalars(
            select(Visit)
            .where(Visit.rep_id == rep_id, Visit.local_day.between(day_from, day_to))
            .with_for_update(nowait=True)
            .execution_options(populate_existing=True)
        )
    )


def day_visits_with_customers(
    session: Session, principal: Principal, *, day: date, rep_ids: list[int]
) -> list[tuple[Visit, str, str]]:
    """The visits of a company day of these reps (those visible to the principal), with
    their customer's code and name, in check-in order."""
    stmt = (
        visible_visits(principal)
        .join(Customer, Customer.id == Visit.customer_id)
        .add_columns(Customer.code, Customer.name)
        .where(Visit.local_day == day, Visit.rep_id.in_(rep_ids))
        .order_by(Visit.check_in_at, Visit.id)
    )
    return [(row[0], row[1], row[2]) for row in session.execute(stmt)]


@dataclass(frozen=True)
class FlagSummary:
    """What a visit event says about a visit's flags: its whole set of codes, sorted."""

    visit_id: int
    rep_id: int
    customer_id: int
    check_in_at: datetime
    trust_score: int | None
    codes: list[str]


_FLAG_SUMMARIES = text("""
SELECT v.id, v.rep_id, v.customer_id, v.check_in_at, v.trust_score,
       COALESCE(array_agg(f.code ORDER BY f.code) FILTER (WHERE f.code IS NOT NULL), '{}')
FROM visits v LEFT JOIN visit_flags f ON f.visit_id = v.id
WHERE v.id = ANY(CAST(:ids AS bigint[]))
GROUP BY v.id ORDER BY v.id
""")


def flag_summaries(session: Session, visit_ids: list[int]) -> dict[int, FlagSummary]:
    """The visits' current flags and scores, as written (flush first)."""
    session.flush()
    rows = session.execute(_FLAG_SUMMARIES, {"ids": visit_ids})
    return {
        row[0]: FlagSummary(row[0], row[1], row[2], row[3], row[4], list(row[5])) for row in rows
    }
