from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from sfa.audit.models import AuditEntry


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


def entries_query(*, entity: str | None, entity_id: str | None) -> Select:
    """Audit entries, newest first (for `paginate` or an export); admins only, checked
    by the caller."""
    stmt = select(AuditEntry)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    return stmt.order_by(AuditEntry.id.desc())
