"""End to end: a PDF uploaded, read by the job, corrected, confirmed into an order; and
what the corrections teach for the customer's next document (aliases, unit conversions,
layout hints). Real PostGIS, the real sandboxed reader, the HTTP API."""

from decimal import Decimal

from po_corpus import generate
from sqlalchemy import select

from sfa.audit.models import AuditEntry
from sfa.orders.models import ErpOutbox, Order, OrderLine, OrderState
from sfa.purchase_orders import jobs
from sfa.purchase_orders.models import UnitConversion

INTAKE = "/v1/purchase-orders/intake"


def upload(client, headers, pdf: bytes, name="po.pdf") -> dict:
    answer = client.post(INTAKE, files={"file": (name, pdf)}, headers=headers)
    assert answer.status_code == 202, answer.text
    assert answer.json()["state"] == "received"
    return answer.json()


def read_all(make_session, reader) -> dict:
    counts = jobs.run(make_session, reader=reader)
    assert counts.get("errors", 0) == 0, counts
    return counts


def intake(client, headers, intake_id: int) -> dict:
    answer = client.get(f"/v1/purchase-orders/intakes/{intake_id}", headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def patch(client, headers, intake_id: int, body: dict) -> dict:
    answer = client.patch(f"/v1/purchase-orders/intakes/{intake_id}", json=body, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()


def teach_products(client, headers, found: dict, truth: dict, trade: dict) -> dict:
    """The person's correction: each line's product, as the true fields say."""
    lines = [
        {"index": i, "product_id": trade[want["our_sku"]]} for i, want in enumerate(truth["lines"])
    ]
    assert len(found["draft"]["lines"]) == len(truth["lines"])
    return patch(client, headers, found["id"], {"lines": lines})


def test_upload_read_correct_confirm_is_an_order(
    client, world, db, make_session, corpus, reader, trade
):
    headers = world.headers("manager_a")
    pdf, truth = corpus["minimal-en-text-001"]  # PT Citra Grocer: no aliases taught yet
    uploaded = upload(client, headers, pdf)
    assert read_all(make_session, reader)["processed"] == 1

    found = intake(client, headers, uploaded["id"])
    assert found["state"] == "needs_review" and found["page_kinds"] == ["text"]
    draft = found["draft"]
    assert draft["customer"] == {
        "id": trade["MT-CITRA"],
        "score": 1.0,
        "by": "npwp",
        "candidates": [],
    }
    assert draft["header"]["po_number"]["value"] == truth["po_number"]
    assert draft["header"]["po_number"]["region"][0] == 0  # page 1, with its box
    # English descriptions, Indonesian product names: every line waits for a person.
    where = {issue["where"] for issue in found["issues"]}
    assert {f"lines[{i}].product_id" for i in range(len(truth["lines"]))} <= where
    # Another team's manager does not see it.
    hidden = client.get(
        f"/v1/purchase-orders/intakes/{found['id']}", headers=world.headers("manager_b")
    )
    assert hidden.status_code == 404

    corrected = teach_products(client, headers, found, truth, trade)
    assert corrected["state"] == "ready", corrected["issues"]
    assert corrected["rep_id"] == world.rep_a.id  # the customer's team's first rep

    confirmed = client.post(f"/v1/purchase-orders/intakes/{found['id']}/confirm", headers=headers)
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["state"] == "confirmed"
    order = db.get(Order, confirmed.json()["order_id"])
    assert (order.customer_id, order.rep_id) == (trade["MT-CITRA"], world.rep_a.id)
    assert truth["po_number"] in order.note
    # The normal order flow: no discount, so approved at once and queued for the ERP.
    assert order.state == OrderState.approved
    assert db.scalar(select(ErpOutbox.state).where(ErpOutbox.order_id == order.id)) == "pending"
    lines = db.scalars(select(OrderLine).where(OrderLine.order_id == order.id)).all()
    assert sorted((ln.product_id, ln.quantity) for ln in lines) == sorted(
        (trade[want["our_sku"]], Decimal(want["our_quantity"])) for want in truth["lines"]
    )
    audit = db.scalars(
        select(AuditEntry).where(
            AuditEntry.entity == "order", AuditEntry.entity_id == str(order.id)
        )
    ).all()
    assert [a.actor for a in audit if a.action == "create"] == [f"user:{world.manager_a.id}"]

    again = client.post(f"/v1/purchase-orders/intakes/{found['id']}/confirm", headers=headers)
    assert again.status_code == 200 and again.json()["order_id"] == order.id
    assert db.scalar(select(Order.id).where(Order.customer_id == trade["MT-CITRA"])) == order.id


def test_corrected_products_and_units_are_learned(
    client, world, db, make_session, corpus, reader, trade
):
    headers = world.headers("admin")
    pdf, truth = corpus["minimal-en-text-001"]
    first = upload(client, headers, pdf)
    read_all(make_session, reader)
    found = intake(client, headers, first["id"])
    teach_products(client, headers, found, truth, trade)
    # A unit we had no conversion for: the person says how many of ours it holds.
    unit_fix = patch(
        client, headers, first["id"], {"lines": [{"index": 0, "unit": "PAK", "unit_factor": 6}]}
    )
    assert unit_fix["draft"]["lines"][0]["our_quantity"] == str(
        Decimal(truth["lines"][0]["quantity"]) * 6
    )
    product = trade[truth["lines"][0]["our_sku"]]
    saved = db.scalar(
        select(UnitConversion.factor).where(
            UnitConversion.product_id == product, UnitConversion.unit == "PAK"
        )
    )
    assert saved == Decimal(6)

    # The chain's next PO: the items corrected once are now matched by their item code.
    spec = next(s for s in generate.specs(60) if s.id == "minimal-en-text-002")
    nxt = generate.build(spec)
    second = upload(client, headers, generate.render(nxt), "next.pdf")
    read_all(make_session, reader)
    draft = intake(client, headers, second["id"])["draft"]
    taught = {ln["buyer_code"] for ln in truth["lines"]}
    checked = 0
    for line, want in zip(draft["lines"], nxt["lines"], strict=True):
        if want["buyer_code"] in taught:
            assert line["matched_by"] == "alias"
            assert line["product_id"] == trade[want["our_sku"]]
            checked += 1
    assert checked > 0


def _po_with_unknown_label(number: str) -> bytes:
    """A PO of PT Harmoni Ritel whose number stands under a label no list has."""
    from io import BytesIO

    from reportlab.pdfgen.canvas import Canvas

    out = BytesIO()
    canvas = Canvas(out, invariant=1)
    canvas.setFont("Helvetica", 10)
    rows = [
        (60, 800, "PT Harmoni Ritel Nusantara"),
        (60, 786, "NPWP 0319876543210987"),
        (60, 760, f"Ref Pembelian: {number}"),
        (60, 746, "Tanggal: 03/11/2026"),
    ]
    for x, y, text in rows:
        canvas.drawString(x, y, text)
    for x, text in (
        (60, "Kode"),
        (130, "Nama Barang"),
        (330, "Qty"),
        (400, "Harga"),
        (480, "Jumlah"),
    ):
        canvas.drawString(x, 710, text)
    canvas.drawString(60, 694, "HR-0101")
    canvas.drawString(130, 694, "Mie Goreng Spesial 85 gr")
    for x, text in ((330, "120"), (400, "3.100"), (480, "372.000")):
        canvas.drawString(x, 694, text)
    canvas.showPage()
    canvas.save()
    return out.getvalue()


def test_a_corrected_header_value_teaches_the_customers_label(
    client, world, make_session, reader, trade
):
    headers = world.headers("admin")
    first = upload(client, headers, _po_with_unknown_label("HR-PO-5561"), "a.pdf")
    read_all(make_session, reader)
    found = intake(client, headers, first["id"])
    assert found["draft"]["customer"]["id"] == trade["MT-HARMONI"]
    assert found["draft"]["header"]["po_number"]["value"] is None
    assert {"where": "header.po_number", "reason": "not found on the document"} in found["issues"]

    patch(client, headers, first["id"], {"header": {"po_number": "HR-PO-5561"}})
    second = upload(client, headers, _po_with_unknown_label("HR-PO-5562"), "b.pdf")
    read_all(make_session, reader)
    learned = intake(client, headers, second["id"])["draft"]["header"]["po_number"]
    assert learned["value"] == "HR-PO-5562"


def _as_photo(pdf: bytes) -> bytes:
    """The first page of a scanned PO as the JPEG a phone would send (200 dpi)."""
    from io import BytesIO

    import pypdfium2 as pdfium

    document = pdfium.PdfDocument(pdf)
    try:
        image = document[0].render(scale=200 / 72, grayscale=True).to_pil().convert("L")
    finally:
        document.close()
    out = BytesIO()
    image.save(out, "JPEG", quality=70, dpi=(200, 200))
    return out.getvalue()


def test_a_photographed_po_uploaded_as_an_image_is_read_by_ocr(
    client, world, make_session, corpus, reader, trade
):
    headers = world.headers("admin")
    pdf, truth = corpus["minimal-en-scan-001"]
    answer = client.post(
        INTAKE, files={"file": ("photo.jpg", _as_photo(pdf), "image/jpeg")}, headers=headers
    )
    assert answer.status_code == 202, answer.text
    read_all(make_session, reader)
    found = intake(client, headers, answer.json()["id"])
    assert found["page_kinds"] == ["ocr"]
    assert found["draft"]["customer"]["id"] == trade["MT-CITRA"]
    assert found["draft"]["header"]["po_number"]["value"] == truth["po_number"]
    assert [ln["quantity"]["value"] for ln in found["draft"]["lines"]] == [
        str(want["quantity"]) for want in truth["lines"]
    ]
