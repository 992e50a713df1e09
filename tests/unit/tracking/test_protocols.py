"""Tracker protocol parsers: OsmAnd/Traccar query+form, Traccar Client JSON, GPX."""

import json
from datetime import UTC, datetime

import pytest

from paths import TEST_DATA
from sfa.errors import InvalidInput
from sfa.tracking.protocols import (
    KNOT_MPS,
    MAX_GPX_BYTES,
    parse_gpx,
    parse_osmand,
    parse_osmand_json,
)

LIMERICK_GPX = TEST_DATA / "limerick-bus-304" / "bus-304-2019-02-18.gpx"

# 2024-05-01T12:00:00Z
INSTANT = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
EPOCH_S = 1714564800


def values(ping, *names):
    """Parsed pings are dicts whose optional keys may be absent (absent reads as None)."""
    return tuple(ping.get(name) for name in names)


def osmand(**overrides: str | None) -> dict[str, str]:
    """A request as Traccar Client (< 9.0) builds it (ProtocolFormatter.kt)."""
    params = {
        "id": "rep-phone-17",
        "timestamp": str(EPOCH_S),
        "lat": "52.629151",
        "lon": "-8.661746",
        "speed": "0.0",
        "bearing": "0.0",
        "altitude": "19.5",
        "accuracy": "0.0",
        "batt": "85.0",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


def invalid(call, *args) -> InvalidInput:
    with pytest.raises(InvalidInput) as caught:
        call(*args)
    return caught.value


# ---------------------------------------------------------------------- OsmAnd params


def test_traccar_client_request_parses_to_a_full_ping():
    device_id, ping = parse_osmand(osmand(speed="10.0", bearing="271.5", accuracy="12.0"))
    assert device_id == "rep-phone-17"
    assert ping.get("device_id") == "rep-phone-17"
    assert ping["at"] == INSTANT
    assert values(ping, "lat", "lon") == (52.629151, -8.661746)
    assert ping.get("speed_mps") == pytest.approx(5.14444, abs=1e-5)
    assert ping.get("bearing") == 271.5
    assert ping.get("altitude_m") == 19.5
    assert ping.get("accuracy_m") == 12.0
    assert ping.get("battery_pct") == 85.0
    assert ping.get("mock") is False


@pytest.mark.parametrize(
    "timestamp, expected",
    [
        (str(EPOCH_S), INSTANT),  # Unix seconds (Traccar Client, GPSLogger %TIMESTAMP)
        (str(EPOCH_S * 1000 + 250), datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)),
        ("2024-05-01T12:00:00Z", INSTANT),
        ("2024-05-01T12:00:00.000Z", INSTANT),
        ("2024-05-01T19:00:00+07:00", INSTANT),
        ("2024-05-01T07:00:00-05:00", INSTANT),
        ("2024-05-01 12:00:00", INSTANT),  # Traccar's yyyy-MM-dd HH:mm:ss, read as UTC
        ("2024-05-01T12:00:00", INSTANT),  # naive ISO: UTC as well
    ],
)
def test_timestamp_forms_give_the_utc_instant(timestamp, expected):
    _, ping = parse_osmand(osmand(timestamp=timestamp))
    assert ping["at"] == expected
    assert ping["at"].utcoffset().total_seconds() == 0


def test_seconds_and_milliseconds_are_told_apart_by_magnitude_like_traccar():
    # Just below 2**31 - 1 is still seconds (2038-01-19); 2**31 - 1 itself is milliseconds.
    _, late = parse_osmand(osmand(timestamp="2147483646"))
    assert late["at"] == datetime(2038, 1, 19, 3, 14, 6, tzinfo=UTC)
    _, ms = parse_osmand(osmand(timestamp=str(1_000_000_000_000)))
    assert ms["at"] == datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)


def test_speed_is_knots_converted_to_metres_per_second():
    assert abs(KNOT_MPS - 0.514444) < 1e-6
    _, ping = parse_osmand(osmand(speed="10"))
    assert ping.get("speed_mps") == pytest.approx(5.14444, abs=1e-5)
    _, ping = parse_osmand(osmand(speed="19.43844"))  # what Traccar Client sends for 10 m/s
    assert ping.get("speed_mps") == pytest.approx(10.0, abs=1e-5)


