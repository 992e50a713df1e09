"""Parsers for the location formats that existing tracker apps already speak.

Pure functions: text in, `PingRecord` out, `InvalidInput` (naming the offending field) on
anything that cannot be stored faithfully. No database, no HTTP framework.

- `parse_osmand`: the OsmAnd / Traccar HTTP protocol as query or form parameters, as sent
  by Traccar Client (before 9.0), OsmAnd's online tracking and GPSLogger's custom URL.
  Field names and units follow Traccar's own decoder
  (traccar/traccar, src/main/java/org/traccar/protocol/OsmAndProtocolDecoder.java) and
  https://www.traccar.org/osmand/.
- `parse_osmand_json`: the JSON body of Traccar Client 9.0+ (Traccar server 6.7+ reads it
  in the same decoder's `decodeJson`).
- `parse_gpx`: track points of a GPX 1.0 or 1.1 file, for replaying a recorded track.
"""

import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from xml.etree import ElementTree as ET
from xml.parsers import expat

from sfa.errors import InvalidInput
from sfa.geo import check_lat_lon
from sfa.limits import text_problem
from sfa.tracking.ingest import PingRecord

KNOT_MPS = 1852 / 3600  # one knot in m/s (international nautical mile per hour): 0.514444…
MAX_DEVICE_ID_LEN = 120  # pings.device_id is VARCHAR(120)
MAX_GPX_BYTES = 32 * 1024 * 1024  # a day of 1 Hz points is ~10 MB of GPX

