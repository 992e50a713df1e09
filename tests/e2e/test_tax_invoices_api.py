"""The Coretax export over HTTP against the database: orders, ERP invoices and tax
identities in PostgreSQL give the hand-worked golden file (tests/data/coretax), and the
invoices that cannot be exported are listed with their reasons instead."""

import uuid
from datetime import date
from decimal import Decimal
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from paths import TEST_DATA
from sfa.auth import service as auth_service
from sfa.catalog.models import Product
from sfa.company import service as company_service
from sfa.erp.models import Invoice
from sfa.orders import service as order_service
from sfa.orders.service import LineIn, NewOrder

GOLDEN = TEST_DATA / "coretax" / "two_invoices.xml"
SELLER_NPWP = "0123456789012345"


@pytest.fixture
def trade(db, world):
    from sfa.demo.trade import seed_trade

    ids = seed_trade(db, team_id=world.team_a.id)
    company_service.update_settings(
        db, actor="test", changes={"tax_seller_npwp": SELLER_NPWP, "tax_seller_tku": "000000"}
    )
    db.flush()
    return ids


def _invoice(db, world, customer_id, number, day, lines, *, state="posted") -> Invoice:
    rep = auth_service.principal_for_user(db, world.rep_a)
    order, _ = order_service.create_order(
        db,
        principal=rep,
        data=NewOrder(client_id=uuid.uuid4(), customer_id=customer_id, lines=tuple(lines)),
    )
    invoice = Invoice(
        external_id=f"erp-{number}",
        number=number,
        order_id=order.id,
        customer_id=customer_id,
        state=state,
        currency="IDR",
        invoice_date=day,
        total_amount=order.net_amount,
        amount_to_pay=order.net_amount,
    )
    db.add(invoice)
    db.flush()
    return invoice


def test_the_export_from_the_database_is_the_golden_file(client, db, world, trade):
    admin = world.headers("admin")
    # The person who buys as a private individual: a NIK, set over the API.
    bad = client.put(
        f"/v1/customers/{world.customer_a.id}/tax-identity",
        json={"id_type": "nik", "number": "3171019906850002"},
        headers=admin,
    )
    assert bad.status_code == 422 and "no valid birth date" in bad.json()["error"]["message"]
    nik = client.put(
        f"/v1/customers/{world.customer_a.id}/tax-identity",
        json={
            "id_type": "nik",
            "number": "3171014506850002",
            "tax_name": "Siti Rahayu",
            "tax_address": "Jl. Kemang Raya 8, Jakarta Selatan",
        },
        headers=admin,
    )
    assert nik.status_code == 200, nik.text
    assert nik.json()["tku"] == "000000"

    _invoice(
        db,
        world,
        trade["MT-SUPERINDO"],
        "INV/2026/11/0001",
        date(2026, 11, 3),
        [
            LineIn(trade["MG-085"], Decimal(120)),
            LineIn(trade["KP-200"], Decimal(7), discount_pct=Decimal("2.5")),
        ],
    )
    _invoice(
        db,
        world,
        world.customer_a.id,
        "INV/2026/11/0002",
        date(2026, 11, 28),
        [LineIn(trade["GL-1KG"], Decimal(10))],
    )
    # Another month: not in November's file.
    _invoice(
        db,
        world,
        trade["MT-SUPERINDO"],
        "INV/2026/12/0001",
        date(2026, 12, 1),
        [LineIn(trade["MG-085"], Decimal(40))],
    )

    answer = client.get("/v1/tax-invoices/export?period=2026-11", headers=admin)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.headers["x-skipped-invoices"] == "0"
    assert 'filename="coretax-2026-11.xml"' in answer.headers["content-disposition"]
    assert answer.content == GOLDEN.read_bytes()