def test_location_parameter_gives_the_coordinates():
    _, ping = parse_osmand(osmand(lat=None, lon=None, location="52.629151,-8.661746"))
    assert values(ping, "lat", "lon") == (52.629151, -8.661746)


def test_deviceid_and_heading_aliases():
    device_id, ping = parse_osmand(
        osmand(id=None, deviceid="imei-356938035643809", bearing=None, heading="90")
    )
    assert device_id == "imei-356938035643809"
    assert ping.get("bearing") == 90.0


def test_accuracy_zero_means_unknown():
    # Traccar Client sends accuracy=0.0 for every GPS-provider fix.
    _, ping = parse_osmand(osmand(accuracy="0.0"))
    assert ping.get("accuracy_m") is None
    _, ping = parse_osmand(osmand(accuracy=None))
    assert ping.get("accuracy_m") is None


def test_hdop_is_not_taken_as_accuracy():
    _, ping = parse_osmand(osmand(accuracy=None, hdop="0.8"))
    assert ping.get("accuracy_m") is None


def test_missing_optional_values_are_none():
    params = {"id": "p", "timestamp": str(EPOCH_S), "lat": "1.5", "lon": "2.5"}
    _, ping = parse_osmand(params)
    assert values(ping, "speed_mps", "bearing", "altitude_m", "battery_pct") == (
        None,
        None,
        None,
        None,
    )
    assert ping.get("mock") is False


def test_negative_speed_bearing_battery_mean_unknown():
    _, ping = parse_osmand(osmand(speed="-1", bearing="-1", batt="-1"))
    assert values(ping, "speed_mps", "bearing", "battery_pct") == (None, None, None)


@pytest.mark.parametrize(
    "value, expected",
    [("true", True), ("1", True), ("TRUE", True), ("false", False), ("0", False), (None, False)],
)
def test_mock_flags(value, expected):
    _, ping = parse_osmand(osmand(mock=value))
    assert ping.get("mock") is expected


def test_unknown_parameters_are_ignored():
    _, ping = parse_osmand(
        osmand(
            valid="true",
            charge="true",
            cell="208,10,12345,67890,50",
            wifi="00-14-22-01-23-45,-80",
            driverUniqueId="D1",
            trip="Test 2",
            alarm="sos",
        )
    )
    assert ping["at"] == INSTANT


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"id": None}, "id"),
        ({"id": "   "}, "id"),
        ({"id": "x" * 121}, "id"),
        ({"timestamp": None}, "timestamp"),
        ({"timestamp": ""}, "timestamp"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": "2024-05-01"}, "timestamp"),  # a date is not an instant
        ({"timestamp": "2024-13-01T12:00:00Z"}, "timestamp"),
        ({"timestamp": "1714564800.5"}, "timestamp"),
        ({"timestamp": "9" * 30}, "timestamp"),
        ({"lat": None, "lon": None}, "lat"),
        ({"lat": None}, "lat"),
        ({"lon": None}, "lon"),
        ({"lat": "north"}, "lat"),
        ({"lon": "1_000"}, "lon"),
        ({"lat": "nan"}, "lat"),
        ({"lat": "91"}, "lat"),
        ({"lon": "-180.5"}, "lon"),
        ({"lat": "0", "lon": "0"}, "lat/lon"),
        ({"lat": None, "lon": None, "location": "52.6"}, "location"),
        ({"lat": None, "lon": None, "location": "52.6,x"}, "location"),
        ({"lat": None, "lon": None, "location": "1,2,3"}, "location"),
        ({"speed": "fast"}, "speed"),
        ({"bearing": "north"}, "bearing"),
        ({"altitude": "inf"}, "altitude"),
        ({"accuracy": "good"}, "accuracy"),
        ({"batt": "full"}, "batt"),
        ({"batt": "150"}, "batt"),
        ({"mock": "maybe"}, "mock"),
    ],
)
def test_osmand_errors_name_the_parameter(overrides, field):
    error = invalid(parse_osmand, osmand(**overrides))
    assert error.message.startswith(f"{field}:"), error.message
    assert error.details == {"field": field}


def test_osmand_errors_carry_hints():
    assert "deviceid" in invalid(parse_osmand, osmand(id=None)).hint
    assert "ISO-8601" in invalid(parse_osmand, osmand(timestamp="soon")).hint
    assert "location=" in invalid(parse_osmand, osmand(lat=None, lon=None)).hint
    assert "swap" in invalid(parse_osmand, osmand(lat="152.6", lon="-8.66")).hint


