"""Check-in and check-out: idempotent by client id, verified against the customer."""

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Select
from sqlalchemy.orm import Session

from sfa import event_times, geo, idempotency
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.customers import events as customer_events
from sfa.customers import repository as customer_repository
from sfa.customers.repository import CustomerPoint
from sfa.durations import seconds_between
from sfa.errors import Conflict, DomainError, Forbidden, InvalidInput
from sfa.events.service import Actor
from sfa.tracking.ingest import mark_days_dirty
from sfa.visits import events, flagging, indicators, repository, verification
from sfa.visits.flags import Flag, make_flag, trust_score
from sfa.visits.models import DwellSource, Visit, VisitFlag

log = logging.getLogger(__name__)

CHECK_IN_FLAG_CODES = {"mock_location", "too_far", "clock_skew"}


@dataclass(frozen=True)
class Position:
    """A device fix; lat/lon are None when the device had no position."""

    at: datetime
    lat: float | None = None
    lon: float | None = None
    accuracy_m: float | None = None
    mock: bool = False

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def point(self) -> tuple[float, float] | None:
        """(lat, lon), or None when the device had no position."""
        if self.lat is None or self.lon is None:
            return None
        return self.lat, self.lon


@dataclass(frozen=True)
class CheckIn:
    client_id: uuid.UUID
    customer_id: int
    position: Position
    device_id: str | None = None
    planned_visit_id: int | None = None
    # The device's clock when it sent the request: compared with our receipt time.
    sent_at: datetime | None = None


def _check_time(settings: CompanySettings, at: datetime, now: datetime) -> None:
    problem = event_times.event_window(settings, now).problem(at)
    if problem is not None:
        raise InvalidInput(
            problem, hint="check the device clock and timezone", details={"field": "at"}
        )


def _require_rep(principal: Principal) -> None:
    principal.require("visits:write")
    if not principal.is_rep:
        raise Forbidden(
            "only reps check in and out of visits", hint="log in with the rep's own account"
        )


def check_in(
    session: Session, *, principal: Principal, data: CheckIn, now: datetime | None = None
) -> tuple[Visit, bool]:
    """Returns (visit, created). A replay of the same client id returns the first visit."""
    visit, created, _ = check_in_with_flags(session, principal=principal, data=data, now=now)
    return visit, created


def check_in_with_flags(
    session: Session, *, principal: Principal, data: CheckIn, now: datetime | None = None
) -> tuple[Visit, bool, list[VisitFlag] | None]:
    """check_in, plus the new visit's flags (None for a replay: read them from the database,
    analytics may have added some since)."""
    _require_rep(principal)
    now = now or datetime.now(UTC)
    # sent_at differs on every retry by design, so it is not part of the identity.
    fingerprint = idempotency.fingerprint(
        idempotency.content_of(data, exclude=frozenset({"sent_at"}))
    )
    try:
        settings, customer, values, flags = _new_visit(session, principal, data, fingerprint, now)
    except DomainError:
        # A replay is answered with the stored visit (or 409) even if the request would no
        # longer be accepted as new (customer moved out of the territory, settings changed).
        existing = repository.find_by_client_id(session, principal.id, data.client_id)
        if existing is None:
            raise
        return _replayed(existing, fingerprint), False, None
    pos = data.position
    stored = repository.insert_check_in(session, values, lat=pos.lat, lon=pos.lon, flags=flags)
    if stored is None:
        # A replay, or the same check-in arrived twice at once and the other request
        # stored it first (the INSERT waited for it to commit).
        existing = repository.find_by_client_id(session, principal.id, data.client_id)
        if existing is None:
            raise Conflict(
                f"check-in {data.client_id} is being stored by another request",
                hint="retry with the same body",
            )
        return _replayed(existing, fingerprint), False, None
    visit, flag_rows = stored
    events.checked_in(session, visit, [f.code for f in flags], Actor.of(principal))
    # The planned visit of this customer on this company day (if any) is now done; a
    # planned_visit_id from the client is only a hint: the match is always (rep, customer,
    # company day), and a claim that does not match (another day or customer, deleted,
    # fulfilled already) is replaced, never refused — an offline check-in must not be lost
    # over a stale plan.
    if data.planned_visit_id is not None and data.planned_visit_id != visit.planned_visit_id:
        log.info(
            "visit %s claimed planned visit %s, fulfilled %s instead",
            visit.id,
            data.planned_visit_id,
            visit.planned_visit_id,
        )
    if (
        customer.lat is None
        and pos.has_position
        and not pos.mock
        and verification.can_capture_location(settings, pos.accuracy_m)
    ):
        _capture_location(session, principal, customer.id, visit, pos)
    return visit, True, flag_rows