def test_invoices_that_cannot_be_exported_are_listed_with_reasons(client, db, world, trade):
    admin = world.headers("admin")
    good = _invoice(
        db,
        world,
        trade["MT-HARMONI"],
        "INV/2026/11/0101",
        date(2026, 11, 10),
        [LineIn(trade["TH-025"], Decimal(48))],
    )
    # No NPWP or NIK: Toko A001 has no tax identity.
    no_identity = _invoice(
        db,
        world,
        world.customer_a.id,
        "INV/2026/11/0102",
        date(2026, 11, 11),
        [LineIn(trade["AQ-600"], Decimal(24))],
    )
    # A product without its Coretax codes.
    uncoded = Product(
        external_id="erp-X1", code="X1", name="Payung Promo", unit="pcs", list_price=5000
    )
    db.add(uncoded)
    db.flush()
    no_code = _invoice(
        db,
        world,
        trade["MT-HARMONI"],
        "INV/2026/11/0103",
        date(2026, 11, 12),
        [LineIn(uncoded.id, Decimal(3))],
    )
    cancelled = _invoice(
        db,
        world,
        trade["MT-HARMONI"],
        "INV/2026/11/0104",
        date(2026, 11, 13),
        [LineIn(trade["TH-025"], Decimal(1))],
        state="cancelled",
    )
    db.add(
        Invoice(
            external_id="erp-no-order",
            number="INV/2026/11/0105",
            state="posted",
            currency="IDR",
            invoice_date=date(2026, 11, 14),
            total_amount=Decimal(1000),
            amount_to_pay=Decimal(1000),
        )
    )
    db.flush()
    orphan = db.scalar(select(Invoice.id).where(Invoice.number == "INV/2026/11/0105"))

    listed = client.get("/v1/tax-invoices?period=2026-11", headers=admin)
    assert listed.status_code == 200, listed.text
    by_id = {item["invoice_id"]: item for item in listed.json()["items"]}
    assert set(by_id) == {good.id, no_identity.id, no_code.id, cancelled.id, orphan}
    assert listed.json()["total"] == 5 and listed.json()["next_offset"] is None
    # A page at a time, in invoice-date order, nothing left out.
    pages = [
        client.get(f"/v1/tax-invoices?period=2026-11&limit=2&offset={o}", headers=admin).json()
        for o in (0, 2, 4)
    ]
    assert [p["next_offset"] for p in pages] == [2, 4, None]
    assert [i["invoice_id"] for p in pages for i in p["items"]] == [
        i["invoice_id"] for i in listed.json()["items"]
    ]
    assert by_id[good.id]["exportable"] and by_id[good.id]["reasons"] == []
    assert by_id[no_identity.id]["reasons"] == [
        f"customer {world.customer_a.id} has no NPWP or NIK (PUT its tax identity)"
    ]
    assert by_id[no_code.id]["reasons"] == [
        "product X1 (Payung Promo) has no Coretax goods and unit code"
    ]
    assert by_id[cancelled.id]["reasons"] == ["the invoice is cancelled"]
    assert by_id[orphan]["reasons"] == [
        "the invoice is not linked to an order of ours (no lines to declare)"
    ]

    export = client.get("/v1/tax-invoices/export?period=2026-11", headers=admin)
    assert export.status_code == 200 and export.headers["x-skipped-invoices"] == "4"
    refs = [e.text for e in ET.fromstring(export.content).iter("RefDesc")]
    assert refs == ["INV/2026/11/0101"]

    # Van sales: one invoice at once; one that cannot go says why, as a 422.
    one = client.get(f"/v1/tax-invoices/export?invoice_id={good.id}", headers=admin)
    assert one.status_code == 200
    assert [e.text for e in ET.fromstring(one.content).iter("RefDesc")] == ["INV/2026/11/0101"]
    refused = client.get(f"/v1/tax-invoices/export?invoice_id={no_identity.id}", headers=admin)
    assert refused.status_code == 422
    body = refused.json()["error"]
    assert body["details"]["skipped"] == [
        {"invoice_id": no_identity.id, "reasons": by_id[no_identity.id]["reasons"]}
    ]


def test_the_export_needs_a_month_with_invoices_and_the_admin(client, db, world):
    admin = world.headers("admin")
    bad_month = client.get("/v1/tax-invoices/export?period=2026-13", headers=admin)
    assert bad_month.status_code == 422 and "YYYY-MM" in bad_month.json()["error"]["message"]
    empty = client.get("/v1/tax-invoices/export?period=2026-10", headers=admin)
    assert empty.status_code == 422
    assert empty.json()["error"]["message"] == "no invoice can be exported for 2026-10"
    rep = client.get("/v1/tax-invoices?period=2026-11", headers=world.headers("rep_a"))
    assert rep.status_code == 403
    manager = client.get("/v1/tax-invoices?period=2026-11", headers=world.headers("manager_a"))
    assert manager.status_code == 403
