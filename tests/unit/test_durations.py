"""Durations across a daylight-saving change (America/New_York falls back on 2026-11-01:
01:59:59 EDT is followed by 01:00:00 EST). Two datetimes of the same ZoneInfo subtract
as wall-clock times in Python; every duration of the product must be the elapsed time."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sfa.durations import minutes_between, seconds_between
from sfa.tracking.track import Stop, TrackPoint, TrackThresholds, analyse_track

NY = ZoneInfo("America/New_York")
BEFORE = datetime(2026, 11, 1, 1, 30, tzinfo=NY)  # 01:30 EDT = 05:30 UTC
AFTER = datetime(2026, 11, 1, 1, 20, tzinfo=NY, fold=1)  # 01:20 EST = 06:20 UTC


def test_the_wall_clock_difference_is_wrong_there():
    wall_clock = AFTER - BEFORE  # what Python does, and why sfa.durations exists
    assert wall_clock.total_seconds() == -600
    assert minutes_between(BEFORE, AFTER) == 50
    assert seconds_between(AFTER, BEFORE) == -3000
    assert seconds_between(BEFORE.astimezone(UTC), AFTER) == 3000


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        seconds_between(datetime(2026, 11, 1, 1, 30), AFTER)


def test_a_stop_across_the_change_lasts_50_minutes():
    stop = Stop(
        start=BEFORE, end=AFTER, lat=40.7, lon=-74.0, n_pings=2, spans_gap=False, gap_minutes=0
    )
    assert stop.minutes == 50


def test_a_stay_across_the_change_is_one_50_minute_stop():
    # Fixes every minute in New York local time, from 01:30 EDT to 01:20 EST: the stop's
    # times are the pings' own, and its minutes are elapsed minutes.
    start = BEFORE.astimezone(UTC)
    pings = [
        TrackPoint(at=(start + timedelta(minutes=k)).astimezone(NY), lat=40.7128, lon=-74.0060)
        for k in range(51)
    ]
    s = analyse_track(pings, thresholds=TrackThresholds(), window_start=BEFORE, window_end=AFTER)
    (stop,) = s.stops
    assert stop.start == BEFORE and stop.end == AFTER
    assert stop.minutes == 50
    assert s.coverage == 1.0