def _new_visit(
    session: Session, principal: Principal, data: CheckIn, fingerprint: str, now: datetime
) -> tuple[CompanySettings, CustomerPoint, dict, list[Flag]]:
    """Validate a new check-in: the settings, the customer, the visit's column values and
    its check-in flags (the trust score is among the values)."""
    settings = company_service.get_company_settings(session)
    pos = data.position
    _check_time(settings, pos.at, now)
    point = pos.point()
    if point is not None:
        geo.check_lat_lon(*point)
    customer = get_visible_or_raise(
        customer_repository.get_visible_point,
        session,
        principal,
        data.customer_id,
        what="customer",
        hint="reps check in at the customers of their team's territory",
    )

    distance = (
        geo.distance_m(lat1=point[0], lon1=point[1], lat2=customer.lat, lon2=customer.lon)
        if point is not None and customer.lat is not None and customer.lon is not None
        else None
    )
    result = verification.verify(
        settings,
        mock=pos.mock,
        has_position=pos.has_position,
        distance_m=distance,
        accuracy_m=pos.accuracy_m,
        customer_radius_m=customer.verify_radius_m,
    )
    flags = _check_in_flags(
        settings,
        mock=pos.mock,
        status=result.status,
        distance_m=result.distance_m,
        radius_m=result.radius_m,
        received_at=now,
        sent_at=data.sent_at,
    )
    values = dict(
        rep_id=principal.id,
        client_id=data.client_id,
        request_hash=fingerprint,
        customer_id=customer.id,
        device_id=data.device_id,
        # Instants are kept in UTC: two times of one zone compare and subtract as wall-clock
        # times, wrong across a DST change (sfa.durations).
        check_in_at=pos.at.astimezone(UTC),
        sent_at=data.sent_at.astimezone(UTC) if data.sent_at is not None else None,
        received_at=now,
        check_in_accuracy_m=verification.known_accuracy(pos.accuracy_m),
        check_in_mock=pos.mock,
        verification_status=result.status,
        distance_to_customer_m=result.distance_m,
        radius_m=result.radius_m,
        local_day=pos.at.astimezone(settings.tz).date(),
        # Scored at once from what check-in sees; analytics lowers it when the day reveals
        # more.
        trust_score=trust_score([f.code for f in flags]),
    )
    return settings, customer, values, flags


def _replayed(existing: Visit, fingerprint: str) -> Visit:
    return idempotency.replayed(
        existing,
        stored_hash=existing.request_hash,
        new_hash=fingerprint,
        client_id=existing.client_id,
        what="check-in",
    )


def _check_in_flags(
    settings: CompanySettings,
    *,
    mock: bool,
    status: str,
    distance_m: float | None,
    radius_m: float | None,
    received_at: datetime,
    sent_at: datetime | None,
) -> list[Flag]:
    flags = []
    if mock:
        flags.append(make_flag("mock_location"))
    if status == "too_far" and distance_m is not None:  # too_far is measured, never None
        flags.append(make_flag("too_far", distance_m=round(distance_m, 1), radius_m=radius_m))
    if sent_at is not None:
        skew = abs(seconds_between(sent_at, received_at)) / 60
        if skew > settings.clock_skew_minutes:
            flags.append(
                make_flag(
                    "clock_skew",
                    skew_minutes=round(skew, 1),
                    limit_minutes=settings.clock_skew_minutes,
                )
            )
    return flags


