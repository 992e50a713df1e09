"""Every reason a user reads is in one language: each template, with every variant, in
English and in Bahasa Indonesia, has no word of the other language ("Tanpa check-out;
kunjungan ditutup pada the end of day" was one).

The words of each language are listed here; a new template must add its words to its own
language's list (and a reviewer sees them). The two lists share only the loanwords both
languages use in this product."""

import itertools
import re
from datetime import UTC, date, datetime, timedelta

from pyproj import Geod
from sqlalchemy import text

from factories import build_world, make_customer, make_rep_weeks, make_visit
from sfa.anomalies import service as anomaly_service
from sfa.company import service as company_service
from sfa.visits import indicators
from sfa.visits.flags import REASONS, VARIANTS, make_flag
from sfa.visits.repository import Scope


def vocabulary(listed: str) -> set[str]:
    return set(listed.split())


SHARED = {"check-in", "check-out", "mock", "GPS", "m", "km", "x"}
ENGLISH = SHARED | vocabulary(
    """The device reported a mock fake GPS location Checked in from the customer allowed
    Device clock off by min limit No stop of within around check-in the rep was moving at
    about km/h No check-out the visit was closed at next end of day consecutive check-ins
    each less than previous one largest step within minutes One of customers whose
    locations fit in circle of likely registered from one spot Visit to lasted above
    standard below minimum faster than Short visits rose to over week above from none
    visits this outside previous weeks Visit rate planned below for in row of"""
)
BAHASA = SHARED | vocabulary(
    """Perangkat melaporkan lokasi palsu mock GPS Check-in dari pelanggan batas Jam
    perangkat selisih menit Tidak ada berhenti dalam di sekitar check-in sales bergerak
    sekitar km/jam Tanpa check-out kunjungan ditutup pada berikutnya akhir hari kerja
    berturut-turut masing-masing kurang dari sebelumnya langkah terbesar Salah satu
    yang lokasinya muat lingkaran kemungkinan didaftarkan tempat Kunjungan ke di atas
    standar bawah minimum sebelumnya lebih cepat singkat naik menjadi nol minggu ini luar
    Tingkat rencana selama"""
)
WORD = re.compile(r"[A-Za-z][A-Za-z/'-]*[A-Za-z]|[A-Za-z]")
GEOD = Geod(ellps="WGS84")
DAY = date(2026, 11, 17)
T0 = datetime(2026, 11, 17, 2, 0, tzinfo=UTC)


def words(text_: str) -> set[str]:
    return set(WORD.findall(text_))


def assert_one_language(english: str, bahasa: str) -> None:
    assert words(english) <= ENGLISH, (english, words(english) - ENGLISH)
    assert words(bahasa) <= BAHASA, (bahasa, words(bahasa) - BAHASA)


def test_the_two_word_lists_share_only_loanwords():
    # Without this, a word added to both lists would let it through in either language.
    # ("minimum" is spelt the same in both.)
    shared = ENGLISH & BAHASA
    assert shared == SHARED | {"minimum"}


def test_every_python_template_with_every_variant():
    samples = {
        "distance_m": 412.0,
        "radius_m": 300.0,
        "skew_minutes": 12.5,
        "limit_minutes": 10,
        "stop_min_minutes": 5,
        "stop_radius_m": 100,
        "speed_kmh": 31.0,
        "dwell_minutes": 45.0,
    }
    rendered = 0
    for code, (english, _) in REASONS.items():
        names = set(re.findall(r"{(\w+)", english))
        choices = [
            [(n, v) for v in VARIANTS[n]] if n in VARIANTS else [(n, samples[n])] for n in names
        ]
        for combination in itertools.product(*choices):
            flag = make_flag(code, **dict(combination))
            assert_one_language(flag.reason_en, flag.reason_id)
            rendered += 1
    assert rendered == len(REASONS) + sum(len(v) - 1 for v in VARIANTS.values())


def _east(point, metres):
    lon, lat, _ = GEOD.fwd(point[1], point[0], 90, metres)
    return lat, lon


def test_every_sql_reason_with_every_variant(db):
    world = build_world(db)
    settings = company_service.get_company_settings(db)
    base = (-6.2, 106.8)
    # A market street (consecutive_near, rapid_visits), a too short and an overlong visit,
    # a jump across town (impossible_speed), three customers registered from one spot.
    street = [make_customer(db, f"R{i}", world.team_a, *_east(base, 30 * i)) for i in range(4)]
    spot = [
        make_customer(db, f"C{i}", world.team_a, *_east((-6.3, 106.9), 0.5 * i)) for i in range(3)
    ]
    for i, shop in enumerate(street):
        make_visit(
            db,
            world.rep_a,
            shop,
            T0 + timedelta(minutes=5 * i),
            _east(base, 30 * i),
            2 if i == 0 else 70,
        )
    make_visit(db, world.rep_a, spot[0], T0 + timedelta(minutes=25), (-6.3, 106.9), 10)
    db.flush()
    indicators.recompute_flags(db, scope=Scope(DAY, DAY), settings=settings)
    # Weekly anomalies: a rise with and without short visits the week before, an outlier
    # week, and a low visit rate for three weeks.
    week = date(2026, 11, 16)
    make_rep_weeks(db, world.rep_a, [(40, 5, 0, 0), (40, 10, 0, 0)], week)
    make_rep_weeks(
        db,
        world.rep_a2,
        [(30, 0, 10, 9)] * 17 + [(30, 0, 10, 5)] * 2 + [(30, 0, 10, 1), (5, 12, 10, 2)],
        week,
    )
    db.flush()
    anomaly_service.compute_anomalies(
        db,
        week_from=week,
        week_to=week,
        rep_ids=None,
        settings=settings,
        today=week + timedelta(days=8),
    )
    found: dict[str, set[str]] = {}
    for table in ("visit_flags", "customer_flags", "weekly_anomalies"):
        for code, english, bahasa in db.execute(
            text(f"SELECT code, reason_en, reason_id FROM {table}")
        ):
            assert_one_language(english, bahasa)
            found.setdefault(code, set()).add(english)
    assert set(found) >= {
        "consecutive_near",
        "rapid_visits",
        "clustered_customers",
        "too_short",
        "overlong",
        "impossible_speed",
        "short_visits_spike",
        "visit_count_outlier",
        "low_visit_rate",
    }, found.keys()
    # Both variants of the spike's rise: a percentage, and from none.
    spikes = found["short_visits_spike"]
    assert any("from none" in r for r in spikes) and any("%)" in r for r in spikes), spikes