# ---------------------------------------------------------------- Traccar Client JSON


def traccar_json(**location_overrides) -> dict:
    """A body as Traccar Client 9 posts it (transistorsoft location JSON + device_id)."""
    location = {
        "timestamp": "2024-05-01T12:00:00.000Z",
        "uuid": "5a2c4d0e-1b7f-4f3c-9a5e-0c2f1d4b8e21",
        "age": 312,
        "coords": {
            "latitude": 52.629151,
            "longitude": -8.661746,
            "accuracy": 4.7,
            "speed": 12.3,
            "speed_accuracy": 0.6,
            "heading": 184.2,
            "heading_accuracy": 9.1,
            "altitude": 19.5,
            "ellipsoidal_altitude": 73.2,
            "altitude_accuracy": 1.9,
        },
        "is_moving": True,
        "odometer": 18250.4,
        "event": "motionchange",
        "activity": {"type": "in_vehicle", "confidence": 92},
        "battery": {"level": 0.85, "is_charging": False},
        "extras": {},
    }
    location.update(location_overrides)
    return {"location": location, "device_id": "48241179"}


def test_traccar_client_json_body_parses_to_a_full_ping():
    device_id, ping = parse_osmand_json(traccar_json())
    assert device_id == "48241179"
    assert ping.get("device_id") == "48241179"
    assert ping["at"] == INSTANT
    assert values(ping, "lat", "lon") == (52.629151, -8.661746)
    assert ping.get("accuracy_m") == 4.7
    assert ping.get("speed_mps") == 12.3  # m/s already: no knots conversion
    assert ping.get("bearing") == 184.2
    assert ping.get("altitude_m") == 19.5
    assert ping.get("battery_pct") == 85.0
    assert ping.get("mock") is False


def test_json_body_as_raw_bytes_or_text():
    raw = json.dumps(traccar_json())
    assert parse_osmand_json(raw) == parse_osmand_json(raw.encode())
    assert parse_osmand_json(raw)[1]["at"] == INSTANT


def test_json_mock_flag_and_offset_timestamp():
    _, ping = parse_osmand_json(traccar_json(mock=True, timestamp="2024-05-01T19:00:00+07:00"))
    assert ping.get("mock") is True
    assert ping["at"] == INSTANT


def test_json_unknown_values_are_none():
    body = traccar_json(battery={"level": -1, "is_charging": False})
    body["location"]["coords"].update(speed=-1, heading=-1, accuracy=0)
    del body["location"]["coords"]["altitude"]
    _, ping = parse_osmand_json(body)
    assert (
        values(ping, "speed_mps", "bearing", "accuracy_m", "altitude_m", "battery_pct")
        == (None,) * 5
    )


def test_json_minimal_body():
    body = {
        "device_id": "p1",
        "location": {
            "timestamp": "2024-05-01T12:00:00Z",
            "coords": {"latitude": 1.5, "longitude": 2.5},
        },
    }
    _, ping = parse_osmand_json(body)
    assert values(ping, "lat", "lon", "battery_pct", "mock") == (1.5, 2.5, None, False)


def _without(path: str) -> dict:
    body = traccar_json()
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    del node[leaf]
    return body


def _with(path: str, value) -> dict:
    body = traccar_json()
    *parents, leaf = path.split(".")
    node = body
    for key in parents:
        node = node[key]
    node[leaf] = value
    return body


@pytest.mark.parametrize(
    "body, field",
    [
        ([], "body"),
        ("{not json", "body"),
        (_without("device_id"), "device_id"),
        (_with("device_id", ""), "device_id"),
        (_with("device_id", {"id": 1}), "device_id"),
        (_without("location"), "location"),
        (_with("location", [traccar_json()["location"]]), "location"),
        (_without("location.timestamp"), "location.timestamp"),
        (_with("location.timestamp", "yesterday"), "location.timestamp"),
        (_with("location.timestamp", 1.5), "location.timestamp"),
        (_without("location.coords"), "location.coords"),
        (_without("location.coords.latitude"), "location.coords.latitude"),
        (_without("location.coords.longitude"), "location.coords.longitude"),
        (_with("location.coords.latitude", "52.6"), "location.coords.latitude"),
        (_with("location.coords.latitude", True), "location.coords.latitude"),
        (_with("location.coords.latitude", float("nan")), "location.coords.latitude"),
        (_with("location.coords.latitude", 95.0), "location.coords.latitude"),
        (_with("location.coords.longitude", 181), "location.coords.longitude"),
        (_with("location.coords.speed", "fast"), "location.coords.speed"),
        (_with("location.coords.altitude", float("inf")), "location.coords.altitude"),
        (_with("location.battery", 0.85), "location.battery"),
        (_with("location.battery.level", 85), "location.battery.level"),
        (_with("location.mock", "yes"), "location.mock"),
    ],
)
def test_json_errors_name_the_path(body, field):
    error = invalid(parse_osmand_json, body)
    assert error.message.startswith(f"{field}:"), error.message
    assert error.details == {"field": field}


