"""The offline sync of the mobile app (docs/sync.md).

A first call (no cursor) sends the full set, section by section in key order, and ends
with a cursor on the change log at the watermark taken when it started. Later calls send
what the log holds after the cursor, read from the records' current state: a record the
rep still sees is sent whole, one they no longer see (deleted, moved to another team,
read, in the past) is a deletion. Targets with their progress and the app's settings are
small and always current: every page carries them whole.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from sfa.auth.principal import Principal
from sfa.company import service as company_service
from sfa.company.settings import CompanySettings
from sfa.errors import Forbidden
from sfa.notifications import targets as target_service
from sfa.offline import cursor as cursors
from sfa.offline import repository
from sfa.offline.cursor import CHANGES, FULL, Cursor
from sfa.offline.repository import SECTIONS, Key, Scope

DEFAULT_LIMIT = 500
MAX_LIMIT = 2000
# Changes are kept this long (the prune-sync-changes job); a cursor older than the
# retention less a day (no transaction runs that long) starts over with the full set.
RETENTION_DAYS = 30


@dataclass
class SyncPage:
    upserts: dict[str, list[Any]] = field(default_factory=lambda: {s.name: [] for s in SECTIONS})
    deleted: dict[str, list[Key]] = field(default_factory=lambda: {s.name: [] for s in SECTIONS})
    cursor: str = ""
    has_more: bool = False
    # True: the phone drops what it keeps and takes this full set instead.
    reset: bool = False
    targets: list[target_service.Progress] = field(default_factory=list)
    settings: CompanySettings | None = None


def sync(
    session: Session,
    *,
    principal: Principal,
    cursor: str | None,
    limit: int = DEFAULT_LIMIT,
    now: datetime | None = None,
) -> SyncPage:
    if not principal.is_rep or principal.user_id is None:
        raise Forbidden(
            "offline sync is for reps' phones",
            hint="log in as the rep whose phone this is",
        )
    now = now or datetime.now(UTC)
    settings = company_service.get_company_settings(session)
    scope = Scope(principal=principal, today=now.astimezone(settings.tz).date())
    teams = tuple(sorted(principal.team_ids or ()))
    given = cursors.decode(cursor) if cursor is not None else None
    if given is None or _stale(given, teams, now):
        page = _full(session, scope, _start(session, teams, now), limit)
        page.reset = True
    elif given.phase == FULL:
        page = _full(session, scope, given, limit)
    else:
        page = _changes(session, scope, given, limit)
    page.settings = settings
    page.targets = [
        target_service.progress(session, target=t, today=scope.today)
        for t in repository.current_targets(session, scope)
    ]
    return page


def _start(session: Session, teams: tuple[int, ...], now: datetime) -> Cursor:
    return Cursor(
        phase=FULL,
        xid=repository.watermark(session),
        position=0,
        section=0,
        after=(),
        teams=teams,
        issued=int(now.timestamp()),
    )


def _stale(given: Cursor, teams: tuple[int, ...], now: datetime) -> bool:
    """The phone's data cannot be brought up to date from this cursor: the rep changed
    teams (every customer changes at once, the log says nothing of it), the changes
    after it were pruned, or it names a section this server does not have."""
    oldest = now - timedelta(days=RETENTION_DAYS - 1)
    return (
        given.teams != teams
        or given.issued < oldest.timestamp()
        or given.section >= len(SECTIONS)
        or given.issued > now.timestamp() + 86_400
    )


def _full(session: Session, scope: Scope, at: Cursor, limit: int) -> SyncPage:
    """The next `limit` rows of the full set from `at`, section after section."""
    page = SyncPage()
    section, after, left = at.section, at.after, limit
    while section < len(SECTIONS):
        current = SECTIONS[section]
        rows = current.page(session, scope, after=after, limit=left)
        page.upserts[current.name].extend(rows)
        left -= len(rows)
        if left == 0:
            # Full: the next page starts after the last row (it may find none there).
            last = repository.key_of(current, rows[-1])
            page.cursor = at.moved(section=section, after=last).encode()
            page.has_more = True
            return page
        section, after = section + 1, ()
    # Done: the changes since the full set started follow (some are in it already; a
    # record sent twice is the same record).
    page.cursor = at.moved(phase=CHANGES, position=0, section=0, after=()).encode()
    return page


def _changes(session: Session, scope: Scope, at: Cursor, limit: int) -> SyncPage:
    below = repository.watermark(session)
    changes = repository.changes_after(
        session,
        xid=at.xid,
        position=at.position,
        below=below,
        team_ids=at.teams,
        user_id=scope.user_id,
        limit=limit + 1,
    )
    page = SyncPage(has_more=len(changes) > limit)
    changes = changes[:limit]
    keys: dict[str, dict[Key, None]] = {s.name: {} for s in SECTIONS}
    for change in changes:
        section = repository.BY_ENTITY.get(change.entity)
        if section is not None:
            keys[section.name][change.key] = None
    for section in SECTIONS:
        wanted = list(keys[section.name])
        found = section.lookup(session, scope, wanted)
        page.upserts[section.name] = [found[k] for k in wanted if k in found]
        page.deleted[section.name] = [k for k in wanted if k not in found]
    if page.has_more:
        last = changes[-1]
        page.cursor = at.moved(xid=last.xid, position=last.position).encode()
    elif below > at.xid:
        # Everything below the watermark is read: the next call starts there.
        page.cursor = at.moved(xid=below, position=0).encode()
    else:
        page.cursor = at.encode()
    return page


def prune(session: Session, now: datetime | None = None) -> int:
    """The prune-sync-changes job: changes older than the retention go."""
    now = now or datetime.now(UTC)
    return repository.prune(session, before=now - timedelta(days=RETENTION_DAYS))
