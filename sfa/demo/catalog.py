"""Demo catalog, as the ERP sync would bring it: products with the ERP's units (whole
units, kilograms with two decimals) and prices at the ERP's precision (four decimals),
and two customers new from the ERP that wait for an admin to give them a team.

With `make run`: an order of 2.5 "Sabun Mandi 85g" (sold in whole units) is refused with
422, 2.5 kg of "Gula Pasir" is taken; "Teh Celup 25s" costs 3100.1250;
`GET /v1/customers?unassigned=true` (admin) lists the two new customers.
"""

from decimal import Decimal

from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.customers.models import Customer

PPN = {"external_id": "demo-ppn", "name": "PPN 11%", "type": "percentage", "rate": "0.11"}
# (external id, code, name, unit, unit digits, unit rounding, list price)
PRODUCTS = [
    ("demo-1", "SBN-85", "Sabun Mandi 85g", "u", 0, "1", "4500"),
    ("demo-2", "GLA-KG", "Gula Pasir", "kg", 2, "0.01", "15500"),
    ("demo-3", "TEH-25", "Teh Celup 25s", "u", 0, "1", "3100.1250"),
    ("demo-4", "MYK-1L", "Minyak Goreng 1L", "u", 0, "1", "18500"),
    ("demo-5", "BRS-KG", "Beras Premium", "kg", 2, "0.01", "13250.5000"),
]
NEW_FROM_ERP = [
    ("ERP-9001", "9001", "Toko Baru Cempaka"),
    ("ERP-9002", "9002", "Warung Baru Melati"),
]


def seed_catalog(session: Session, *, language: str) -> int:
    """Adds the demo products and new ERP customers; returns how many products."""
    for external_id, code, name, unit, digits, rounding, price in PRODUCTS:
        session.add(
            Product(
                external_id=external_id,
                code=code,
                name=name,
                unit=unit,
                unit_digits=digits,
                unit_rounding=Decimal(rounding),
                list_price=Decimal(price),
                currency="IDR",
                taxes=[PPN],
            )
        )
    for code, external_id, name in NEW_FROM_ERP:
        session.add(
            Customer(
                code=code,
                external_id=external_id,
                name=name,
                customer_class="toko",
                language=language,
                team_id=None,
            )
        )
    session.flush()
    return len(PRODUCTS)
