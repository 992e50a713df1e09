"""Loads the modern-trade demo (sfa/demo/modern_trade.py): products with prices, unit
conversions and Coretax codes, the chains as customers with their tax identities, and
the chains' item codes as aliases for all but one chain (its first PO needs review)."""

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.catalog.models import Product
from sfa.customers.models import Customer
from sfa.demo import po_documents
from sfa.demo.modern_trade import CHAINS, PRODUCTS, product
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


# The demo's e-mailed purchase orders: a chain whose item codes we know (its draft is
# ready to confirm) and PT Citra Grocer, whose English descriptions match nothing until a
# person has corrected its first PO (its draft needs review).
DEMO_POS = (
    ("MT-SUPERINDO", "PO2611-0042", False, (("100234", 20, "CTN"), ("220871", 48, "PCS"))),
    ("MT-CITRA", "CG-2611-0007", True, (("CG-3001", 24, "PCS"), ("CG-3021", 5, "CTN"))),
)


def _demo_po(code: str, number: str, english: bool, wanted, day: date) -> bytes:
    chain = next(c for c in CHAINS if c.code == code)
    items = {buyer_code: (sku, text) for sku, buyer_code, text in chain.items}
    lines = []
    for buyer_code, quantity, unit in wanted:
        sku, text = items[buyer_code]
        p = product(sku)
        factor = dict(p.packs).get(unit, 1)
        lines.append(po_documents.PoLine(buyer_code, text, quantity, unit, p.price * factor))
    return po_documents.purchase_order(
        buyer=chain.name,
        npwp=chain.npwp,
        address=chain.address,
        number=number,
        day=day,
        deliver_to=chain.branches[0],
        lines=lines,
        english=english,
    )


def seed_trade_intakes(session: Session, *, day: date) -> list[int]:
    """The demo POs as e-mailed intakes waiting for the reading job (ids)."""
    from sfa.purchase_orders import service as po_service

    ids = []
    for code, number, english, wanted in DEMO_POS:
        chain = next(c for c in CHAINS if c.code == code)
        intake, _ = po_service.receive(
            session,
            principal=None,
            content=_demo_po(code, number, english, wanted, day),
            filename=f"{number}.pdf",
            content_type="application/pdf",
            source="email",
            sender=chain.email,
            max_bytes=1024 * 1024,
        )
        ids.append(intake.id)
    return ids


# The demo company's own NPWP (invented), so that the Coretax export works in the demo.
DEMO_SELLER_NPWP = "0123456789012345"


def seed_trade_demo(session: Session, *, day: date) -> list[int]:
    """Chains and catalogue in the first demo territory, the seller's NPWP, and the demo
    POs as e-mailed intakes (their ids; [] when the trade demo is already there)."""
    from sfa.company import service as company_service
    from sfa.demo.seed import TERRITORIES
    from sfa.users.models import Team

    team_id = session.scalar(select(Team.id).where(Team.name == next(iter(TERRITORIES))))
    if not seed_trade(session, team_id=team_id):
        return []
    if not company_service.get_company_settings(session).tax_seller_npwp:
        company_service.update_settings(
            session, actor="demo", changes={"tax_seller_npwp": DEMO_SELLER_NPWP}
        )
    return seed_trade_intakes(session, day=day)


def invoice_trade_demo(session: Session, *, day: date) -> list[int]:
    """After the reading job: the ready demo PO confirmed by the administrator into an
    order, and the invoices the ERP would send back — one for that order (exportable to
    Coretax) and one for a counter sale not linked to any order of ours (listed as not
    exportable, with its reason). Returns the invoice ids."""
    from sfa.auth import service as auth_service
    from sfa.erp.models import Invoice
    from sfa.orders.models import Order
    from sfa.purchase_orders import service as po_service
    from sfa.purchase_orders.models import IntakeState, PoIntake
    from sfa.users.models import Role, User

    admin = session.scalar(select(User).where(User.role == Role.admin).order_by(User.id))
    if admin is None:
        return []
    ready = session.scalars(
        select(PoIntake).where(PoIntake.source == "email", PoIntake.state == IntakeState.ready)
    ).all()
    invoices = []
    for intake in ready:
        confirmed = po_service.confirm(
            session, principal=auth_service.principal_for_user(session, admin), intake_id=intake.id
        )
        order_total = session.get_one(Order, confirmed.order_id).net_amount
        invoices.append(
            Invoice(
                external_id=f"demo-invoice-{confirmed.order_id}",
                number=f"INV/{day:%Y/%m}/{confirmed.order_id:04d}",
                order_id=confirmed.order_id,
                customer_id=confirmed.customer_id,
                state="posted",
                currency="IDR",
                invoice_date=day,
                total_amount=order_total,
                amount_to_pay=order_total,
            )
        )
    invoices.append(
        Invoice(
            external_id="demo-invoice-counter-sale",
            number=f"INV/{day:%Y/%m}/9001",
            state="posted",
            currency="IDR",
            invoice_date=day,
            total_amount=Decimal("185000"),
            amount_to_pay=Decimal("185000"),
        )
    )
    session.add_all(invoices)
    session.flush()
    return [i.id for i in invoices]
