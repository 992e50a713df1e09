"""Line matching: an item code is trusted unless the line's description names another
product just as surely (one misread digit makes another product's code)."""

from decimal import Decimal

from sfa.purchase_orders.matching import Catalog, alias_key, match_line

MIE_GORENG, MIE_KUAH = 1, 2
CATALOG = Catalog(
    products={
        MIE_GORENG: ("MG-085", "Mie Goreng Spesial 85 g", "pcs"),
        MIE_KUAH: ("MK-075", "Mie Kuah Ayam Bawang 75 g", "pcs"),
    },
    aliases={alias_key("100234", None): MIE_GORENG, alias_key("100235", None): MIE_KUAH},
    conversions={(MIE_GORENG, "CTN"): Decimal(40)},
)


def test_a_code_and_a_description_that_agree_match_surely():
    m = match_line(
        CATALOG, code="100234", description="MIE GORENG SPESIAL 85GR", quantity="2", unit="CTN"
    )
    assert (m.product_id, m.score, m.by, m.our_quantity) == (MIE_GORENG, 1.0, "alias", 80)


def test_a_code_that_names_another_product_than_its_description_waits_for_review():
    m = match_line(
        CATALOG, code="100235", description="MIE GORENG SPESIAL 85GR", quantity="24", unit="PCS"
    )
    assert m.product_id == MIE_KUAH and m.score < 0.9
    assert "description reads like product 1" in m.notes[0]


def test_an_english_description_does_not_overrule_a_known_code():
    m = match_line(
        CATALOG, code="100235", description="Chicken Onion Noodle Soup 75g", quantity="1", unit=None
    )
    assert (m.product_id, m.score) == (MIE_KUAH, 1.0)
