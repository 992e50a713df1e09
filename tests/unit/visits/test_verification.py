import pytest

from sfa.company.settings import CompanySettings
from sfa.visits.models import VerificationStatus as S
from sfa.visits.verification import can_capture_location, radius_for, verify

SETTINGS = CompanySettings()


def check(distance, accuracy=10.0, mock=False, has_position=True, customer_radius=None):
    return verify(
        SETTINGS,
        mock=mock,
        has_position=has_position,
        distance_m=distance,
        accuracy_m=accuracy,
        customer_radius_m=customer_radius,
    )


@pytest.mark.parametrize(
    ("distance", "accuracy", "expected", "radius"),
    [
        (300.0, 10, S.verified, 300),  # on the boundary: within
        (300.01, 10, S.too_far, 300),
        (300.01, 100, S.too_far, 300),  # 100 m is not "worse than" 100 m
        (599.9, 100.5, S.verified, 600),  # worse than 100 m: the wider radius
        (600.01, 150, S.too_far, 600),
        (450, 0, S.too_far, 300),  # accuracy 0 = unknown: no relaxation
        (450, None, S.too_far, 300),
        (250, None, S.verified, 300),
    ],
)
def test_radius_boundaries(distance, accuracy, expected, radius):
    result = check(distance, accuracy)
    assert (result.status, result.radius_m) == (expected, radius)


def test_customer_override_radius():
    assert check(140, 10, customer_radius=120).status is S.too_far
    assert check(110, 10, customer_radius=120).status is S.verified
    # A low-accuracy fix is never judged by less than the company's low-accuracy radius.
    assert radius_for(SETTINGS, accuracy_m=300, customer_radius_m=120) == 600
    assert radius_for(SETTINGS, accuracy_m=300, customer_radius_m=900) == 900


def test_other_statuses_take_precedence_in_order():
    assert check(10, mock=True).status is S.mock_location
    assert check(None, has_position=False).status is S.no_position
    assert check(None).status is S.customer_location_unknown


@pytest.mark.parametrize(
    ("accuracy", "ok"), [(50, True), (49.9, True), (50.1, False), (0, False), (None, False)]
)
def test_location_capture_needs_known_accuracy_of_50_m(accuracy, ok):
    assert can_capture_location(SETTINGS, accuracy) is ok