# Traccar reads an integer timestamp below Integer.MAX_VALUE as seconds, otherwise as
# milliseconds (2**31 - 1 s is 2038-01-19; 2**31 - 1 ms is 1970-01-25).
_SECONDS_BELOW = 2**31 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_INTEGER = re.compile(r"\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
# A date *and* a time: "2024-05-01T12:00:00Z", "2024-05-01 12:00:00", "20240501T120000Z".
_ISO_DATE_TIME = re.compile(r"\d{4}-?\d{2}-?\d{2}[T ]\d{2}")

_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

_TIMESTAMP_HINT = (
    "send Unix seconds (1714564800), Unix milliseconds (1714564800000) or ISO-8601 "
    "(2024-05-01T12:00:00Z, 2024-05-01T19:00:00+07:00, or '2024-05-01 12:00:00' as UTC)"
)


def _invalid(field: str, message: str, hint: str | None = None) -> InvalidInput:
    return InvalidInput(f"{field}: {message}", hint=hint, details={"field": field})


# --------------------------------------------------------------------------------------
# Shared value parsing
# --------------------------------------------------------------------------------------


def _parse_time(value: str, field: str) -> datetime:
    """An instant from Unix seconds/milliseconds or ISO-8601, as an aware UTC datetime.

    Naive ISO values (no offset, no Z) are taken as UTC. Traccar itself reads the
    `yyyy-MM-dd HH:mm:ss` form in the *server's* zone; a server zone is meaningless for
    phones spread over several time zones, so UTC is the only defensible reading.
    """
    text = value.strip()
    if _INTEGER.fullmatch(text):
        number = int(text)
        try:
            if number < _SECONDS_BELOW:
                return _EPOCH + timedelta(seconds=number)
            return _EPOCH + timedelta(milliseconds=number)
        except OverflowError:
            raise _invalid(field, f"{value!r} is out of range", _TIMESTAMP_HINT) from None
    if _ISO_DATE_TIME.match(text):
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            pass
        else:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            return parsed.astimezone(UTC)
    raise _invalid(
        field,
        f"{value!r} is neither Unix seconds/milliseconds nor an ISO-8601 date and time",
        _TIMESTAMP_HINT,
    )


def _check_position(lat: float, lon: float, lat_field: str, lon_field: str) -> None:
    try:
        check_lat_lon(lat, lon)
    except InvalidInput as exc:
        lat_ok = math.isfinite(lat) and -90 <= lat <= 90
        raise _invalid(lon_field if lat_ok else lat_field, exc.message, exc.hint) from None
    # Traccar Client's position defaults to 0.0/0.0 and old Traccar servers treat exactly
    # (0, 0) as "no location": it is a missing fix, not a rep in the Gulf of Guinea.
    if lat == 0 and lon == 0:
        raise _invalid(
            lat_field if lat_field == lon_field else f"{lat_field}/{lon_field}",
            "0, 0 is the placeholder trackers send without a GPS fix",
            "send pings only once the device has a location fix",
        )


# --------------------------------------------------------------------------------------
# OsmAnd / Traccar query or form parameters
# --------------------------------------------------------------------------------------


def _param(params: Mapping[str, str], name: str) -> str | None:
    """A parameter's value, or None when absent or empty (Traccar skips empty values)."""
    value = params.get(name)
    if value is None:
        return None
    value = str(value).strip()
    return value or None


def _decimal(value: str, field: str) -> float:
    if not _DECIMAL.fullmatch(value):
        raise _invalid(field, f"{value!r} is not a number")
    number = float(value)
    if not math.isfinite(number):
        raise _invalid(field, f"{value!r} is not a finite number")
    return number


def _optional_decimal(params: Mapping[str, str], name: str) -> float | None:
    value = _param(params, name)
    return None if value is None else _decimal(value, name)


def _device_id(value: str | None, field: str, hint: str) -> str:
    if value is None:
        raise _invalid(field, "the device identifier is missing", hint)
    if (problem := text_problem(value)) is not None:
        raise _invalid(field, f"the device identifier {problem}")
    if len(value) > MAX_DEVICE_ID_LEN:
        raise _invalid(
            field, f"the device identifier is longer than {MAX_DEVICE_ID_LEN} characters"
        )
    return value


def _osmand_position(params: Mapping[str, str]) -> tuple[float, float]:
    lat_text, lon_text = _param(params, "lat"), _param(params, "lon")
    if lat_text is not None or lon_text is not None:
        if lat_text is None:
            raise _invalid("lat", "missing while lon is given", "send both lat and lon")
        if lon_text is None:
            raise _invalid("lon", "missing while lat is given", "send both lat and lon")
        lat, lon = _decimal(lat_text, "lat"), _decimal(lon_text, "lon")
        _check_position(lat, lon, "lat", "lon")
        return lat, lon
    location = _param(params, "location")
    if location is None:
        raise _invalid(
            "lat",
            "no coordinates: neither lat and lon nor location is given",
            "send lat=52.6291&lon=-8.6617 or location=52.6291,-8.6617",
        )
    parts = location.split(",")
    if len(parts) != 2:
        raise _invalid(
            "location", f"{location!r} is not 'latitude,longitude'", "send location=52.6291,-8.6617"
        )
    lat, lon = (_decimal(part.strip(), "location") for part in parts)
    _check_position(lat, lon, "location", "location")
    return lat, lon


def _mock_flag(value: str | None) -> bool:
    if value is None:
        return False
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _invalid("mock", f"{value!r} is not a boolean", "send true, false, 1 or 0")


def parse_osmand(params: Mapping[str, str]) -> tuple[str, PingRecord]:
    """One ping from OsmAnd-protocol query (GET) or form (POST) parameters.

    Returns (device id, ping). Parameters, as Traccar reads them:

    - `id` or `deviceid`: the device identifier (required; `id` wins if both are sent).
    - `timestamp` (required): Unix seconds or milliseconds (an integer below 2**31 - 1 is
      seconds, as in Traccar), or ISO-8601 with `T` or a space between date and time.
      A value without an offset (`2024-05-01 12:00:00`) is read as UTC — unlike Traccar,
      which uses its server's zone.
    - `lat` and `lon`, or `location=lat,lon` (required).
    - `speed` in knots (Traccar's default unit, and what Traccar Client sends), stored in
      m/s. OsmAnd and GPSLogger's `%SPD` send m/s: such trackers must convert
      (a known pitfall, traccar/traccar#3487).
    - `bearing` or `heading` in degrees; `altitude` in metres; `accuracy` in metres
      (0 = unknown: Traccar Client sends 0 for GPS fixes); `batt` in percent;
      `mock` true/1/false/0. Negative speed, bearing or battery mean "unknown".

    `hdop` is not an accuracy (Traccar keeps it as a separate attribute) and is ignored,
    as are all other parameters (`valid`, `charge`, `cell`, `wifi`, custom attributes).
    """
    device_id = _device_id(
        _param(params, "id") or _param(params, "deviceid"),
        "id",
        "send id=<device identifier> (or deviceid=…), as registered for the rep",
    )
    timestamp = _param(params, "timestamp")
    if timestamp is None:
        raise _invalid("timestamp", "missing", _TIMESTAMP_HINT)
    at = _parse_time(timestamp, "timestamp")
    lat, lon = _osmand_position(params)

    speed_kn = _optional_decimal(params, "speed")
    bearing_name = "bearing" if _param(params, "bearing") is not None else "heading"
    bearing = _optional_decimal(params, bearing_name)
    accuracy = _optional_decimal(params, "accuracy")
    battery = _optional_decimal(params, "batt")
    if battery is not None and battery > 100:
        raise _invalid("batt", f"{battery:g} is above 100", "send the battery level in percent")

    ping = PingRecord(
        at=at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy if accuracy is not None and accuracy > 0 else None,
        speed_mps=speed_kn * KNOT_MPS if speed_kn is not None and speed_kn >= 0 else None,
        bearing=bearing % 360 if bearing is not None and bearing >= 0 else None,
        altitude_m=_optional_decimal(params, "altitude"),
        battery_pct=battery if battery is not None and battery >= 0 else None,
        mock=_mock_flag(_param(params, "mock")),
        device_id=device_id,
    )
    return device_id, ping


# --------------------------------------------------------------------------------------
# Traccar Client 9+ JSON body
# --------------------------------------------------------------------------------------


def _object(value: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        problem = "missing" if value is None else f"must be an object, not {_kind(value)}"
        raise _invalid(path, problem)
    return value


def _optional_object(value: Any, path: str) -> Mapping[str, Any] | None:
    return None if value is None else _object(value, path)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _json_number(obj: Mapping[str, Any], key: str, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _invalid(path, f"must be a number, not {_kind(value)}")
    if not math.isfinite(value):
        raise _invalid(path, "must be a finite number")
    return float(value)


def parse_osmand_json(body: Any) -> tuple[str, PingRecord]:
    """One ping from the JSON body Traccar Client 9.0+ posts (Traccar server 6.7+).

    `body` is the decoded JSON (a str or bytes body is decoded first). Returns
    (device id, ping). The shape, as Traccar's decoder reads it::

        {"device_id": "48241179",
         "location": {"timestamp": "2024-05-01T12:00:00.000Z",
                      "coords": {"latitude": …, "longitude": …, "accuracy": m,
                                 "speed": m/s, "heading": degrees, "altitude": m},
                      "battery": {"level": 0..1, "is_charging": bool},
                      "mock": bool,            # present when the OS flags a mock location
                      "is_moving": …, "odometer": …, "event": …, "activity": …,
                      "extras": {…}}}

    Speed is already m/s. Negative speed, heading or battery level mean "unknown" (the
    location SDK reports -1), as do accuracy <= 0 and missing coordinate fields.
    """
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise _invalid("body", f"is not valid JSON ({exc})") from None
    root = _object(body, "body")
    raw_id = root.get("device_id")
    if isinstance(raw_id, int) and not isinstance(raw_id, bool):
        raw_id = str(raw_id)
    elif raw_id is not None and not isinstance(raw_id, str):
        raise _invalid("device_id", f"must be a string, not {_kind(raw_id)}")
    device_id = _device_id(
        (raw_id.strip() or None) if raw_id is not None else None,
        "device_id",
        'send "device_id": "<device identifier>", as registered for the rep',
    )

    location = _object(root.get("location"), "location")
    stamp = location.get("timestamp")
    if stamp is None:
        raise _invalid("location.timestamp", "missing", _TIMESTAMP_HINT)
    if isinstance(stamp, int) and not isinstance(stamp, bool) and stamp >= 0:
        stamp = str(stamp)
    if not isinstance(stamp, str):
        raise _invalid(
            "location.timestamp", f"must be a string, not {_kind(stamp)}", _TIMESTAMP_HINT
        )
    at = _parse_time(stamp, "location.timestamp")

    coords = _object(location.get("coords"), "location.coords")
    lat = _json_number(coords, "latitude", "location.coords.latitude")
    lon = _json_number(coords, "longitude", "location.coords.longitude")
    if lat is None:
        raise _invalid("location.coords.latitude", "missing")
    if lon is None:
        raise _invalid("location.coords.longitude", "missing")
    _check_position(lat, lon, "location.coords.latitude", "location.coords.longitude")
    accuracy = _json_number(coords, "accuracy", "location.coords.accuracy")
    speed = _json_number(coords, "speed", "location.coords.speed")
    heading = _json_number(coords, "heading", "location.coords.heading")

    battery_pct = None
    battery = _optional_object(location.get("battery"), "location.battery")
    if battery is not None:
        level = _json_number(battery, "level", "location.battery.level")
        if level is not None and level > 1:
            raise _invalid(
                "location.battery.level",
                f"{level:g} is above 1",
                "send the battery level as a fraction from 0 to 1",
            )
        if level is not None and level >= 0:
            battery_pct = round(level * 100, 1)

    mock = location.get("mock", False)
    if mock is None:
        mock = False
    if not isinstance(mock, bool):
        raise _invalid("location.mock", f"must be true or false, not {_kind(mock)}")

    ping = PingRecord(
        at=at,
        lat=lat,
        lon=lon,
        accuracy_m=accuracy if accuracy is not None and accuracy > 0 else None,
        speed_mps=speed if speed is not None and speed >= 0 else None,
        bearing=heading % 360 if heading is not None and heading >= 0 else None,
        altitude_m=_json_number(coords, "altitude", "location.coords.altitude"),
        battery_pct=battery_pct,
        mock=mock,
        device_id=device_id,
    )
    return device_id, ping


# --------------------------------------------------------------------------------------
# GPX
# --------------------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _local(name: str) -> str:
    # With namespace processing expat reports "uri<sep>local"; GPX 1.0 and 1.1 differ only
    # in the namespace URI, so matching local names reads both (and namespace-less files).
    return name.rpartition(" ")[2]


def _parse_xml(data: bytes) -> ET.Element:
    """Parse untrusted XML into an ElementTree with local (namespace-free) tag names.

    XML-bomb protection: ET.fromstring's C parser offers no hook to refuse a DTD, and
    only expat >= 2.4 limits entity amplification. So the document is fed through a raw
    expat parser that aborts at the first DOCTYPE (and, belt and braces, at any ENTITY
    declaration) — every entity-expansion or external-entity attack needs a DTD, and GPX
    files never have one — and never parses external parameter entities. The input size
    is capped before parsing (MAX_GPX_BYTES). The events build an ordinary ElementTree.
    """
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")

    def refuse(*_: object) -> None:
        raise _Refused

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    parser.StartElementHandler = lambda name, attrs: builder.start(
        _local(name), {_local(k): v for k, v in attrs.items()}
    )
    parser.EndElementHandler = lambda name: builder.end(_local(name))
    parser.CharacterDataHandler = builder.data
    try:
        parser.Parse(data, True)
    except _Refused:
        raise _invalid(
            "gpx",
            "documents with a DOCTYPE or ENTITY declaration are refused",
            "GPX needs no DTD; export the track again without one",
        ) from None
    except expat.ExpatError as exc:
        raise _invalid("gpx", f"malformed XML: {exc}") from None
    return builder.close()


def _child_text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _gpx_point(point: ET.Element, number: int) -> PingRecord:
    field = f"trkpt {number}"
    lat_text, lon_text = point.get("lat"), point.get("lon")
    if lat_text is None or lon_text is None:
        raise _invalid(field, "the lat and lon attributes are required")
    lat = _decimal(lat_text.strip(), f"{field} lat")
    lon = _decimal(lon_text.strip(), f"{field} lon")
    _check_position(lat, lon, f"{field} lat", f"{field} lon")

    time_text = _child_text(point, "time")
    if time_text is None:
        raise _invalid(
            field,
            "has no <time>",
            "a point without a time cannot be replayed; export the track with timestamps",
        )
    # xsd:dateTime; the GPX schema says times are UTC, so a time without offset is UTC.
    at = _parse_time(time_text, f"{field} time")

    def number_of(tag: str) -> float | None:
        text = _child_text(point, tag)
        return None if text is None else _decimal(text, f"{field} {tag}")

    # GPX 1.0 has <speed> (m/s) and <course> (degrees) in trkpt; GPX 1.1 moved them to
    # vendor extensions, which are ignored (units and meaning vary). <hdop> is a dilution
    # of precision, not metres, so accuracy stays unknown.
    speed, course = number_of("speed"), number_of("course")
    return PingRecord(
        at=at,
        lat=lat,
        lon=lon,
        speed_mps=speed if speed is not None and speed >= 0 else None,
        bearing=course % 360 if course is not None and course >= 0 else None,
        altitude_m=number_of("ele"),
    )


class GpxTrack(NamedTuple):
    """A GPX file's track points: the usable ones and the others with their reason, each
    with its 0-based position among the file's track points (like a ping batch)."""

    points: list[tuple[int, PingRecord]]
    rejected: list[tuple[int, str]]


def parse_gpx(data: bytes) -> GpxTrack:
    """All track points (gpx/trk/trkseg/trkpt) of a GPX 1.0 or 1.1 file, in file order.

    A point needs lat/lon and a <time>; <ele> becomes the altitude. A point that cannot
    be used (no time, a bad coordinate or number) is rejected with its index and reason
    ("has no <time>; …", "lat: 'x' is not a number"), and the others are kept. Waypoints
    and routes carry no track and are ignored; a file that is not GPX, or has no track
    points at all, is refused.
    """
    if len(data) > MAX_GPX_BYTES:
        raise _invalid(
            "gpx",
            f"the file is larger than {MAX_GPX_BYTES // 2**20} MiB",
            "split the track into several files",
        )
    root = _parse_xml(data)
    if root.tag != "gpx":
        raise _invalid("gpx", f"the root element is <{root.tag}>, not <gpx>")
    points = [
        point
        for track in root.findall("trk")
        for segment in track.findall("trkseg")
        for point in segment.findall("trkpt")
    ]
    if not points:
        raise _invalid(
            "gpx",
            "the file has no track points (trk/trkseg/trkpt)",
            "export a recorded track, not only waypoints or a route",
        )
    track = GpxTrack(points=[], rejected=[])
    for index, point in enumerate(points):
        try:
            track.points.append((index, _gpx_point(point, index + 1)))
        except InvalidInput as exc:
            # The index already says which point: "trkpt 3 lat: …" becomes "lat: …".
            reason = exc.message.removeprefix(f"trkpt {index + 1}").lstrip(" :")
            track.rejected.append((index, reason if exc.hint is None else f"{reason}; {exc.hint}"))
    return track
