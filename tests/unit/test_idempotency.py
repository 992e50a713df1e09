import uuid
from dataclasses import asdict
from datetime import UTC, datetime

from sfa import idempotency
from sfa.visits.service import CheckIn, Position


def _check_in(**changes) -> CheckIn:
    values = dict(
        client_id=uuid.UUID("0b5e5c8e-8a9f-4f43-9a55-0f3c3b1f2a10"),
        customer_id=7,
        position=Position(
            at=datetime(2026, 11, 23, 9, 30, tzinfo=UTC), lat=-6.2, lon=106.8, accuracy_m=12.0
        ),
        device_id="phone-1",
        sent_at=datetime(2026, 11, 23, 9, 31, tzinfo=UTC),
    )
    return CheckIn(**(values | changes))


def test_content_is_what_asdict_gives_so_stored_fingerprints_stay_valid():
    data = _check_in()
    assert idempotency.content_of(data) == asdict(data)
    assert idempotency.fingerprint(
        idempotency.content_of(data.position)
    ) == idempotency.fingerprint(asdict(data.position))


def test_excluded_fields_do_not_change_the_fingerprint_and_others_do():
    def fp(data):
        return idempotency.fingerprint(idempotency.content_of(data, exclude=frozenset({"sent_at"})))

    base = _check_in()
    assert "sent_at" not in idempotency.content_of(base, exclude=frozenset({"sent_at"}))
    assert fp(base) == fp(_check_in(sent_at=None))
    moved = Position(at=base.position.at, lat=-6.3, lon=106.8, accuracy_m=12.0)
    assert fp(base) != fp(_check_in(position=moved))
