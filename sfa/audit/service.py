from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.audit.models import AuditEntry
from sfa.pagination import Page, paginate


def record(
    session: Session,
    *,
    actor: str,
    entity: str,
    entity_id: str | int,
    action: str,
    old: dict | None = None,
    new: dict | None = None,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor, entity=entity, entity_id=str(entity_id), action=action, old=old, new=new
    )
    session.add(entry)
    session.flush()
    return entry


def list_entries(
    session: Session, *, entity: str | None, entity_id: str | None, limit: int, offset: int
) -> Page[AuditEntry]:
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return paginate(session, stmt.order_by(AuditEntry.id.desc()), limit=limit, offset=offset)
