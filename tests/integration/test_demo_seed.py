from decimal import Decimal

from sqlalchemy import func, select, text

from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.demo.seed import seed_demo
from sfa.users.models import Role, Team, User


def test_demo_data_is_plausible_and_loaded_once(db):
    steps = []
    result = seed_demo(db, progress=lambda step, done, total: steps.append((step, done, total)))
    assert result.created
    assert steps[-1] == ("customers", 1200, 1200)

    teams = db.scalars(select(Team)).all()
    assert len(teams) >= 3 and all(t.manager_id for t in teams)
    reps = db.scalar(select(func.count()).where(User.role == Role.rep))
    assert reps >= 20
    customers = db.scalar(select(func.count()).select_from(Customer))
    assert customers >= 1000
    secondary = db.scalar(select(func.count()).where(Customer.distributor_id.is_not(None)))
    assert secondary > 50
    # Every located customer lies in greater Jakarta.
    outside = db.execute(
        text(
            "SELECT count(*) FROM customers WHERE location IS NOT NULL AND NOT ST_Intersects("
            "ST_MakeEnvelope(106.6, -6.45, 107.05, -6.0, 4326), location::geometry)"
        )
    ).scalar()
    assert outside == 0
    classes = set(db.scalars(select(Customer.customer_class).distinct()))
    assert {"warung", "toko", "minimarket", "grosir", "distributor"} <= classes

    # The catalog as the ERP brings it: units with their decimals, 4-decimal prices, and
    # new customers waiting for a team.
    units = {p.unit: p.unit_digits for p in db.scalars(select(Product))}
    assert units == {"u": 0, "kg": 2}
    assert Decimal("3100.1250") in set(db.scalars(select(Product.list_price)))
    assert db.scalar(select(func.count()).where(Customer.team_id.is_(None))) == 2

    again = seed_demo(db)
    assert not again.created
    assert db.scalar(select(func.count()).select_from(Customer)) == customers