# ------------------------------------------------------------------------------- GPX


def gpx_points(data: bytes) -> list:
    """The points of a GPX file that has none to reject."""
    track = parse_gpx(data)
    assert track.rejected == []
    assert [index for index, _ in track.points] == list(range(len(track.points)))
    return [point for _, point in track.points]


def test_limerick_gpx_parses_every_point():
    points = gpx_points(LIMERICK_GPX.read_bytes())
    assert len(points) == 2144
    first = points[0]
    # <trkpt lat="52.6291510" lon="-8.6617460"><ele>19.5</ele>
    # <time>2019-02-18T07:45:50Z</time>
    assert values(first, "lat", "lon") == (52.6291510, -8.6617460)
    assert first.get("altitude_m") == 19.5
    assert first["at"] == datetime(2019, 2, 18, 7, 45, 50, tzinfo=UTC)
    assert points[-1]["at"] == datetime(2019, 2, 18, 9, 0, 26, tzinfo=UTC)
    assert all(values(p, "accuracy_m", "device_id", "mock") == (None, None, None) for p in points)


GPX_10 = b"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.0" creator="GPSBabel - http://www.gpsbabel.org"
     xmlns="http://www.topografix.com/GPX/1/0">
  <time>2017-06-19T18:50:00Z</time>
  <wpt lat="38.0" lon="-90.0"><name>not a track point</name></wpt>
  <trk><trkseg>
    <trkpt lat="38.636138833" lon="-90.162611667">
      <ele>192.000000</ele><time>2017-06-19T18:41:36Z</time>
      <course>230.050003</course><speed>23.925783</speed><hdop>2.38</hdop>
    </trkpt>
    <trkpt lat="38.635696333" lon="-90.163234333">
      <ele>193.100000</ele><time>2017-06-19T18:41:37.500Z</time>
    </trkpt>
  </trkseg></trk>
  <trk><trkseg>
    <trkpt lat="38.6355" lon="-90.1634"><time>2017-06-19T20:41:38+02:00</time></trkpt>
  </trkseg></trk>
