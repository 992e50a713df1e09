"""The modern-trade demo (sfa/demo/trade.py, loaded by `sfa seed-demo`): chains with
their tax identities, two e-mailed POs read by the real reader — one ready and confirmed
into an order, one waiting for review — and invoices for the Coretax export."""

from datetime import date
from xml.etree import ElementTree as ET

from sqlalchemy import select

from factories import make_user
from integrations.pdf.reader import PdfReader
from sfa.auth import service as auth_service
from sfa.demo.trade import DEMO_SELLER_NPWP, invoice_trade_demo, seed_trade_demo
from sfa.purchase_orders import jobs
from sfa.purchase_orders.models import PoIntake
from sfa.tax import service as tax_service
from sfa.users.models import Role, Team

DAY = date(2026, 11, 20)


def test_the_trade_demo_shows_intake_review_and_the_tax_export(db, world, make_session):
    team = Team(name="Jakarta Pusat", manager_id=world.manager_a.id)
    db.add(team)
    db.flush()
    rep = make_user(db, "rep01", Role.rep, team)

    intakes = seed_trade_demo(db, day=DAY)
    assert len(intakes) == 2
    assert seed_trade_demo(db, day=DAY) == []  # loaded once
    counts = jobs.run(make_session, reader=PdfReader())
    assert counts["processed"] == 2 and counts.get("errors", 0) == 0

    states = {i.filename: i.state for i in db.scalars(select(PoIntake)).all()}
    assert states == {"PO2611-0042.pdf": "ready", "CG-2611-0007.pdf": "needs_review"}

    invoices = invoice_trade_demo(db, day=DAY)
    assert len(invoices) == 2
    confirmed = db.scalar(select(PoIntake).where(PoIntake.filename == "PO2611-0042.pdf"))
    assert confirmed.state == "confirmed" and confirmed.rep_id == rep.id

    admin = auth_service.principal_for_user(db, world.admin)
    found = tax_service.candidates(db, principal=admin, period="2026-11")
    assert sorted((c.tax_invoice is not None, c.reasons) for c in found) == [
        (False, ["the invoice is not linked to an order of ours (no lines to declare)"]),
        (True, []),
    ]
    xml, skipped = tax_service.export(db, principal=admin, period="2026-11")
    root = ET.fromstring(xml)
    assert root.findtext("TIN") == DEMO_SELLER_NPWP
    assert [e.text for e in root.iter("BuyerName")] == ["PT Lumbung Pangan Sejahtera"]
    assert len(skipped) == 1
