from fastapi import APIRouter, Body, Query

from api.csv_export import csv_export
from api.deps import PrincipalDep, SessionDep, exports_from_replica
from api.formats import CSV_RESPONSES, ListFormat
from api.schemas.auth import AuditOut
from api.schemas.common import PageOut, Text
from sfa.audit import service as audit_service
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.limits import INT64_MAX
from sfa.pagination import each_batch, paginate

router = APIRouter(prefix="/v1", tags=["settings"])


@router.get(
    "/settings",
    response_model=CompanySettings,
    summary="Company settings: timezone, currency, language and every threshold",
)
def read_settings(session: SessionDep, principal: PrincipalDep):
    principal.require("settings:read")
    return company_service.get_company_settings(session)


@router.patch(
    "/settings",
    response_model=CompanySettings,
    summary="Change settings (admin); every change is audited",
)
def update_settings(
    session: SessionDep,
    principal: PrincipalDep,
    changes: dict = Body(..., examples=[{"verify_radius_m": 250}]),
):
    principal.require("settings:write")
    return company_service.update_settings(session, actor=principal.actor, changes=changes)


@router.get(
    "/audit",
    response_model=PageOut[AuditOut],
    summary="Audit log (admin): who changed what, when, old → new",
    description="`format=csv`: every matching entry as a file (old/new as JSON).",
    responses=CSV_RESPONSES,
)
@exports_from_replica
def audit_log(
    session: SessionDep,
    principal: PrincipalDep,
    entity: Text | None = Query(None, examples=["setting"]),
    entity_id: Text | None = None,
    format: ListFormat = ListFormat.json,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0, le=INT64_MAX),
):
    principal.require_admin()
    stmt = audit_service.entries_query(entity=entity, entity_id=entity_id)
    if format is ListFormat.csv:
        return csv_export(
            AuditOut, each_batch(session, stmt), "audit.csv", convert=AuditOut.model_validate
        )
    return PageOut.of(paginate(session, stmt, limit=limit, offset=offset), AuditOut.model_validate)