</gpx>"""


def test_gpx_10_namespace_and_its_speed_and_course():
    points = gpx_points(GPX_10)
    assert len(points) == 3
    first, second, third = points
    assert values(first, "lat", "lon", "altitude_m") == (38.636138833, -90.162611667, 192.0)
    assert first["at"] == datetime(2017, 6, 19, 18, 41, 36, tzinfo=UTC)
    assert first.get("speed_mps") == 23.925783  # GPX 1.0 <speed> is m/s
    assert first.get("bearing") == 230.050003
    assert first.get("accuracy_m") is None  # hdop is not metres
    assert second["at"] == datetime(2017, 6, 19, 18, 41, 37, 500000, tzinfo=UTC)
    assert second.get("speed_mps") is None
    assert third["at"] == datetime(2017, 6, 19, 18, 41, 38, tzinfo=UTC)
    assert third.get("altitude_m") is None


def test_gpx_without_namespace_and_naive_time_is_utc():
    data = b"""<gpx version="1.1"><trk><trkseg>
      <trkpt lat="49.87482759" lon="9.99263814"><time>2011-09-11T20:40:48</time></trkpt>
    </trkseg></trk></gpx>"""
    (point,) = gpx_points(data)
    assert point["at"] == datetime(2011, 9, 11, 20, 40, 48, tzinfo=UTC)


def _gpx11(*points: str) -> bytes:
    body = "".join(points)
    return (
        '<?xml version="1.0"?><gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
        f"<trk><trkseg>{body}</trkseg></trk></gpx>"
    ).encode()


GOOD_POINT = '<trkpt lat="52.1" lon="-8.1"><time>2019-02-18T07:45:50Z</time></trkpt>'


def test_gpx_points_without_time_are_rejected_and_the_timed_ones_kept():
    # A logger that writes its first points before it has a GPS time: the file is
    # imported from its first timed point on, the others are reported.
    untimed = '<trkpt lat="52.1" lon="-8.1"><ele>3</ele></trkpt>'
    timed = [
        f'<trkpt lat="52.1" lon="-8.1"><time>2019-02-18T07:45:{s:02d}Z</time></trkpt>'
        for s in (50, 51, 52)
    ]
    track = parse_gpx(_gpx11(untimed, untimed, timed[0], untimed, timed[1], timed[2]))
    assert [index for index, _ in track.points] == [2, 4, 5]
    assert [p["at"].second for _, p in track.points] == [50, 51, 52]
    assert [index for index, _ in track.rejected] == [0, 1, 3]
    reason = track.rejected[0][1]
    assert reason.startswith("has no <time>; ")
    assert "replayed" in reason


def test_a_gpx_file_without_any_time_rejects_every_point():
    untimed = '<trkpt lat="52.1" lon="-8.1"></trkpt>'
    track = parse_gpx(_gpx11(untimed, untimed))
    assert track.points == []
    assert [index for index, _ in track.rejected] == [0, 1]


@pytest.mark.parametrize(
    "bad_point, reason",
    [
        ('<trkpt lon="-8.1"><time>2019-02-18T07:45:50Z</time></trkpt>', "the lat and lon"),
        ('<trkpt lat="x" lon="-8.1"><time>2019-02-18T07:45:50Z</time></trkpt>', "lat: 'x'"),
        ('<trkpt lat="99" lon="-8.1"><time>2019-02-18T07:45:50Z</time></trkpt>', "lat: "),
        ('<trkpt lat="52.1" lon="-181"><time>2019-02-18T07:45:50Z</time></trkpt>', "lon: "),
        ('<trkpt lat="52.1" lon="-8.1"><time>later</time></trkpt>', "time: "),
        ('<trkpt lat="52.1" lon="-8.1"><time> </time></trkpt>', "has no <time>"),
        (
            '<trkpt lat="52.1" lon="-8.1"><ele>high</ele><time>2019-02-18T07:45:50Z</time></trkpt>',
            "ele: ",
        ),
    ],
)
def test_gpx_point_errors_reject_that_point_only(bad_point, reason):
    track = parse_gpx(_gpx11(GOOD_POINT, bad_point, GOOD_POINT))
    assert [index for index, _ in track.points] == [0, 2]
    ((index, text),) = track.rejected
    assert index == 1
    assert text.startswith(reason), text


def test_gpx_doctype_is_refused():
    bomb = b"""<?xml version="1.0"?>
<!DOCTYPE gpx [
  <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
]>
<gpx><trk><trkseg><trkpt lat="52.1" lon="-8.1"><name>&c;</name>
<time>2019-02-18T07:45:50Z</time></trkpt></trkseg></trk></gpx>"""
    error = invalid(parse_gpx, bomb)
    assert "DOCTYPE" in error.message
    # Even a harmless DOCTYPE (or an external one) is refused: GPX never needs a DTD.
    plain = (
        b'<?xml version="1.0"?><!DOCTYPE gpx SYSTEM "file:///etc/passwd">'
        + _gpx11(GOOD_POINT)[len(b'<?xml version="1.0"?>') :]
    )
    assert "DOCTYPE" in invalid(parse_gpx, plain).message


@pytest.mark.parametrize(
    "data, words",
    [
        (b"<gpx><trk><trkseg><trkpt lat='1' lon='2'></trk></gpx>", "malformed XML"),
        (b"", "malformed XML"),
        (b"not xml at all", "malformed XML"),
        (b"<gpx>&undefined;</gpx>", "malformed XML"),
        (b"<kml><Placemark/></kml>", "root element is <kml>"),
        (b'<gpx version="1.1"><wpt lat="1" lon="2"/></gpx>', "no track points"),
    ],
)
def test_gpx_file_level_errors(data, words):
    error = invalid(parse_gpx, data)
    assert error.message.startswith("gpx:")
    assert words in error.message


def test_gpx_size_is_capped():
    error = invalid(parse_gpx, b" " * (MAX_GPX_BYTES + 1))
    assert "larger than" in error.message
