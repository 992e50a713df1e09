import csv
import io
from decimal import Decimal

import pytest

from sfa.catalog.models import CustomerPrice, Product


@pytest.fixture
def products(db, world):
    rows = {
        "rice": Product(
            external_id="erp-1",
            code="BRS5",
            name="Beras 5 kg",
            unit="sak",
            list_price=Decimal("75000"),
            currency="IDR",
        ),
        "oil": Product(
            external_id="erp-2",
            code="MNY1",
            name="Minyak 1 L",
            unit="btl",
            list_price=Decimal("18500"),
            currency="IDR",
        ),
        "old": Product(
            external_id="erp-3",
            code="OLD1",
            name="Beras lama",
            unit="sak",
            list_price=Decimal("50000"),
            currency="IDR",
            active=False,
        ),
    }
    db.add_all(rows.values())
    db.flush()
    db.add(
        CustomerPrice(
            customer_id=world.customer_a.id, product_id=rows["rice"].id, price=Decimal("72000")
        )
    )
    db.commit()
    return rows


def test_products_search_active_only_and_csv(client, world, products):
    headers = world.headers("rep_a")
    page = client.get("/v1/products", headers=headers).json()
    assert [i["code"] for i in page["items"]] == ["BRS5", "MNY1"]  # by name, active only
    assert page["total"] == 2 and page["next_offset"] is None
    assert page["items"][0]["list_price"] == "75000.00"
    found = client.get("/v1/products?q=beras&include_inactive=true", headers=headers).json()
    assert [i["code"] for i in found["items"]] == ["BRS5", "OLD1"]
    paged = client.get("/v1/products?limit=1", headers=headers).json()
    assert (len(paged["items"]), paged["next_offset"]) == (1, 1)
    response = client.get("/v1/products?format=csv", headers=headers)
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["code"], r["list_price"]) for r in rows] == [
        ("BRS5", "75000.00"),
        ("MNY1", "18500.00"),
    ]


def test_get_product(client, world, products):
    one = client.get(f"/v1/products/{products['old'].id}", headers=world.headers("manager_a"))
    assert one.status_code == 200 and one.json()["active"] is False
    missing = client.get("/v1/products/999999", headers=world.headers("rep_a"))
    assert missing.status_code == 404 and "GET /v1/products" in missing.json()["error"]["hint"]


def test_customer_price_wins_over_list_price(client, world, products):
    ids = f"{products['rice'].id},{products['oil'].id}"
    a = client.get(
        f"/v1/customers/{world.customer_a.id}/prices?product_ids={ids}",
        headers=world.headers("rep_a"),
    )
    assert a.status_code == 200, a.text
    assert [(i["code"], i["price"], i["source"], i["currency"]) for i in a.json()["items"]] == [
        ("BRS5", "72000.00", "customer", "IDR"),
        ("MNY1", "18500.00", "list", "IDR"),
    ]
    # Customer B has no own price: list prices; the whole active catalog without product_ids.
    b = client.get(
        f"/v1/customers/{world.customer_b.id}/prices", headers=world.headers("admin")
    ).json()
    assert [(i["code"], i["price"], i["source"]) for i in b["items"]] == [
        ("BRS5", "75000.00", "list"),
        ("MNY1", "18500.00", "list"),
    ]


def test_prices_respect_customer_visibility_and_bad_ids(client, world, products):
    foreign = client.get(
        f"/v1/customers/{world.customer_b.id}/prices", headers=world.headers("rep_a")
    )
    assert foreign.status_code == 404
    bad = client.get(
        f"/v1/customers/{world.customer_a.id}/prices?product_ids=1,x",
        headers=world.headers("rep_a"),
    )
    assert bad.status_code == 422 and "product_ids" in bad.json()["error"]["message"]
    unknown = client.get(
        f"/v1/customers/{world.customer_a.id}/prices?product_ids=999999",
        headers=world.headers("rep_a"),
    )
    assert unknown.status_code == 404 and unknown.json()["error"]["details"] == {
        "product_ids": [999999]
    }


def test_catalog_needs_authentication(client, products):
    assert client.get("/v1/products").status_code == 401
