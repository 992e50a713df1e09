from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Depends, Request, UploadFile, status
from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import from_json, to_json
from typing_extensions import TypedDict

from api.bodies import invalid, is_json, request_body_doc
from api.deps import LoopPrincipalDep, LoopSessionDep, PrincipalDep, SessionDep
from api.schemas.common import Day, Id, Text
from api.schemas.tracking import (
    DayOut,
    DeviceIn,
    DeviceOut,
    GapOut,
    IngestOut,
    PingIn,
    RejectedOut,
    StopOut,
    TripOut,
)
from api.schemas.visits import VisitOut
from sfa import geo
from sfa.durations import minutes_between
from sfa.errors import InvalidInput
from sfa.tracking import service as tracking_service
from sfa.tracking.ingest import MAX_BATCH, IngestResult
from sfa.tracking.protocols import parse_gpx, parse_osmand, parse_osmand_json
from sfa.visits import repository as visit_repository

router = APIRouter(prefix="/v1", tags=["tracking"])

MAX_GPX_BYTES = 20 * 1024 * 1024
# One position from a tracker app (a few hundred bytes), anonymous until its device id is
# looked up: no more than that.
OSMAND_MAX_BYTES = 16 * 1024


def _problem(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'item'}: {e['msg']}" for e in exc.errors())


def _ingest_out(result: IngestResult, invalid: list[tuple[int, str]]) -> IngestOut:
    rejected = sorted(invalid + result.rejected)
    return IngestOut(
        accepted=result.accepted,
        duplicates=result.duplicates,
        rejected=[RejectedOut(index=i, reason=r) for i, r in rejected],
    )


_PING = TypeAdapter(PingIn)
# A longer list is refused with one error, not one per item (1M junk items: 0.23 s
# instead of 1.4 s of the event loop, measured; only after authentication).
_PING_LIST = TypeAdapter(Annotated[list[PingIn], Field(max_length=MAX_BATCH)])
# Up to MAX_BATCH pings of every field (~250 bytes each as the app sends them), with room.
PINGS_MAX_BYTES = 4 * 1024 * 1024


class _PingsObject(TypedDict):
    pings: list[PingIn]


class _PingBatch(NamedTuple):
    size: int  # items in the client's batch, valid or not
    valid: list[tuple[int, PingIn]]
    invalid: list[tuple[int, str]]
    shape_ok: bool = True  # a JSON array, or an object with a "pings" array


def _too_many(size: int) -> InvalidInput:
    return InvalidInput(
        f"a batch holds at most {MAX_BATCH} pings, got {size}",
        hint="split it into several requests",
    )


def _validate_items(items: list) -> tuple[list[tuple[int, PingIn]], list[tuple[int, str]]]:
    """Validate the list (in JSON mode, as strict as the fast path); when some items fail,
    the others still count."""
    try:
        return list(enumerate(_PING_LIST.validate_json(to_json(items)))), []
    except ValidationError as exc:
        bad = {e["loc"][0] for e in exc.errors() if e["loc"] and isinstance(e["loc"][0], int)}
    good = [i for i in range(len(items)) if i not in bad]
    try:
        chosen = to_json([items[i] for i in good])
        valid = list(zip(good, _PING_LIST.validate_json(chosen), strict=True))
    except ValidationError:  # not expected: fall back to one item at a time
        valid, bad = [], set(range(len(items)))
    invalid = []
    for index in sorted(bad):
        try:
            valid.append((index, _PING.validate_json(to_json(items[index]))))
        except ValidationError as exc:
            invalid.append((index, _problem(exc)))
    valid.sort(key=lambda item: item[0])
    return valid, invalid


