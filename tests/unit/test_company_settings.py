import pytest
from pydantic import ValidationError

from sfa.company.settings import CompanySettings, VisitDuration


def test_defaults_are_design_numbers():
    s = CompanySettings()
    assert (s.timezone, s.currency, s.language) == ("Asia/Jakarta", "IDR", "id")
    assert (s.consecutive_near_m, s.consecutive_near_count) == (50, 3)
    assert (s.rapid_visits_count, s.rapid_visits_window_minutes) == (4, 30)
    assert (s.cluster_area_m2, s.cluster_min_customers) == (5, 3)
    assert (s.visit_min_minutes, s.visit_max_minutes, s.clock_skew_minutes) == (5, 60, 10)
    assert (s.short_visits_spike_pct, s.short_visits_spike_min) == (20, 5)
    assert (s.visit_count_history_weeks, s.visit_count_min_history_weeks) == (20, 4)
    assert (s.low_visit_rate_pct, s.low_visit_rate_weeks) == (80, 3)
    assert s.tz.key == "Asia/Jakarta"


def test_visit_duration_per_class_falls_back_to_default():
    s = CompanySettings(
        visit_duration_by_class={"grosir": VisitDuration(min_minutes=10, max_minutes=120)}
    )
    assert s.visit_duration_for("grosir").max_minutes == 120
    assert s.visit_duration_for("warung") == VisitDuration(min_minutes=5, max_minutes=60)
    assert s.visit_duration_for(None).min_minutes == 5


@pytest.mark.parametrize(
    "change",
    [
        {"timezone": "Asia/Atlantis"},
        {"currency": "rupiah"},
        {"workday_end": "7pm"},
        {"verify_radius_m": float("nan")},
        {"verify_radius_m": 0},
        {"low_visit_rate_pct": 101},
        {"visit_min_minutes": 90},
        {"unknown": 1},
    ],
)
def test_invalid_values_are_refused(change):
    with pytest.raises(ValidationError):
        CompanySettings(**change)
