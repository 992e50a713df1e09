"""The buyer of a PO among thousands of customers: a trigram prefilter in PostgreSQL
(pg_trgm, ix_customers_name_trgm) gives rapidfuzz a bounded set to rank."""

from sqlalchemy import insert, text

from sfa.customers.models import Customer
from sfa.purchase_orders import repository
from sfa.purchase_orders.matching import match_buyer

SHOPS = ("Sumber Rejeki", "Berkah Jaya", "Makmur", "Sentosa", "Harapan", "Sinar Terang")


def _many_customers(db, team_id, n=3000):
    db.execute(
        insert(Customer),
        [
            {
                "code": f"BULK{i:05d}",
                "name": f"Toko {SHOPS[i % len(SHOPS)]} {i}",
                "address": f"Jl. Pasar {i}",
                "customer_class": "toko",
                "team_id": team_id,
            }
            for i in range(n)
        ],
    )
    db.flush()


def test_the_buyer_is_found_among_thousands_by_a_misread_name(db, world, trade):
    _many_customers(db, world.team_a.id)
    match = match_buyer(
        db,
        name="PT Harmoni Ritel Nusaniara",  # OCR: "i" for "t"
        npwp=None,
        address="DC Sunter, Jl. Danau Sunter Utara Blok B, Jakarta Utara",
        header_text="",
    )
    assert (match.customer_id, match.by) == (trade["MT-HARMONI"], "name")
    assert match.score >= 0.9
    # Without a name, the header's lines are tried.
    header = "SURAT PESANAN PEMBELIAN\nPT Harmoni Ritel Nusantara\nJl. Pluit Raya No. 5"
    by_header = match_buyer(db, name=None, npwp=None, address=None, header_text=header)
    assert by_header.customer_id == trade["MT-HARMONI"]
    by_npwp = match_buyer(
        db, name="whatever", npwp="0319876543210987", address=None, header_text=""
    )
    assert (by_npwp.customer_id, by_npwp.score, by_npwp.by) == (trade["MT-HARMONI"], 1.0, "npwp")


def test_nothing_alike_is_no_match_and_near_twins_wait_for_a_person(db, world, trade):
    _many_customers(db, world.team_a.id)
    none = match_buyer(
        db, name="Koperasi Karyawan Angkasa Pura", npwp=None, address=None, header_text=""
    )
    assert none.customer_id is None or none.score < 0.9
    # "Toko Makmur 2" .. "Toko Makmur 2998": the best is not clearly ahead of the others.
    twins = match_buyer(db, name="Toko Makmur", npwp=None, address=None, header_text="")
    assert twins.score <= 0.8
    assert len(twins.candidates) == 3


def test_the_candidates_are_bounded_and_come_from_the_trigram_index(db, world, trade):
    _many_customers(db, world.team_a.id)
    found = repository.buyer_candidates(db, ["toko makmur"], limit=25)
    assert 0 < len(found) <= 25
    assert all("makmur" in name.lower() for name, _ in found.values())
    db.execute(text("SET LOCAL enable_seqscan = off"))
    plan = db.execute(
        text("EXPLAIN SELECT id FROM customers WHERE lower(name) % :q"), {"q": "toko makmur"}
    ).scalars()
    assert "ix_customers_name_trgm" in "\n".join(plan)
