"""Flag codes and their human reasons (English and Bahasa Indonesia).

Check-in computes the flags it can see at once, the day recompute (sfa.tracking.days)
the ones that need the day's track, and sfa.visits.indicators (in SQL) the ones that need
the whole day's visits (runs, clusters, speed between events); sfa.visits.flagging
writes them all and keeps the trust score. The reasons of the Python-made flags are
built here; a value of a flag's numbers that is a word (a variant) is stored as a code
and worded in each language from VARIANTS, never inserted as English into both.
"""

from dataclasses import dataclass

# code -> (English, Bahasa Indonesia) templates over the flag's numbers.
REASONS: dict[str, tuple[str, str]] = {
    "mock_location": (
        "The device reported a mock (fake GPS) location.",
        "Perangkat melaporkan lokasi palsu (mock GPS).",
    ),
    "too_far": (
        "Checked in {distance_m:.0f} m from the customer; allowed {radius_m:.0f} m.",
        "Check-in {distance_m:.0f} m dari pelanggan; batas {radius_m:.0f} m.",
    ),
    "clock_skew": (
        "Device clock off by {skew_minutes:.1f} min (limit {limit_minutes:g} min).",
        "Jam perangkat selisih {skew_minutes:.1f} menit (batas {limit_minutes:g} menit).",
    ),
    "drive_by": (
        "No stop of {stop_min_minutes:g} min within {stop_radius_m:g} m around the "
        "check-in: the rep was moving at about {speed_kmh:.0f} km/h.",
        "Tidak ada berhenti {stop_min_minutes:g} menit dalam {stop_radius_m:g} m di sekitar "
        "check-in: sales bergerak sekitar {speed_kmh:.0f} km/jam.",
    ),
    "not_checked_out": (
        "No check-out; the visit was closed at {closed_by}.",
        "Tanpa check-out; kunjungan ditutup pada {closed_by}.",
    ),
}

# number name -> its coded values -> (English, Bahasa Indonesia) wording.
VARIANTS: dict[str, dict[str, tuple[str, str]]] = {
    "closed_by": {
        "next_check_in": ("the next check-in", "check-in berikutnya"),
        "end_of_day": ("the end of the day", "akhir hari kerja"),
    },
}


# How much each flag lowers a visit's trust score (from 100, floored at 0): faked
# positions and impossible travel weigh most, sloppy but plausible behaviour least.
WEIGHTS = {
    "mock_location": 60,
    "impossible_speed": 50,
    "clustered_customers": 50,
    "too_far": 40,
    "drive_by": 35,
    "consecutive_near": 25,
    "rapid_visits": 25,
    "clock_skew": 20,
    "too_short": 15,
    "overlong": 10,
    "not_checked_out": 10,
}


def trust_score(codes: list[str]) -> int:
    return max(0, 100 - sum(WEIGHTS.get(code, 0) for code in codes))


@dataclass(frozen=True)
class Flag:
    code: str
    numbers: dict
    reason_en: str
    reason_id: str


def make_flag(code: str, **numbers) -> Flag:
    english, bahasa = REASONS[code]
    return Flag(
        code=code,
        numbers=numbers,
        reason_en=english.format(**_worded(numbers, 0)),
        reason_id=bahasa.format(**_worded(numbers, 1)),
    )


def _worded(numbers: dict, language: int) -> dict:
    """The numbers with each variant replaced by its wording in one language."""
    return {
        name: VARIANTS[name][value][language] if name in VARIANTS else value
        for name, value in numbers.items()
    }
