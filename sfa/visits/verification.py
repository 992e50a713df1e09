"""Check-in verification against the customer's location (docs/rules.md), as pure functions."""

from dataclasses import dataclass

from sfa.company.settings import CompanySettings
from sfa.visits.models import VerificationStatus


@dataclass(frozen=True)
class Verification:
    status: VerificationStatus
    distance_m: float | None
    radius_m: float | None


def known_accuracy(accuracy_m: float | None) -> float | None:
    """Accuracy 0 or missing means unknown, never "perfect"."""
    return accuracy_m if accuracy_m and accuracy_m > 0 else None


def radius_for(
    settings: CompanySettings, *, accuracy_m: float | None, customer_radius_m: float | None
) -> float:
    """The radius a check-in must fall within.

    A customer's own radius replaces the company default; a fix reported as worse than
    `low_accuracy_threshold_m` gets the wider `low_accuracy_radius_m` (never narrower
    than the customer's own). Unknown accuracy gets no relaxation.
    """
    base = customer_radius_m or settings.verify_radius_m
    accuracy = known_accuracy(accuracy_m)
    if accuracy is not None and accuracy > settings.low_accuracy_threshold_m:
        return max(base, settings.low_accuracy_radius_m)
    return base


def verify(
    settings: CompanySettings,
    *,
    mock: bool,
    has_position: bool,
    distance_m: float | None,
    accuracy_m: float | None,
    customer_radius_m: float | None,
) -> Verification:
    """`distance_m` is None when the customer has no location."""
    if mock:
        return Verification(VerificationStatus.mock_location, distance_m, None)
    if not has_position:
        return Verification(VerificationStatus.no_position, None, None)
    if distance_m is None:
        return Verification(VerificationStatus.customer_location_unknown, None, None)
    radius = radius_for(settings, accuracy_m=accuracy_m, customer_radius_m=customer_radius_m)
    status = VerificationStatus.verified if distance_m <= radius else VerificationStatus.too_far
    return Verification(status, distance_m, radius)


def can_capture_location(settings: CompanySettings, accuracy_m: float | None) -> bool:
    accuracy = known_accuracy(accuracy_m)
    return accuracy is not None and accuracy <= settings.capture_max_accuracy_m