async def _ping_batch(request: Request, _caller: LoopPrincipalDep) -> _PingBatch:
    """The body of POST /v1/pings, read once the caller is authenticated (api/bodies.py)
    and parsed by pydantic's JSON parser, which refuses nesting deeper than 200 levels."""
    body = await request.body()
    if not body:
        raise invalid([{"type": "missing", "loc": (), "msg": "Field required"}])
    if not is_json(request.headers.get("content-type")):
        return _PingBatch(0, [], [], shape_ok=False)
    if body.lstrip()[:1] == b"[":
        # The usual case: one validation of the whole array, straight from the bytes.
        try:
            models = _PING_LIST.validate_json(body)
        except ValidationError as exc:
            if any(e["type"] == "too_long" and e["loc"] == () for e in exc.errors()):
                raise _too_many(exc.errors()[0].get("ctx", {}).get("actual_length", 0)) from None
            # some items are invalid (or the JSON is): the general path below
        else:
            return _PingBatch(len(models), list(enumerate(models)), [])
    try:
        payload: Any = from_json(body)
    except ValueError as exc:
        raise invalid(
            [{"type": "json_invalid", "loc": (), "msg": f"invalid JSON: {exc}"}]
        ) from None
    items = payload.get("pings") if isinstance(payload, dict) else payload
    if not isinstance(items, list):
        return _PingBatch(0, [], [], shape_ok=False)
    if len(items) > MAX_BATCH:
        raise _too_many(len(items))
    valid, invalid_items = _validate_items(items)
    return _PingBatch(len(items), valid, invalid_items)


@router.post(
    "/pings",
    response_model=IngestOut,
    summary="Post a batch of GPS pings (up to 5,000)",
    description='Body: a JSON array of pings, or `{"pings": [...]}`. Valid items '
    "are stored even when others are rejected; each rejected item is reported with "
    "its index and reason. Resending a batch stores nothing twice.",
    openapi_extra=request_body_doc(list[PingIn] | _PingsObject),
    max_body_size=PINGS_MAX_BYTES,
)
async def post_pings(
    principal: LoopPrincipalDep,
    session: LoopSessionDep,
    batch: Annotated[_PingBatch, Depends(_ping_batch)],
):
    # On the event loop (api.deps.session_dependency): a 500-ping batch is ~2 ms of work.
    if not batch.shape_ok:
        raise InvalidInput('the body must be a JSON array of pings or {"pings": [...]}')
    result = tracking_service.post_pings(
        session, principal=principal, items=batch.valid, batch_size=batch.size
    )
    return _ingest_out(result, batch.invalid)


def _osmand(session, device_id: str, ping) -> IngestOut:
    # Runs on the event loop (LoopSessionDep): tracker apps post one ping every few
    # seconds per device, the most frequent request of all.
    rep_id = tracking_service.device_rep(session, device_id)
    result = tracking_service.store_rep_pings(
        session, rep_id=rep_id, items=[(0, ping)], batch_size=1
    )
    if result.rejected:
        raise InvalidInput(result.rejected[0][1])
    return _ingest_out(result, [])


@router.get(
    "/osmand",
    response_model=IngestOut,
    tags=["tracker apps"],
    summary="OsmAnd / Traccar Client protocol (query parameters)",
    description="For off-the-shelf tracker apps: `id`/`deviceid` must be a device "
    "registered under /v1/devices; it authenticates the request.",
)
async def osmand_get(request: Request, session: LoopSessionDep):
    device_id, ping = parse_osmand(dict(request.query_params))
    return _osmand(session, device_id, ping)


