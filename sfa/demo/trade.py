"""Loads the modern-trade demo (sfa/demo/modern_trade.py): products with prices, unit
conversions and Coretax codes, the chains as customers with their tax identities, and
the chains' item codes as aliases for all but one chain (its first PO needs review)."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.demo.modern_trade import CHAINS, PRODUCTS
from sfa.purchase_orders.matching import alias_key
from sfa.purchase_orders.models import ProductAlias, UnitConversion
from sfa.tax.models import CustomerTaxIdentity, ProductTaxCode

# Its documents are English while our product names are Indonesian: nothing matches
# until a person has corrected one of its POs (the demo's intake needing review).
UNTAUGHT = "MT-CITRA"


def seed_trade(
    session: Session, *, team_id: int | None, with_aliases: bool = True
) -> dict[str, int]:
    """Returns {code: id} of what it created; does nothing when the chains exist."""
    if session.scalar(select(Customer.id).where(Customer.code == CHAINS[0].code)):
        return {}
    ids: dict[str, int] = {}
    for p in PRODUCTS:
        product = Product(
            external_id=f"demo-{p.sku}",
            code=p.sku,
            name=p.name,
            unit=p.unit,
            list_price=p.price,
            currency="IDR",
        )
        session.add(product)
        session.flush()
        ids[p.sku] = product.id
        session.add(
            ProductTaxCode(
                product_id=product.id, opt="A", goods_code=p.coretax_code, unit_code=p.coretax_unit
            )
        )
        for unit, factor in p.packs:
            session.add(UnitConversion(product_id=product.id, unit=unit, factor=factor))
    for chain in CHAINS:
        customer = Customer(
            code=chain.code,
            name=chain.name,
            address=chain.address,
            email=chain.email,
            customer_class="modern_trade",
            team_id=team_id,
        )
        session.add(customer)
        session.flush()
        ids[chain.code] = customer.id
        session.add(
            CustomerTaxIdentity(
                customer_id=customer.id,
                id_type="npwp",
                number=chain.npwp,
                tku=chain.tku,
                tax_name=chain.name,
                tax_address=chain.address,
                email=chain.email,
            )
        )
        if with_aliases and chain.code != UNTAUGHT:
            for sku, code, _ in chain.items:
                session.add(
                    ProductAlias(
                        customer_id=customer.id, key=alias_key(code, None), product_id=ids[sku]
                    )
                )
    session.flush()
    return ids