def _capture_location(
    session: Session, principal: Principal, customer_id: int, visit: Visit, pos: Position
) -> None:
    """A customer without a location gets the first accurate check-in's position."""
    point = pos.point()
    if point is None or not customer_repository.capture_location(
        session, customer_id, geo.to_geography(*point)
    ):
        return
    audit_service.record(
        session,
        actor=principal.actor,
        entity="customer",
        entity_id=customer_id,
        action="capture_location",
        new={"lat": pos.lat, "lon": pos.lon, "accuracy_m": pos.accuracy_m, "visit_id": visit.id},
    )
    customer_events.location_changed(
        session, customer_id, old=None, new=point, actor=Actor.of(principal), visit_id=visit.id
    )


def check_out(
    session: Session,
    *,
    principal: Principal,
    visit_id: int,
    position: Position,
    now: datetime | None = None,
) -> tuple[Visit, bool]:
    _require_rep(principal)
    now = now or datetime.now(UTC)
    visit = get_visit(session, principal=principal, visit_id=visit_id)
    fingerprint = idempotency.fingerprint(idempotency.content_of(position))
    if visit.check_out_hash is not None:
        if visit.check_out_hash != fingerprint:
            raise Conflict(
                f"visit {visit_id} is already checked out with different data",
                hint="a check-out can be retried with the same body only",
            )
        return visit, False
    settings = company_service.get_company_settings(session)
    _check_time(settings, position.at, now)
    if seconds_between(visit.check_in_at, position.at) < 0:
        raise InvalidInput(
            f"check-out at {position.at.isoformat()} is before the check-in at "
            f"{visit.check_in_at.isoformat()}"
        )
    point = position.point()
    if point is not None:
        geo.check_lat_lon(*point)
        visit.check_out_position = geo.to_geography(*point)
    visit.check_out_at = position.at.astimezone(UTC)
    visit.check_out_accuracy_m = verification.known_accuracy(position.accuracy_m)
    visit.check_out_mock = position.mock
    visit.check_out_hash = fingerprint
    visit.dwell_seconds = int(seconds_between(visit.check_in_at, position.at))
    visit.dwell_source = DwellSource.check_out
    session.flush()
    # Checked out now, so not "not checked out"; its duration flags and the flags and
    # scores of the rest of its day follow at once, whoever calls (the answer shows
    # them). Aggregates and anomalies follow with the refresh job, for the day marked.
    scope = repository.Scope(visit.local_day, visit.local_day, [visit.rep_id])
    actor = Actor.of(principal)
    flagging.replace_flags(session, [visit], {"not_checked_out"}, {}, actor=actor)
    indicators.recompute_flags(
        session, scope=scope, settings=settings, refresh_clusters=False, actor=actor
    )
    mark_days_dirty(
        session, rep_id=visit.rep_id, instants=[visit.check_in_at], timezone=settings.tz
    )
    events.checked_out(session, visit, actor)
    return visit, True


def get_visit(session: Session, *, principal: Principal, visit_id: int) -> Visit:
    principal.require("visits:read")
    return get_visible_or_raise(repository.get_visible, session, principal, visit_id, what="visit")


def visits_query(
    *,
    principal: Principal,
    rep_id: int | None = None,
    customer_id: int | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Select:
    """The visible visits asked for, in a total order (for `paginate` or an export)."""
    principal.require("visits:read")
    return repository.filter_visits(
        repository.visible_visits(principal),
        rep_id=rep_id,
        customer_id=customer_id,
        date_from=date_from,
        date_to=date_to,
    )