@router.post(
    "/osmand",
    response_model=IngestOut,
    tags=["tracker apps"],
    summary="OsmAnd / Traccar Client protocol (form, query or JSON body)",
    max_body_size=OSMAND_MAX_BYTES,
)
async def osmand_post(request: Request, session: LoopSessionDep):
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        # pydantic's parser: nesting deeper than 200 levels is refused, not recursed into.
        try:
            body = from_json(await request.body())
        except ValueError as exc:
            raise InvalidInput(f"the body is not valid JSON: {exc}") from None
        device_id, ping = parse_osmand_json(body)
    else:
        params = dict(request.query_params)
        if content_type.startswith("application/x-www-form-urlencoded"):
            params |= {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        device_id, ping = parse_osmand(params)
    return _osmand(session, device_id, ping)


@router.post(
    "/reps/{rep_id}/gpx",
    response_model=IngestOut,
    summary="Import a GPX track as the rep's pings (admin)",
    description=(
        "Every timed track point is stored; points that cannot be used (no <time>, a bad "
        "coordinate) are listed under `rejected` with their 0-based position among the "
        "file's track points, like the items of a ping batch."
    ),
    max_body_size=MAX_GPX_BYTES + 64 * 1024,  # the file and its multipart envelope
)
def import_gpx(session: SessionDep, principal: PrincipalDep, rep_id: Id, file: UploadFile):
    principal.require_admin()
    tracking_service.visible_rep(session, principal, rep_id)
    data = file.file.read(MAX_GPX_BYTES + 1)
    if len(data) > MAX_GPX_BYTES:
        raise InvalidInput(f"the GPX file is larger than {MAX_GPX_BYTES // 2**20} MiB")
    track = parse_gpx(data)
    result = tracking_service.import_pings(
        session, rep_id=rep_id, pings=track.points, rejected=track.rejected
    )
    return _ingest_out(result, [])


@router.get("/devices", response_model=list[DeviceOut], summary="Registered tracker devices")
def list_devices(session: SessionDep, principal: PrincipalDep):
    return tracking_service.list_devices(session, principal=principal)


@router.post(
    "/devices",
    response_model=DeviceOut,
    status_code=status.HTTP_201_CREATED,
    summary="Register a tracker app's device id for a rep (manager, admin)",
)
def register_device(session: SessionDep, principal: PrincipalDep, body: DeviceIn):
    return tracking_service.register_device(
        session, principal=principal, device_id=body.id, rep_id=body.rep_id, label=body.label
    )


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_device(session: SessionDep, principal: PrincipalDep, device_id: Text):
    tracking_service.remove_device(session, principal=principal, device_id=device_id)


def _day_out(session, result) -> DayOut:
    summary = result.summary
    flags = visit_repository.flags_for(session, [v.id for v in result.visits])
    rejected: dict[str, int] = {}
    for r in summary.rejected:
        rejected[r.reason] = rejected.get(r.reason, 0) + 1
    stops = []
    for s in result.stops:
        lat, lon = geo.lat_lon(s.position)
        stops.append(
            StopOut(
                start=s.start_at,
                end=s.end_at,
                minutes=round(minutes_between(s.start_at, s.end_at), 1),
                lat=lat,
                lon=lon,
                n_pings=s.n_pings,
                spans_gap=s.spans_gap,
                gap_minutes=s.gap_minutes,
                customer_id=s.customer_id,
                distance_to_customer_m=s.distance_to_customer_m,
                visit_id=s.visit_id,
                unlogged_visit=s.customer_id is not None and s.visit_id is None,
            )
        )
    return DayOut(
        rep_id=result.rep_id,
        day=result.day,
        distance_m=round(summary.distance_m, 1),
        coverage=round(summary.coverage, 4),
        pings=len(summary.accepted) + len(summary.rejected),
        accepted_pings=len(summary.accepted),
        rejected_pings=rejected,
        first_at=summary.accepted[0].at if summary.accepted else None,
        last_at=summary.accepted[-1].at if summary.accepted else None,
        gaps=[GapOut(start=g.start, end=g.end, minutes=round(g.minutes, 1)) for g in summary.gaps],
        stops=stops,
        trips=[
            TripOut(start=t.start, end=t.end, distance_m=round(t.distance_m, 1))
            for t in summary.trips
        ],
        visits=[VisitOut.of(v, flags[v.id]) for v in result.visits],
        track={"type": "LineString", "coordinates": [[p.lon, p.lat] for p in summary.accepted]},
    )


@router.get(
    "/reps/{rep_id}/days/{day}",
    response_model=DayOut,
    summary="A rep's day: distance, coverage, gaps, stops, trips, visits, track",
)
def rep_day(session: SessionDep, principal: PrincipalDep, rep_id: Id, day: Day):
    return _day_out(
        session, tracking_service.rep_day(session, principal=principal, rep_id=rep_id, day=day)
    )


@router.get("/me/days/{day}", response_model=DayOut, summary="Your own day (reps)")
def my_day(session: SessionDep, principal: PrincipalDep, day: Day):
    principal.require("tracking:read")
    if principal.user_id is None:
        raise InvalidInput(
            "an API key has no day of its own", hint="use /v1/reps/{rep_id}/days/{day}"
        )
    return _day_out(
        session,
        tracking_service.rep_day(session, principal=principal, rep_id=principal.user_id, day=day),
    )
