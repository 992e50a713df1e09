"""Tracking use cases: ping batches, tracker devices, a rep's day."""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from sfa import event_times
from sfa.audit import service as audit_service
from sfa.auth.principal import Principal
from sfa.auth.visibility import get_visible_or_raise
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.errors import Conflict, Forbidden, InvalidInput, Unauthenticated
from sfa.tracking import days, repository, stored
from sfa.tracking.ingest import MAX_BATCH, IngestResult, PingRecord, ingest_pings
from sfa.tracking.models import Device, RepDay
from sfa.tracking.track import TrackPoint
from sfa.users import repository as user_repository
from sfa.users.models import User
from sfa.visits import repository as visit_repository
from sfa.visits.models import Visit, VisitFlag


def visible_rep(session: Session, principal: Principal, rep_id: int) -> User:
    return get_visible_or_raise(
        user_repository.get_visible_rep, session, principal, rep_id, what="rep"
    )


def post_pings(
    session: Session,
    *,
    principal: Principal,
    items: Sequence[tuple[int, PingRecord]],
    batch_size: int,
    now: dt.datetime | None = None,
) -> IngestResult:
    """A rep posts their own pings; `batch_size` counts invalid items too."""
    principal.require("pings:write")
    if not principal.is_rep:
        raise Forbidden(
            "only reps post their own pings",
            hint="tracker apps post through /v1/osmand with a registered device",
        )
    return store_rep_pings(
        session, rep_id=principal.id, items=items, batch_size=batch_size, now=now
    )


def store_rep_pings(
    session: Session,
    *,
    rep_id: int,
    items: Sequence[tuple[int, PingRecord]],
    batch_size: int,
    now: dt.datetime | None = None,
) -> IngestResult:
    if batch_size > MAX_BATCH:
        raise InvalidInput(
            f"a batch holds at most {MAX_BATCH} pings, got {batch_size}",
            hint="split it into several requests",
        )
    settings = company_service.get_company_settings(session)
    return ingest_pings(
        session,
        rep_id=rep_id,
        items=items,
        timezone=settings.tz,
        window=event_times.event_window(settings, now),
    )


def device_rep(session: Session, device_id: str) -> int:
    """The rep a tracker device reports for; the registered device id is its credential."""
    device = session.get(Device, device_id)
    if device is None:
        raise Unauthenticated(
            f"unknown device {device_id!r}",
            hint="a manager registers the device under POST /v1/devices",
        )
    return device.rep_id


def register_device(
    session: Session, *, principal: Principal, device_id: str, rep_id: int, label: str | None
) -> Device:
    principal.require("devices:write")
    visible_rep(session, principal, rep_id)
    if session.get(Device, device_id) is not None:
        raise Conflict(f"device {device_id!r} is already registered")
    device = Device(id=device_id, rep_id=rep_id, label=label)
    session.add(device)
    session.flush()
    audit_service.record(
        session,
        actor=principal.actor,
        entity="device",
        entity_id=device_id,
        action="register",
        new={"rep_id": rep_id, "label": label},
    )
    return device


def list_devices(session: Session, *, principal: Principal) -> list[Device]:
    principal.require("tracking:read")
    return list(session.scalars(repository.visible_devices(principal)))


def remove_device(session: Session, *, principal: Principal, device_id: str) -> None:
    principal.require("devices:write")
    device = get_visible_or_raise(
        repository.get_visible_device, session, principal, device_id, what="device"
    )
    session.delete(device)
    audit_service.record(
        session,
        actor=principal.actor,
        entity="device",
        entity_id=device_id,
        action="remove",
        old={"rep_id": device.rep_id},
    )


def rep_day(session: Session, *, principal: Principal, rep_id: int, day: dt.date) -> days.DayResult:
    """The day as it is now: a clean stored day is read back as stored (its pings only
    cleaned, to list the accepted ones); a day pings or visits made stale is computed and
    stored."""
    settings, row = _stored_day(session, principal, rep_id, day)
    if row is not None:
        return stored.read_day(session, row, settings=settings)
    _, result = days.refresh_day(session, rep_id=rep_id, day=day, settings=settings)
    return result


def rep_day_map(
    session: Session, *, principal: Principal, rep_id: int, day: dt.date
) -> stored.DayMap:
    """The day as its map draws it: a clean stored day is read with its stored track (no
    pings fetched or cleaned); a day pings or visits made stale is computed and stored."""
    settings, row = _stored_day(session, principal, rep_id, day)
    if row is not None:
        return stored.read_map(session, row, settings=settings)
    _, result = days.refresh_day(session, rep_id=rep_id, day=day, settings=settings)
    return stored.DayMap.of(result)


def _stored_day(
    session: Session, principal: Principal, rep_id: int, day: dt.date
) -> tuple[CompanySettings, RepDay | None]:
    """The company's settings and the visible rep's stored day, if it can be read back."""
    principal.require("tracking:read")
    visible_rep(session, principal, rep_id)
    settings = company_service.get_company_settings(session)
    row = repository.get_day(session, rep_id, day)
    return settings, row if row is not None and stored.readable(row) else None


def import_pings(
    session: Session,
    *,
    rep_id: int,
    pings: Sequence[tuple[int, PingRecord]],
    rejected: Sequence[tuple[int, str]] = (),
) -> IngestResult:
    """Store a whole imported track (GPX) in batches; one result for the whole file.

    `pings` are (index in the file, ping); `rejected` are the file's points the parser
    could not use, reported with the ones ingest rejects, in index order."""
    total = IngestResult(rejected=list(rejected))
    for start in range(0, len(pings), MAX_BATCH):
        chunk = list(pings[start : start + MAX_BATCH])
        result = store_rep_pings(session, rep_id=rep_id, items=chunk, batch_size=len(chunk))
        total.accepted += result.accepted
        total.duplicates += result.duplicates
        total.rejected += result.rejected
    total.rejected.sort()
    return total


@dataclass(frozen=True)
class TeamToday:
    """A team's day so far: every visible rep, their latest position and the day's visits."""

    day: dt.date
    reps: list[User]
    last_positions: dict[int, TrackPoint]
    visits: list[tuple[Visit, str, str]]  # (visit, customer code, customer name)
    flags: dict[int, list[VisitFlag]]


def team_today(
    session: Session,
    *,
    principal: Principal,
    team_id: int | None = None,
    now: dt.datetime | None = None,
) -> TeamToday:
    """What the manager's Today map shows: reps of the visible teams (or of one of them)."""
    principal.require("tracking:read")
    settings = company_service.get_company_settings(session)
    now = now or dt.datetime.now(dt.UTC)
    day = now.astimezone(settings.tz).date()
    if team_id is not None:
        get_visible_or_raise(
            user_repository.get_visible_team, session, principal, team_id, what="team"
        )
    reps = user_repository.visible_reps(session, principal, team_id=team_id)
    ids = [r.id for r in reps]
    win = days.window(settings, day)
    visits = visit_repository.day_visits_with_customers(session, principal, day=day, rep_ids=ids)
    return TeamToday(
        day=day,
        reps=reps,
        last_positions=repository.last_positions(session, ids, win.start, win.end),
        visits=visits,
        flags=visit_repository.flags_for(session, [v.id for v, _, _ in visits]),
    )
