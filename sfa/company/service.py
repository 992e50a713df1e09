from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.company.models import SettingValue
from sfa.company.schema import CompanySettings
from sfa.errors import InvalidInput


def get_settings(session: Session) -> CompanySettings:
    overrides = {row.key: row.value for row in session.scalars(select(SettingValue))}
    known = {k: v for k, v in overrides.items() if k in CompanySettings.model_fields}
    return CompanySettings.model_validate(known)


def update_settings(session: Session, *, actor: str, changes: dict) -> CompanySettings:
    """Apply a partial update, validate the whole result, audit each changed key."""
    current = get_settings(session)
    unknown = sorted(set(changes) - set(CompanySettings.model_fields))
    if unknown:
        raise InvalidInput(
            f"unknown setting(s): {', '.join(unknown)}",
            hint="GET /v1/settings lists every setting and its current value",
        )
    merged = current.model_dump(mode="json") | changes
    try:
        updated = CompanySettings.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(
            "invalid settings: "
            + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
        ) from exc
    old_values = current.model_dump(mode="json")
    new_values = updated.model_dump(mode="json")
    for key in changes:
        if old_values[key] == new_values[key]:
            continue
        row = session.get(SettingValue, key)
        if row is None:
            session.add(SettingValue(key=key, value=new_values[key], updated_by=actor))
        else:
            row.value = new_values[key]
            row.updated_by = actor
        audit_service.record(
            session,
            actor=actor,
            entity="setting",
            entity_id=key,
            action="update",
            old={"value": old_values[key]},
            new={"value": new_values[key]},
        )
    session.flush()
    return updated
