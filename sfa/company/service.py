import time
import weakref

from pydantic import ValidationError
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from sfa.audit import service as audit_service
from sfa.company.models import SettingValue
from sfa.company.settings import CompanySettings
from sfa.errors import InvalidInput

# Settings are read by nearly every request and change rarely: each process keeps the
# last committed value for a few seconds. Another process (API worker, job) may therefore
# see a change up to CACHE_SECONDS late; the process that makes it sees it at once.
# One entry per database (engine): each company of a deployment has its own settings
# (docs/tenancy.md); a company's entry goes with its engine.
CACHE_SECONDS = 5.0
# engine -> (expires at (monotonic), settings).
_cache: "weakref.WeakKeyDictionary[Engine, tuple[float, CompanySettings]]" = (
    weakref.WeakKeyDictionary()
)
# Set in session.info by update_settings: that session reads its own, maybe uncommitted,
# changes from the database and never fills the cache.
_CHANGED = "company_settings_changed"


def clear_cache() -> None:
    _cache.clear()


def _cacheable_engine(session: Session) -> Engine | None:
    """The engine whose committed settings this session reads, or None when its reads
    must not be cached: its own changes are pending, or it runs inside a transaction
    someone else controls (bound to a Connection, e.g. a test rolled back afterwards),
    whose uncommitted settings must not reach other sessions."""
    if session.info.get(_CHANGED):
        return None
    bind = session.bind
    return bind if isinstance(bind, Engine) else None


def _read_settings(session: Session) -> CompanySettings:
    overrides = {row.key: row.value for row in session.scalars(select(SettingValue))}
    known = {k: v for k, v in overrides.items() if k in CompanySettings.model_fields}
    return CompanySettings.model_validate(known)


def get_company_settings(session: Session) -> CompanySettings:
    engine = _cacheable_engine(session)
    if engine is None:
        return _read_settings(session)
    cached, now = _cache.get(engine), time.monotonic()
    if cached is not None and now < cached[0]:
        return cached[1].model_copy()  # a copy: callers may not change the shared one
    settings = _read_settings(session)
    _cache[engine] = (now + CACHE_SECONDS, settings)
    return settings.model_copy()


def _changed(session: Session) -> None:
    """This session changes the settings: it stops using the cache, and the cache is
    emptied now and again once the change is committed (a request reading meanwhile may
    have filled it with the old value)."""
    clear_cache()
    if not session.info.get(_CHANGED):
        session.info[_CHANGED] = True
        event.listen(session, "after_commit", lambda _session: clear_cache())


def update_settings(session: Session, *, actor: str, changes: dict) -> CompanySettings:
    """Apply a partial update, validate the whole result, audit each changed key."""
    current = get_company_settings(session)
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
        _changed(session)
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
