"""The offline sync's change log: what the triggers write, and the retention job."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update

from factories import make_customer
from sfa.customers.models import Customer
from sfa.offline import service as offline_service
from sfa.offline.models import SyncChange


def _changes(db, entity: str, entity_id: int) -> list[SyncChange]:
    stmt = select(SyncChange).where(SyncChange.entity == entity, SyncChange.entity_id == entity_id)
    return list(db.scalars(stmt.order_by(SyncChange.position)))


def test_a_customer_is_logged_for_the_teams_it_left_and_joined(db, world):
    customer = make_customer(db, "SC01", world.team_a, -6.2, 106.8)
    assert [c.team_ids for c in _changes(db, "customer", customer.id)] == [[world.team_a.id]]
    db.execute(update(Customer).where(Customer.id == customer.id).values(team_id=world.team_b.id))
    logged = _changes(db, "customer", customer.id)[-1]
    assert sorted(logged.team_ids or []) == sorted([world.team_a.id, world.team_b.id])


def test_an_update_that_changes_nothing_logs_nothing(db, world):
    customer = make_customer(db, "SC02", world.team_a, -6.2, 106.8)
    before = len(_changes(db, "customer", customer.id))
    db.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(name=customer.name, updated_at=func.now() + timedelta(seconds=1))
    )
    assert len(_changes(db, "customer", customer.id)) == before


def test_prune_drops_changes_past_the_retention(db, world):
    customer = make_customer(db, "SC03", world.team_a, -6.2, 106.8)
    old = datetime.now(UTC) - timedelta(days=offline_service.RETENTION_DAYS + 1)
    db.execute(update(SyncChange).where(SyncChange.entity_id == customer.id).values(changed_at=old))
    assert offline_service.prune(db) >= 1
    assert _changes(db, "customer", customer.id) == []
