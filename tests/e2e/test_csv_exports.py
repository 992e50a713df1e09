"""`format=csv` is the whole result, never one page (issue: 50 of 300 customers), and an
export's memory does not grow with its rows."""

import asyncio
import csv
import io
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from api import csv_export
from api.schemas.customers import CustomerOut
from sfa import pagination
from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.customers import service as customer_service
from sfa.customers.models import Customer
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder
from sfa.visits import service as visit_service
from sfa.visits.service import CheckIn, Position


def rows_of(response) -> list[dict]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.DictReader(io.StringIO(response.text)))


def add_customers(db, team, count: int, prefix: str = "X") -> None:
    """`count` located customers of `team`, in one statement."""
    db.execute(
        insert(Customer),
        [
            {
                "code": f"{prefix}{i:05d}",
                "name": f"Toko {prefix}{i:05d}",
                "customer_class": "toko",
                "team_id": team.id,
            }
            for i in range(count)
        ],
    )
    db.execute(
        text(
            "UPDATE customers SET location = ST_SetSRID(ST_MakePoint(106.8 + id * 1e-5, -6.2),"
            " 4326)::geography, location_status = 'imported' WHERE code LIKE :p"
        ),
        {"p": f"{prefix}%"},
    )
    db.commit()


def test_300_customers_give_300_rows_not_a_page(client, world, db):
    add_customers(db, world.team_a, 300)
    headers = world.headers("manager_a")
    page = client.get("/v1/customers", headers=headers).json()
    assert len(page["items"]) == 50 and page["total"] == 301  # and the world's customer_a
    response = client.get("/v1/customers", params={"format": "csv", "limit": 10}, headers=headers)
    rows = rows_of(response)
    assert len(rows) == 301 == int(response.headers["x-row-count"])
    assert len({r["code"] for r in rows}) == 301
    assert {f"X{i:05d}" for i in range(300)} <= {r["code"] for r in rows}
    # Nested objects are dotted columns, the same ones for every row.
    assert rows[0]["location.lat"] and "location" not in rows[0]
    # Only team A's customers: the export has the same visibility as the page.
    assert not {r["code"] for r in rows} & {"B001", "BD01"}


def test_more_rows_than_one_batch_of_the_cursor(client, world, db, monkeypatch):
    """The server-side cursor is read in several batches and no row is lost between."""
    add_customers(db, world.team_b, 130)
    monkeypatch.setattr(pagination.each_batch, "__kwdefaults__", {"size": 50})
    rows = rows_of(
        client.get("/v1/customers", params={"format": "csv"}, headers=world.headers("admin"))
    )
    assert len(rows) == 130 + 3  # and the world's customers of both teams
    assert [int(r["id"]) for r in rows] == sorted(int(r["id"]) for r in rows)


def test_visits_export_every_visit_with_its_flags(client, world, db):
    rep = auth_service.principal_for_user(db, world.rep_a)
    start = datetime.now(UTC) - timedelta(days=3)  # recent: within any backdating bound
    for i in range(70):
        visit_service.check_in(
            db,
            principal=rep,
            data=CheckIn(
                client_id=uuid.uuid4(),
                customer_id=world.customer_a.id,
                # 1 km from the customer: too_far on every visit
                position=Position(at=start + timedelta(minutes=10 * i), lat=-6.209, lon=106.8),
            ),
        )
    db.commit()
    rows = rows_of(
        client.get("/v1/visits", params={"format": "csv"}, headers=world.headers("manager_a"))
    )
    assert len(rows) == 70
    assert all('"code":"too_far"' in r["flags"] for r in rows)


def test_orders_and_approvals_export_whole(client, world, db):
    product = Product(external_id="p1", code="P1", name="P", unit="pcs", list_price=Decimal(1000))
    db.add(product)
    db.flush()
    rep = auth_service.principal_for_user(db, world.rep_a)
    for _ in range(60):
        order_service.create_order(
            db,
            principal=rep,
            data=NewOrder(
                client_id=uuid.uuid4(),
                customer_id=world.customer_a.id,
                lines=(LineIn(product.id, Decimal(1), Decimal(10)),),  # 10 %: the manager
            ),
        )
    db.commit()
    headers = world.headers("manager_a")
    assert len(rows_of(client.get("/v1/orders?format=csv", headers=headers))) == 60
    approvals = rows_of(client.get("/v1/approvals?format=csv", headers=headers))
    assert len(approvals) == 60 and {r["order_state"] for r in approvals} == {"submitted"}


def test_products_and_customer_prices_export_the_whole_catalog(client, world, db):
    db.execute(
        insert(Product),
        [
            {
                "external_id": f"e{i}",
                "code": f"P{i:03d}",
                "name": f"Produk {i}",
                "unit": "pcs",
                "list_price": Decimal(100 + i),
            }
            for i in range(120)
        ],
    )
    db.commit()
    headers = world.headers("rep_a")
    assert len(rows_of(client.get("/v1/products?format=csv", headers=headers))) == 120
    prices = rows_of(
        client.get(
            f"/v1/customers/{world.customer_a.id}/prices?format=csv&limit=5", headers=headers
        )
    )
    assert len(prices) == 120
    assert {r["source"] for r in prices} == {"list"}


def test_audit_export_keeps_old_and_new_as_json(client, world):
    headers = world.headers("admin")
    for radius in (250, 260, 270):
        response = client.patch("/v1/settings", json={"verify_radius_m": radius}, headers=headers)
        assert response.status_code == 200, response.text
    rows = rows_of(
        client.get("/v1/audit", params={"format": "csv", "entity": "setting"}, headers=headers)
    )
    assert [(r["entity_id"], r["old"], r["new"]) for r in rows][:3] == [
        ("verify_radius_m", '{"value":260.0}', '{"value":270.0}'),
        ("verify_radius_m", '{"value":250.0}', '{"value":260.0}'),
        ("verify_radius_m", '{"value":300.0}', '{"value":250.0}'),
    ]


def _export_peak(db, principal) -> int:
    """Peak traced memory of one customers export: the rows read from the cursor, written
    and streamed (the chunks are counted, not kept)."""
    tracemalloc.start()
    try:
        stmt = customer_service.customers_query(db, principal=principal)
        response = csv_export.csv_export(
            CustomerOut, pagination.each_batch(db, stmt), "c.csv", CustomerOut.of
        )

        async def drain() -> int:
            return sum([len(chunk) async for chunk in response.body_iterator])

        assert asyncio.run(drain()) > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_memory_does_not_grow_with_rows(world, db, monkeypatch):
    """Ten times the rows, not ten times the memory: batches from a server-side cursor,
    rows written to a file (on disk here: no in-memory spool) and streamed from it."""
    monkeypatch.setattr(csv_export, "SPOOL_BYTES", 1)  # 0 would mean "never roll over"
    admin = auth_service.principal_for_user(db, world.admin)
    add_customers(db, world.team_a, 2000, prefix="S")
    _export_peak(db, admin)  # warm up: imports, caches, compiled statements
    small = _export_peak(db, admin)
    add_customers(db, world.team_a, 18000, prefix="L")
    large = _export_peak(db, admin)
    assert large < 1.5 * small, (small, large)
