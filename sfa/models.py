"""Imports every model module so that `Base.metadata` knows all tables (Alembic, tests)."""

from sfa import jobs as job_models
from sfa.anomalies import models as anomaly_models
from sfa.audit import models as audit_models
from sfa.auth import models as auth_models
from sfa.catalog import models as catalog_models
from sfa.company import models as company_models
from sfa.contracts import models as contract_models
from sfa.customers import models as customer_models
from sfa.erp import models as erp_models
from sfa.events import models as event_models
from sfa.exports import models as export_models
from sfa.notifications import models as notification_models
from sfa.offline import models as offline_models
from sfa.orders import models as order_models
from sfa.pipeline import models as pipeline_models
from sfa.plans import models as plan_models
from sfa.purchase_orders import models as purchase_order_models
from sfa.surveys import models as survey_models
from sfa.tax import models as tax_models
from sfa.tracking import models as tracking_models
from sfa.users import models as user_models
from sfa.visits import models as visit_models
from sfa.webhooks import models as webhook_models
from sfa.workflows import date_sources as workflow_date_sources
from sfa.workflows import models as workflow_models
from sfa.workflows import runtime_models as workflow_runtime_models

__all__ = [
    "anomaly_models",
    "audit_models",
    "auth_models",
    "catalog_models",
    "company_models",
    "contract_models",
    "customer_models",
    "erp_models",
    "event_models",
    "export_models",
    "job_models",
    "notification_models",
    "offline_models",
    "order_models",
    "pipeline_models",
    "plan_models",
    "purchase_order_models",
    "survey_models",
    "tax_models",
    "tracking_models",
    "user_models",
    "visit_models",
    "webhook_models",
    "workflow_date_sources",
    "workflow_models",
    "workflow_runtime_models",
]
