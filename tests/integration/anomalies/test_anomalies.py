"""Weekly anomalies at their boundaries, including an ISO-week/year boundary."""

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from factories import build_world, make_rep_weeks
from sfa.anomalies import service as anomaly_service
from sfa.anomalies.models import RepWeek, WeeklyAnomaly
from sfa.company import service as company_service

WEEK = date(2026, 11, 16)  # Monday of 2026-W47


@pytest.fixture
def rep(db):
    return build_world(db).rep_a


def weeks(db, rep, rows, last=WEEK):
    """rows: (visits, short_visits, planned, done) from oldest to `last`."""
    make_rep_weeks(db, rep, rows, last)


def anomalies(db, rep, week=WEEK) -> dict[str, dict]:
    anomaly_service.compute_anomalies(
        db,
        week_from=week,
        week_to=week,
        rep_ids=[rep.id],
        settings=company_service.get_company_settings(db),
        today=week + timedelta(days=7),
    )
    return {
        a.code: a.numbers
        for a in db.scalars(
            select(WeeklyAnomaly).where(
                WeeklyAnomaly.rep_id == rep.id, WeeklyAnomaly.week_start == week
            )
        )
    }


@pytest.mark.parametrize(
    ("prev", "this", "fires"),
    [
        (100, 121, True),
        (100, 119, False),
        (100, 120, False),
        (4, 5, True),
        (3, 4, False),
        (0, 5, True),
        (0, 4, False),
    ],
)
def test_short_visits_spike(db, rep, prev, this, fires):
    weeks(db, rep, [(40, prev, 0, 0), (40, this, 0, 0)])
    found = anomalies(db, rep)
    assert ("short_visits_spike" in found) is fires
    if fires and prev:
        assert found["short_visits_spike"]["rise_pct"] == pytest.approx(
            (this - prev) * 100 / prev, abs=0.05
        )


def test_no_short_visits_spike_without_a_previous_week_of_data(db, rep):
    # A rep's first week (no row before it), and a week after one without visits: there
    # is nothing to rise from ("from none" used to count as a rise).
    weeks(db, rep, [(40, 12, 0, 0)])
    assert "short_visits_spike" not in anomalies(db, rep)
    later = WEEK + timedelta(weeks=2)
    weeks(db, rep, [(0, 0, 0, 0), (40, 12, 0, 0)], last=later)
    assert "short_visits_spike" not in anomalies(db, rep, week=later)
    # With visits but no short ones the week before, 12 short visits are a spike.
    latest = WEEK + timedelta(weeks=4)
    weeks(db, rep, [(30, 0, 0, 0), (40, 12, 0, 0)], last=latest)
    found = anomalies(db, rep, week=latest)
    assert found["short_visits_spike"]["previous_week"] == 0


def test_visit_count_outlier_needs_four_weeks_of_history(db, rep):
    weeks(db, rep, [(40, 0, 0, 0), (42, 0, 0, 0), (38, 0, 0, 0), (10, 0, 0, 0)])
    assert "visit_count_outlier" not in anomalies(db, rep)  # 3 weeks of history


def test_visit_count_outlier_with_four_weeks(db, rep):
    # history 40, 42, 38, 40: mean 40, sample σ 1.633; 2σ band [36.73, 43.27]
    weeks(db, rep, [(40, 0, 0, 0), (42, 0, 0, 0), (38, 0, 0, 0), (40, 0, 0, 0), (36, 0, 0, 0)])
    found = anomalies(db, rep)
    assert found["visit_count_outlier"]["mean"] == 40
    assert found["visit_count_outlier"]["sigma"] == pytest.approx(1.63, abs=0.01)
    assert found["visit_count_outlier"]["history_weeks"] == 4


def test_visit_count_inside_band_is_normal(db, rep):
    weeks(db, rep, [(40, 0, 0, 0), (42, 0, 0, 0), (38, 0, 0, 0), (40, 0, 0, 0), (37, 0, 0, 0)])
    assert "visit_count_outlier" not in anomalies(db, rep)


def test_history_is_at_most_twenty_weeks(db, rep):
    # 25 weeks at 100, then 20 weeks around 40: only the last 20 form the history.
    rows = [(100, 0, 0, 0)] * 5 + [(40 + (i % 3) - 1, 0, 0, 0) for i in range(20)]
    weeks(db, rep, [*rows, (41, 0, 0, 0)])
    assert "visit_count_outlier" not in anomalies(db, rep)


@pytest.mark.parametrize(
    ("rates", "fires"),
    [
        ([(10, 7), (10, 7), (10, 9)], False),  # 2 low weeks then fine
        ([(10, 9), (10, 7), (10, 7)], False),  # only 2 low weeks so far
        ([(10, 7), (10, 7), (10, 7)], True),  # 3 low weeks in a row
        ([(10, 8), (10, 8), (10, 8)], False),  # exactly 80 % is not below 80 %
    ],
)
def test_low_visit_rate_streak(db, rep, rates, fires):
    weeks(db, rep, [(p, 0, p, d) for p, d in rates])
    found = anomalies(db, rep)
    assert ("low_visit_rate" in found) is fires
    if fires:
        assert found["low_visit_rate"]["streak_weeks"] == 3
        assert found["low_visit_rate"]["rate_pct"] == 70


def test_low_visit_rate_streak_across_the_iso_year_boundary(db, rep):
    # 2026-W52 (Dec 21), 2026-W53 (Dec 28), 2027-W01 (Jan 4).
    target = date(2027, 1, 4)
    weeks(db, rep, [(10, 0, 10, 5), (10, 0, 10, 5), (10, 0, 10, 5)], last=target)
    assert db.get(RepWeek, (rep.id, date(2026, 12, 28))).iso_week == 53
    found = anomalies(db, rep, week=target)
    assert found["low_visit_rate"]["streak_weeks"] == 3


def test_a_week_without_plans_breaks_the_streak(db, rep):
    weeks(db, rep, [(10, 0, 10, 5), (10, 0, 0, 0), (10, 0, 10, 5), (10, 0, 10, 5)])
    assert "low_visit_rate" not in anomalies(db, rep)


def test_recompute_is_idempotent_and_reasons_are_bilingual(db, rep):
    weeks(db, rep, [(40, 4, 10, 7), (40, 10, 10, 7), (40, 13, 10, 7)])
    first = anomalies(db, rep)
    second = anomalies(db, rep)
    assert first == second and set(first) == {"short_visits_spike", "low_visit_rate"}
    row = db.scalar(select(WeeklyAnomaly).where(WeeklyAnomaly.code == "low_visit_rate"))
    assert "70.0%" in row.reason_en and "70.0%" in row.reason_id
    assert "weeks in a row" in row.reason_en and "berturut-turut" in row.reason_id


def test_the_current_incomplete_week_is_not_judged(db, rep):
    weeks(db, rep, [(40, 0, 0, 0), (42, 0, 0, 0), (38, 0, 0, 0), (40, 0, 0, 0), (3, 0, 0, 0)])
    stored = anomaly_service.compute_anomalies(
        db,
        week_from=WEEK,
        week_to=WEEK,
        rep_ids=[rep.id],
        settings=company_service.get_company_settings(db),
        today=WEEK + timedelta(days=6),
    )  # Sunday of WEEK
    assert stored == 0
    assert "visit_count_outlier" in anomalies(db, rep)  # once the week is over
