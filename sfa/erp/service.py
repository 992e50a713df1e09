"""What the ERP sent us, for the people who decide with it. (In sfa.erp, not
sfa.customers: the ERP domain reads customers, so customers must not import it back.)"""

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.customers import service as customer_service
from sfa.erp import repository
from sfa.erp.models import Invoice


def outstanding_invoices(
    session: Session, *, principal: Principal, customer_id: int
) -> list[Invoice]:
    """The visible customer's unpaid ERP invoices (what an approver weighs a discount by)."""
    customer_service.get_customer(session, principal=principal, customer_id=customer_id)
    return repository.outstanding_invoices(session, customer_id)
